package bidder

import (
	"crypto"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping/identity/devpki"
)

// keygenAlgorithms maps the names a bidder may give --alg to the key types. The README and
// --help offer the short names (ecdsa, rsa); the long ones (ecdsa-p256, rsa-2048) are what
// devpki and earlier versions of the tool call them, so both are accepted.
var keygenAlgorithms = map[string]devpki.Algorithm{
	"sm2":        devpki.SM2,
	"ecdsa":      devpki.ECDSA,
	"ecdsa-p256": devpki.ECDSA,
	"rsa":        devpki.RSA,
	"rsa-2048":   devpki.RSA,
}

// KeyAlgorithm resolves --alg, case-insensitively, refusing any other name with the list
// of names that work rather than devpki's internal spelling.
func KeyAlgorithm(name string) (devpki.Algorithm, error) {
	if alg, ok := keygenAlgorithms[strings.ToLower(strings.TrimSpace(name))]; ok {
		return alg, nil
	}
	return "", fmt.Errorf("--alg %q 不是支持的密钥算法，可选：sm2、ecdsa（即 ecdsa-p256）、rsa（即 rsa-2048）", name)
}

// GenerateKeyFile makes a new private key of the algorithm named (see KeyAlgorithm) and
// writes it to out, readable only by its owner. It never overwrites a file: a key that
// exists may already have a certificate.
func GenerateKeyFile(algName, out string) (devpki.Algorithm, error) {
	alg, err := KeyAlgorithm(algName)
	if err != nil {
		return "", err
	}
	key, err := devpki.NewKey(alg)
	if err != nil {
		return "", fmt.Errorf("--alg %s: %w", alg, err)
	}
	b, err := devpki.KeyPEM(key)
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("写入私钥: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return "", err
	}
	return alg, f.Close()
}

// WriteCSR writes to out a PEM certificate signing request for key, with the common name
// name and, if not empty, the organization org, for the CA to certify.
func WriteCSR(key crypto.Signer, name, org, out string) error {
	subject := pkix.Name{CommonName: name}
	if org != "" {
		subject.Organization = []string{org}
	}
	der, err := smx509.CreateCertificateRequest(rand.Reader, &smx509.CertificateRequest{Subject: subject}, key)
	if err != nil {
		return fmt.Errorf("生成证书申请: %w", err)
	}
	return os.WriteFile(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 0o644)
}
