package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"

	"github.com/emmansun/gmsm/sm2"

	"github.com/kaiping/kaiping"
)

// loginDomain separates login signatures from anything else the same key signs (a bid
// receipt, a record confirmation), so a login signature can never be replayed as one.
const loginDomain = "KAIPING-LOGIN-V1\n"

// LoginMessage is the exact byte string a client signs to log in with nonce.
func LoginMessage(nonce string) []byte { return []byte(loginDomain + nonce) }

// SignLogin signs the login message for nonce with the certificate's private key:
// SM2 with SM3 and the default user ID (GB/T 32918.2) for SM2 keys, ECDSA P-256 with SHA-256
// (ASN.1 signature), RSA PKCS#1 v1.5 with SHA-256. The signer may be a PKCS#11 token.
func SignLogin(signer crypto.Signer, nonce string) ([]byte, error) {
	msg := LoginMessage(nonce)
	if pub, ok := signer.Public().(*ecdsa.PublicKey); ok && pub.Curve == sm2.P256() {
		return signer.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
	}
	digest := sha256.Sum256(msg)
	return signer.Sign(rand.Reader, digest[:], crypto.SHA256)
}

// verifyLoginSignature checks sig over the login message for nonce with the certificate's
// public key.
func verifyLoginSignature(pub any, nonce string, sig []byte) error {
	msg := LoginMessage(nonce)
	digest := sha256.Sum256(msg)
	ok := false
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case sm2.P256():
			ok = sm2.VerifyASN1WithSM2(k, nil, msg, sig)
		case elliptic.P256():
			ok = ecdsa.VerifyASN1(k, digest[:], sig)
		default:
			return kaiping.E(kaiping.KindInvalid, "auth.key_unsupported", "不支持的证书密钥类型（支持 SM2、ECDSA P-256、RSA）")
		}
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig) == nil
	default:
		return kaiping.E(kaiping.KindInvalid, "auth.key_unsupported", "不支持的证书密钥类型（支持 SM2、ECDSA P-256、RSA）")
	}
	if !ok {
		return &kaiping.Error{Kind: kaiping.KindUnauthenticated, Code: "auth.bad_signature",
			Message: "签名验证失败：签名与证书不匹配", Err: errors.New("login signature does not verify")}
	}
	return nil
}
