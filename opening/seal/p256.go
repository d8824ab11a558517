package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// p256PointSize is an uncompressed SEC 1 P-256 point: 0x04 || X || Y.
const p256PointSize = 65

// HKDF info strings of the two P-256 stanza types: a certificate's key and a rescue key
// never share a wrapping key, even for the same point.
const (
	infoX509P256   = "kaiping.org/seal/v1/x509-p256"
	infoRescueP256 = "kaiping.org/seal/v1/rescue-p256"
)

// maxScalarTries bounds rejection sampling of the ephemeral scalar; a 32-byte string is
// out of range with probability about 2^-32, so this never runs out with a real source.
const maxScalarTries = 64

// ephemeralP256 draws an ephemeral P-256 key from rand: 32 bytes, big-endian, redrawn while
// zero or not below the group order. Reading the scalar from rand (rather than calling
// ecdh.P256().GenerateKey, which since Go 1.26 ignores its argument) is what makes sealing
// reproducible under WithRand, for the test vectors.
func ephemeralP256(rand io.Reader) (*ecdh.PrivateKey, error) {
	var b [32]byte
	for range maxScalarTries {
		if _, err := io.ReadFull(rand, b[:]); err != nil {
			return nil, fmt.Errorf("seal: ephemeral key: %w", err)
		}
		if k, err := ecdh.P256().NewPrivateKey(b[:]); err == nil {
			return k, nil
		}
	}
	return nil, errors.New("seal: ephemeral key: random source keeps giving out-of-range scalars")
}

// p256WrapAEAD derives the single-use wrapping key from the ECDH shared secret and returns
// AES-256-GCM under it. Salt is ephemeral point || recipient point, binding the key to both
// public keys as age's X25519 recipient does.
func p256WrapAEAD(shared, eph, recipient []byte, info string) (cipher.AEAD, error) {
	salt := make([]byte, 0, 2*p256PointSize)
	salt = append(append(salt, eph...), recipient...)
	key, err := hkdf.Key(sha256.New, shared, salt, info, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// zeroNonce: every wrapping key is fresh (a new ephemeral key each time) and used once.
var zeroNonce [12]byte

func p256Wrap(rand io.Reader, typ, id, info string, recipient *ecdh.PublicKey, secret []byte) (Stanza, error) {
	eph, err := ephemeralP256(rand)
	if err != nil {
		return Stanza{}, err
	}
	shared, err := eph.ECDH(recipient)
	if err != nil {
		return Stanza{}, fmt.Errorf("seal: ECDH: %w", err)
	}
	ephBytes := eph.PublicKey().Bytes()
	aead, err := p256WrapAEAD(shared, ephBytes, recipient.Bytes(), info)
	if err != nil {
		return Stanza{}, err
	}
	return Stanza{
		Type: typ,
		Args: []string{id, b64.EncodeToString(ephBytes)},
		Body: aead.Seal(nil, zeroNonce[:], secret, nil),
	}, nil
}

func p256Unwrap(s Stanza, info string, key ECDHer) ([]byte, error) {
	if len(s.Args) != 2 {
		return nil, errMalformed(s.Type + " 段落应有两个参数")
	}
	eph, err := parseEphemeral(s.Args[1])
	if err != nil {
		return nil, err
	}
	shared, err := key.ECDH(eph)
	if err != nil {
		return nil, fmt.Errorf("seal: ECDH: %w", err)
	}
	aead, err := p256WrapAEAD(shared, eph.Bytes(), key.PublicKey().Bytes(), info)
	if err != nil {
		return nil, err
	}
	secret, err := aead.Open(nil, zeroNonce[:], s.Body, nil)
	if err != nil {
		return nil, errWrongKey("无法用此私钥解开密钥封装")
	}
	return secret, nil
}
