package rescue

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/secretsharing"

	"github.com/kaiping/kaiping/opening/seal"
)

// Share is one holder's decrypted share of a rescue key. It is secret: k of them would rebuild
// the key. A holder's client gets it from VerifyShare and uses it on the holder's machine
// only, for PartialDecrypt at the opening; it is never sent anywhere. Wipe it (Wipe) as soon
// as it is no longer needed.
type Share struct {
	// KeyID is the rescue key the share belongs to (Setup.KeyID).
	KeyID string `json:"key_id"`
	// Index is the share's index (its Shamir x-coordinate), 1 to n.
	Index int `json:"index"`
	// Value is f(Index), a P-256 scalar, 32 bytes big-endian.
	Value []byte `json:"value"`
}

// Wipe zeroes the share's value in place.
func (s *Share) Wipe() {
	clear(s.Value)
	s.Value = nil
}

// scalarSize is a P-256 scalar: 32 bytes, big-endian.
const scalarSize = 32

// sharePrefix starts every share plaintext. With the key ID and index inside, a decrypted
// share says what it is, so a share of another tender, or one relabelled with another index,
// is refused even before the Feldman check.
const sharePrefix = "kaiping.org/rescue/v1"

// shareSize is the plaintext length: prefix, key ID (raw SHA-256), index, value. At 86 bytes
// it is well within seal.MaxSecretSize.
const shareSize = len(sharePrefix) + 32 + 1 + scalarSize

// marshal encodes the share plaintext. The caller clears it after use.
func (s Share) marshal() ([]byte, error) {
	id, err := hex.DecodeString(s.KeyID)
	if err != nil || len(id) != 32 || s.Index < 1 || s.Index > MaxHolders || len(s.Value) != scalarSize {
		return nil, errShare(s.Index, "份额格式错误", nil)
	}
	b := make([]byte, 0, shareSize)
	b = append(b, sharePrefix...)
	b = append(b, id...)
	b = append(b, byte(s.Index))
	return append(b, s.Value...), nil
}

// parseShare decodes a share plaintext. The value is copied, so the caller may clear b.
func parseShare(b []byte) (Share, bool) {
	if len(b) != shareSize || !bytes.HasPrefix(b, []byte(sharePrefix)) {
		return Share{}, false
	}
	b = b[len(sharePrefix):]
	return Share{
		KeyID: hex.EncodeToString(b[:32]),
		Index: int(b[32]),
		Value: bytes.Clone(b[33:]),
	}, true
}

// VerifyShare is what a holder's client runs on receiving their share: it decrypts es with
// the holder's certificate key (id, from seal.NewCertIdentity; the key may stay on a PKCS#11
// token) and checks the share against the tender's public parameters: that commitments are
// of pub (their constant term is pub), that the share belongs to this rescue key and carries
// the index it was delivered under, and the Feldman check. Any failure is
// rescue.share_invalid (rescue.setup_invalid for bad public parameters), naming the index.
//
// A share that passes will open a stanza at the opening together with k-1 other passing
// shares. The returned Share is secret: wipe it when done.
func VerifyShare(es EncryptedShare, id seal.Identity, c Commitments, pub *ecdh.PublicKey) (Share, error) {
	keyID, points, err := parseSetup(c, pub)
	if err != nil {
		return Share{}, err
	}
	if es.KeyID != keyID {
		return Share{}, errShare(es.Index, "份额属于另一个补救密钥（另一次设置或另一个招标项目）", nil)
	}
	if id == nil {
		return Share{}, errShare(es.Index, "没有用于解密份额的证书私钥", nil)
	}
	plain, err := seal.UnwrapSecret(es.Stanza, id)
	defer clear(plain)
	if err != nil {
		return Share{}, errShare(es.Index, "无法用此证书私钥解开份额：份额不是加密给此证书的，或已被改动", err)
	}
	s, ok := parseShare(plain)
	if !ok {
		return Share{}, errShare(es.Index, "解密后的份额格式错误", nil)
	}
	if s.Index != es.Index {
		s.Wipe()
		return Share{}, errShare(es.Index, "份额内容中的编号与标注的编号不一致", nil)
	}
	sh, err := verifyShare(s, keyID, points)
	wipeShare(sh)
	if err != nil {
		s.Wipe()
		return Share{}, err
	}
	return s, nil
}

// verifyShare checks a decrypted share against the key ID and commitments and returns it as
// a circl share, which the caller wipes (wipeShare) even on error.
func verifyShare(s Share, keyID string, points secretsharing.SecretCommitment) (secretsharing.Share, error) {
	var sh secretsharing.Share
	if s.KeyID != keyID {
		return sh, errShare(s.Index, "份额属于另一个补救密钥（另一次设置或另一个招标项目）", nil)
	}
	if s.Index < 1 || s.Index > MaxHolders {
		return sh, errShare(s.Index, "份额编号超出范围", nil)
	}
	if len(s.Value) != scalarSize {
		return sh, errShare(s.Index, "份额值长度不对", nil)
	}
	sh.ID = group.P256.NewScalar().SetUint64(uint64(s.Index))
	sh.Value = group.P256.NewScalar()
	// circl's decoder refuses values not below the group order: one encoding per share.
	if err := sh.Value.UnmarshalBinary(s.Value); err != nil {
		return sh, errShare(s.Index, "份额值不是有效的 P-256 标量", nil)
	}
	// circl's t is the polynomial degree: k-1 for k commitments.
	if !secretsharing.Verify(uint(len(points)-1), sh, points) {
		return sh, errShare(s.Index, "份额与公开承诺值不符：份额被改动，或不属于此补救密钥", nil)
	}
	return sh, nil
}

// wipeShare zeroes a circl share's value.
func wipeShare(sh secretsharing.Share) { wipeScalar(sh.Value) }

// wipeScalar zeroes a circl scalar's bytes in place. It uses CMov because circl's Set and
// SetUint64 first grow the buffer, which copies it and leaves the secret in the old one.
func wipeScalar(s group.Scalar) {
	if s != nil {
		s.CMov(1, s.Group().NewScalar())
	}
}
