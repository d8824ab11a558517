// Package certsign is how a certificate's key signs a message and how that signature is
// checked, the same way for every purpose (login, record confirmation): SM2 with SM3 and the
// default user ID (GB/T 32918.2) for SM2 keys, ECDSA P-256 with SHA-256 (ASN.1 signature),
// RSA PKCS#1 v1.5 with SHA-256. Callers put a domain string in front of the message (such as
// "KAIPING-LOGIN-V1\n") so a signature for one purpose can never be replayed as another.
package certsign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"

	"github.com/emmansun/gmsm/sm2"
)

// ErrUnsupportedKey is returned for a public key that is none of SM2, ECDSA P-256 or RSA.
var ErrUnsupportedKey = errors.New("certsign: unsupported key type (SM2, ECDSA P-256 or RSA)")

// Sign signs msg with signer, which may be a PKCS#11 token.
func Sign(signer crypto.Signer, msg []byte) ([]byte, error) {
	if pub, ok := signer.Public().(*ecdsa.PublicKey); ok && pub.Curve == sm2.P256() {
		return signer.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
	}
	digest := sha256.Sum256(msg)
	return signer.Sign(rand.Reader, digest[:], crypto.SHA256)
}

// Verify reports whether sig is pub's signature of msg; ErrUnsupportedKey for other keys.
func Verify(pub crypto.PublicKey, msg, sig []byte) (bool, error) {
	digest := sha256.Sum256(msg)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case sm2.P256():
			return sm2.VerifyASN1WithSM2(k, nil, msg, sig), nil
		case elliptic.P256():
			return ecdsa.VerifyASN1(k, digest[:], sig), nil
		}
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig) == nil, nil
	}
	return false, ErrUnsupportedKey
}
