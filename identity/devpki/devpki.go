// Package devpki makes certificate authorities and client certificates for tests and the demo:
// SM2, ECDSA P-256 and RSA, as the CAs a province accepts issue. Never for production: a real
// deployment takes its CA roots from the CAs themselves.
package devpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// Algorithm is a key type.
type Algorithm string

// The key types certificates are issued with.
const (
	SM2   Algorithm = "sm2"
	ECDSA Algorithm = "ecdsa-p256"
	RSA   Algorithm = "rsa-2048"
)

// NewKey generates a private key of the given algorithm.
func NewKey(alg Algorithm) (crypto.Signer, error) {
	switch alg {
	case SM2:
		return sm2.GenerateKey(rand.Reader)
	case ECDSA:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSA:
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return nil, fmt.Errorf("devpki: unknown algorithm %q", alg)
}

// CA is a certificate authority that can issue certificates.
type CA struct {
	Cert *smx509.Certificate
	Key  crypto.Signer
}

// NewCA makes a self-signed root valid from notBefore for ten years.
func NewCA(alg Algorithm, name string, notBefore time.Time) (*CA, error) {
	key, err := NewKey(alg)
	if err != nil {
		return nil, err
	}
	tmpl := &smx509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkixName(name, "Kaiping Dev CA"),
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(10, 0, 0),
		KeyUsage:              smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("devpki: create CA: %w", err)
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Issued is a client certificate and its key.
type Issued struct {
	Cert *smx509.Certificate
	Key  crypto.Signer
}

// Issue makes a client certificate for name (the subject CN) with a fresh key of alg, valid
// from notBefore to notAfter.
func (ca *CA) Issue(alg Algorithm, name, org string, notBefore, notAfter time.Time) (*Issued, error) {
	key, err := NewKey(alg)
	if err != nil {
		return nil, err
	}
	cert, err := ca.IssueFor(key.Public(), name, org, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	return &Issued{Cert: cert, Key: key}, nil
}

// SignCSR issues a client certificate for a PEM certificate signing request, after checking
// the request's self-signature: what a CA does for a bidder whose key never leaves their
// machine or token (kaiping bid csr).
func (ca *CA) SignCSR(csrPEM []byte, notBefore, notAfter time.Time) (*smx509.Certificate, error) {
	block, _ := pem.Decode(csrPEM)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("devpki: not a PEM CERTIFICATE REQUEST")
	}
	csr, err := smx509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("devpki: parse CSR: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("devpki: CSR signature: %w", err)
	}
	org := ""
	if len(csr.Subject.Organization) > 0 {
		org = csr.Subject.Organization[0]
	}
	return ca.IssueFor(csr.PublicKey, csr.Subject.CommonName, org, notBefore, notAfter)
}

// IssueFor makes a client certificate for name with the public key pub, whose private half
// the CA never sees.
func (ca *CA) IssueFor(pub crypto.PublicKey, name, org string, notBefore, notAfter time.Time) (*smx509.Certificate, error) {
	return ca.issue(pub, name, org, notBefore, notAfter,
		smx509.KeyUsageDigitalSignature|smx509.KeyUsageKeyEncipherment|smx509.KeyUsageKeyAgreement,
		[]smx509.ExtKeyUsage{smx509.ExtKeyUsageClientAuth})
}

// IssueWithUsage is Issue with the key usage and extended key usage given (nil: none), for
// the certificates a CA issues for other purposes than login: the encryption certificate
// of an SM2 pair (keyEncipherment and dataEncipherment only; the CA escrows its key), a
// server certificate.
func (ca *CA) IssueWithUsage(alg Algorithm, name, org string, notBefore, notAfter time.Time, ku smx509.KeyUsage, eku []smx509.ExtKeyUsage) (*Issued, error) {
	key, err := NewKey(alg)
	if err != nil {
		return nil, err
	}
	cert, err := ca.issue(key.Public(), name, org, notBefore, notAfter, ku, eku)
	if err != nil {
		return nil, err
	}
	return &Issued{Cert: cert, Key: key}, nil
}

func (ca *CA) issue(pub crypto.PublicKey, name, org string, notBefore, notAfter time.Time, ku smx509.KeyUsage, eku []smx509.ExtKeyUsage) (*smx509.Certificate, error) {
	tmpl := &smx509.Certificate{
		SerialNumber: serial(),
		Subject:      pkixName(name, org),
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     ku,
		ExtKeyUsage:  eku,
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("devpki: issue %s: %w", name, err)
	}
	return smx509.ParseCertificate(der)
}

// RevocationList is the CA's certificate revocation list (CRL, DER) revoking the given
// certificates at thisUpdate, valid until nextUpdate.
func (ca *CA) RevocationList(revoked []*smx509.Certificate, thisUpdate, nextUpdate time.Time) ([]byte, error) {
	tmpl := &smx509.RevocationList{Number: big.NewInt(thisUpdate.UnixNano()), ThisUpdate: thisUpdate, NextUpdate: nextUpdate}
	for _, c := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			smx509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: thisUpdate})
	}
	der, err := smx509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("devpki: CRL: %w", err)
	}
	return der, nil
}

// CertPEM is the CA certificate in PEM.
func (ca *CA) CertPEM() []byte { return CertPEM(ca.Cert) }

// CertPEM is the issued certificate in PEM.
func (i *Issued) CertPEM() []byte { return CertPEM(i.Cert) }

// KeyPEM is the issued private key in PKCS#8 PEM.
func (i *Issued) KeyPEM() ([]byte, error) { return KeyPEM(i.Key) }

// CertPEM encodes a certificate as PEM.
func CertPEM(c *smx509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// KeyPEM encodes a private key as PKCS#8 PEM (smx509 handles SM2 keys too).
func KeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := smx509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseKeyPEM reads a PKCS#8 private key written by KeyPEM.
func ParseKeyPEM(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("devpki: no PEM block")
	}
	key, err := smx509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("devpki: %T is not a signer", key)
	}
	return signer, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err)
	}
	return n
}

func pkixName(cn, org string) pkix.Name {
	return pkix.Name{CommonName: cn, Organization: []string{org}, Country: []string{"CN"}}
}
