package identity

import (
	"crypto"
	"errors"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/certsign"
)

// loginDomain separates login signatures from anything else the same key signs (a bid
// receipt, a record confirmation), so a login signature can never be replayed as one.
const loginDomain = "KAIPING-LOGIN-V1\n"

// LoginMessage is the exact byte string a client signs to log in with nonce.
func LoginMessage(nonce string) []byte { return []byte(loginDomain + nonce) }

// SignLogin signs the login message for nonce with the certificate's private key (see
// package certsign for the algorithms). The signer may be a PKCS#11 token.
func SignLogin(signer crypto.Signer, nonce string) ([]byte, error) {
	return certsign.Sign(signer, LoginMessage(nonce))
}

// verifyLoginSignature checks sig over the login message for nonce with the certificate's
// public key.
func verifyLoginSignature(pub any, nonce string, sig []byte) error {
	ok, err := certsign.Verify(pub, LoginMessage(nonce), sig)
	if err != nil {
		return kaiping.E(kaiping.KindInvalid, "auth.key_unsupported", "不支持的证书密钥类型（支持 SM2、ECDSA P-256、RSA）")
	}
	if !ok {
		return &kaiping.Error{Kind: kaiping.KindUnauthenticated, Code: "auth.bad_signature",
			Message: "签名验证失败：签名与证书不匹配", Err: errors.New("login signature does not verify")}
	}
	return nil
}
