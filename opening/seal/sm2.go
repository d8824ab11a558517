package seal

import (
	"crypto"
	"crypto/ecdsa"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm2"
)

// maxSM2Bytes bounds an SM2 stanza body: the DER SM2Cipher of a MaxSecretSize secret is
// under 250 bytes.
const maxSM2Bytes = 512

// sm2Wrap encrypts secret with SM2 public-key encryption (GB/T 32918.4-2016) and encodes
// the ciphertext as the DER SM2Cipher of GM/T 0009-2012: SEQUENCE { XCoordinate INTEGER,
// YCoordinate INTEGER, HASH OCTET STRING (C3), CipherText OCTET STRING (C2) }. That is the
// encoding Chinese CA tool kits, tokens and OpenSSL-derived libraries exchange, and unlike
// the raw C1||C3||C2 it cannot be confused with the older C1||C2||C3 order.
func sm2Wrap(rand io.Reader, fp string, pub *ecdsa.PublicKey, secret []byte) (Stanza, error) {
	body, err := sm2.EncryptASN1(rand, pub, secret)
	if err != nil {
		return Stanza{}, fmt.Errorf("seal: SM2: %w", err)
	}
	return Stanza{Type: TypeSM2, Args: []string{fp}, Body: body}, nil
}

func sm2Unwrap(s Stanza, dec crypto.Decrypter, rand io.Reader) ([]byte, error) {
	secret, err := dec.Decrypt(rand, s.Body, sm2.ASN1DecrypterOpts)
	if err != nil {
		return nil, errWrongKey("无法用此 SM2 私钥解开密钥封装")
	}
	return secret, nil
}
