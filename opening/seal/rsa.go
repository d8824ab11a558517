package seal

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"io"
)

// RSA moduli this format wraps to: 2048 to 8192 bits. The stanza body is one RSA block,
// as long as the modulus.
const (
	minRSABytes = 256
	maxRSABytes = 1024
)

// rsaWrap encrypts secret with RSA-OAEP, SHA-256 for both the label hash and MGF1, and an
// empty label. The label stays empty because common PKCS#11 tokens (SoftHSM among them)
// refuse CKM_RSA_PKCS_OAEP with pSourceData set; the header MAC already binds the stanza to
// its envelope.
func rsaWrap(rand io.Reader, fp string, pub *rsa.PublicKey, secret []byte) (Stanza, error) {
	body, err := rsa.EncryptOAEP(sha256.New(), rand, pub, secret, nil)
	if err != nil {
		return Stanza{}, fmt.Errorf("seal: RSA-OAEP: %w", err)
	}
	return Stanza{Type: TypeRSAOAEP, Args: []string{fp}, Body: body}, nil
}

// rsaUnwrap decrypts the body, which must be exactly size bytes (the modulus length, RFC 8017
// §7.1.2 step 1b): crypto/rsa would also take a shorter body as the same integer without its
// leading zero bytes, giving one stanza several encodings that other readers refuse.
func rsaUnwrap(s Stanza, dec crypto.Decrypter, rand io.Reader, size int) ([]byte, error) {
	if len(s.Body) != size {
		return nil, errWrongKey(fmt.Sprintf("RSA 密钥封装应为 %d 字节，收到 %d 字节", size, len(s.Body)))
	}
	secret, err := dec.Decrypt(rand, s.Body, &rsa.OAEPOptions{Hash: crypto.SHA256, MGFHash: crypto.SHA256})
	if err != nil {
		return nil, errWrongKey("无法用此 RSA 私钥解开密钥封装")
	}
	return secret, nil
}
