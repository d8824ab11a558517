package identity

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
)

// CARoots is the set of certificate authorities whose certificates the centre accepts. A
// province usually accepts several CAs (数字证书认证机构), some issuing SM2 certificates, some
// RSA or ECDSA; smx509 verifies all three.
type CARoots struct {
	pool  *smx509.CertPool
	certs []*smx509.Certificate
	count int
}

// ParseCARoots reads every CERTIFICATE block in pemData.
func ParseCARoots(pemData ...[]byte) (*CARoots, error) {
	roots := &CARoots{pool: smx509.NewCertPool()}
	for _, data := range pemData {
		certs, err := parsePEMCertificates(data)
		if err != nil {
			return nil, err
		}
		for _, c := range certs {
			if !c.IsCA {
				return nil, fmt.Errorf("identity: %q is not a CA certificate", c.Subject.CommonName)
			}
			roots.pool.AddCert(c)
			roots.certs = append(roots.certs, c)
			roots.count++
		}
	}
	if roots.count == 0 {
		return nil, errors.New("identity: no CA root certificates")
	}
	return roots, nil
}

// Len is the number of root certificates.
func (r *CARoots) Len() int { return r.count }

// Certificates are the root certificates, in the order read.
func (r *CARoots) Certificates() []*smx509.Certificate { return r.certs }

// Certificate is a verified client certificate.
type Certificate struct {
	Cert        *smx509.Certificate
	Fingerprint string // hex SHA-256 of the DER encoding
}

// Fingerprint returns the hex SHA-256 of a certificate's DER encoding, the key by which a
// certificate is registered to a principal.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// VerifyChain parses chainPEM (the leaf first, then any intermediates) and checks that the
// leaf chains to one of the roots, that every certificate in the chain is valid at now, and
// that the leaf is a signing certificate for client authentication: its key usage has
// digitalSignature, and its extended key usage, if any, has clientAuth or any.
func (r *CARoots) VerifyChain(chainPEM []byte, now time.Time) (Certificate, error) {
	certs, err := parsePEMCertificates(chainPEM)
	if err != nil || len(certs) == 0 {
		return Certificate{}, kaiping.E(kaiping.KindInvalid, "auth.cert_malformed", "证书格式错误：需要 PEM 编码的 X.509 证书")
	}
	leaf := certs[0]
	if leaf.IsCA {
		// A CA certificate names an authority, not a bidder or an expert.
		return Certificate{}, kaiping.E(kaiping.KindInvalid, "auth.cert_not_client", "CA 证书不能用于登录，请使用个人或单位证书")
	}
	inter := smx509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err = leaf.Verify(smx509.VerifyOptions{
		Roots:         r.pool,
		Intermediates: inter,
		CurrentTime:   now,
		// An extended key usage, where the leaf or a CA names one, must allow client
		// authentication (or any use).
		KeyUsages: []smx509.ExtKeyUsage{smx509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		var invalid smx509.CertificateInvalidError
		if errors.As(err, &invalid) && invalid.Reason == smx509.IncompatibleUsage {
			return Certificate{}, &kaiping.Error{Kind: kaiping.KindUnauthenticated, Code: "auth.cert_usage",
				Message: "该证书的扩展用途不含客户端身份认证，不能用于登录", Err: err}
		}
		if errors.As(err, &invalid) && invalid.Reason == smx509.Expired {
			return Certificate{}, &kaiping.Error{Kind: kaiping.KindUnauthenticated, Code: "auth.cert_expired",
				Message: fmt.Sprintf("证书不在有效期内（有效期 %s 至 %s）",
					leaf.NotBefore.Format(time.DateOnly), leaf.NotAfter.Format(time.DateOnly)), Err: err}
		}
		return Certificate{}, &kaiping.Error{Kind: kaiping.KindUnauthenticated, Code: "auth.cert_untrusted",
			Message: "证书不是由本中心认可的 CA 签发", Err: err}
	}
	if leaf.KeyUsage&smx509.KeyUsageDigitalSignature == 0 {
		// An SM2 encryption certificate (加密证书: keyEncipherment, dataEncipherment) has a key
		// the CA escrows and can hand over; only the signing certificate's key is the
		// holder's alone, so only it proves who logs in.
		return Certificate{}, kaiping.E(kaiping.KindUnauthenticated, "auth.cert_usage",
			"该证书不是签名证书（如加密证书），不能用于登录，请使用签名证书")
	}
	return Certificate{Cert: leaf, Fingerprint: Fingerprint(leaf.Raw)}, nil
}

// presentedFingerprint is the fingerprint of the leaf in chainPEM, verified or not, "" if
// none can be read: what a failed login is recorded and throttled under.
func presentedFingerprint(chainPEM []byte) string {
	certs, err := parsePEMCertificates(chainPEM)
	if err != nil || len(certs) == 0 {
		return ""
	}
	return Fingerprint(certs[0].Raw)
}

func parsePEMCertificates(data []byte) ([]*smx509.Certificate, error) {
	var certs []*smx509.Certificate
	rest := bytes.TrimSpace(data)
	for len(rest) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("identity: data after the last PEM block is not PEM")
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := smx509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("identity: parse certificate: %w", err)
		}
		certs = append(certs, c)
		rest = bytes.TrimSpace(rest)
	}
	return certs, nil
}
