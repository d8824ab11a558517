package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"hash"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

// Suite names the symmetric algorithms of an envelope: the payload AEAD and the hash behind
// every key derivation and the header MAC. It is written in the header.
type Suite string

// The suites of format version 1.
const (
	// AES256GCM is the default: AES-256-GCM payload, HKDF-SHA256, HMAC-SHA256.
	AES256GCM Suite = "aes256gcm"
	// SM4GCM is national-crypto mode (国密): SM4-GCM payload, HKDF-SM3, HMAC-SM3.
	SM4GCM Suite = "sm4gcm"
)

// Valid reports whether s is a suite of this format version.
func (s Suite) Valid() bool { return s == AES256GCM || s == SM4GCM }

// Hash is the suite's hash function: SHA-256 or SM3. Both have 32-byte outputs, so every
// derived MAC key and MAC has the same length in both suites.
func (s Suite) Hash() func() hash.Hash {
	if s == SM4GCM {
		return sm3.New
	}
	return sha256.New
}

// payloadKeySize is the AEAD key length: AES-256 takes 32 bytes, SM4 takes 16.
func (s Suite) payloadKeySize() int {
	if s == SM4GCM {
		return 16
	}
	return 32
}

// newAEAD returns the payload AEAD keyed with key. Both are GCM with a 12-byte nonce and a
// 16-byte tag over a 128-bit block cipher.
func (s Suite) newAEAD(key []byte) (cipher.AEAD, error) {
	var (
		block cipher.Block
		err   error
	)
	if s == SM4GCM {
		block, err = sm4.NewCipher(key)
	} else {
		block, err = aes.NewCipher(key)
	}
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// HKDF "info" strings, one per derived key, so no two derivations can ever collide.
const (
	infoKeyCheck = "kaiping.org/seal/v1/keycheck"
	infoHeader   = "kaiping.org/seal/v1/header"
	infoPayload  = "kaiping.org/seal/v1/payload"
)

// fileKeys are the keys derived from one file key.
type fileKeys struct {
	keyCheck [KeyCheckSize]byte
	macKey   []byte
	payload  []byte
}

// deriveKeys computes everything a file key opens, for the suite and payload nonce.
func deriveKeys(s Suite, fileKey []byte, nonce [NonceSize]byte) (fileKeys, error) {
	var k fileKeys
	h := s.Hash()
	check, err := hkdf.Key(h, fileKey, nil, infoKeyCheck, KeyCheckSize)
	if err != nil {
		return k, err
	}
	copy(k.keyCheck[:], check)
	if k.macKey, err = hkdf.Key(h, fileKey, nil, infoHeader, 32); err != nil {
		return k, err
	}
	if k.payload, err = hkdf.Key(h, fileKey, nonce[:], infoPayload, s.payloadKeySize()); err != nil {
		return k, err
	}
	return k, nil
}

// headerMAC is HMAC over the header bytes up to and including "---".
func headerMAC(s Suite, macKey, covered []byte) []byte {
	m := hmac.New(s.Hash(), macKey)
	m.Write(covered)
	return m.Sum(nil)
}
