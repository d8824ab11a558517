// Package signedtoken is the one shape of the stateless bearer strings the platform hands
// out (login nonces, session tokens, media grants):
//
//	prefix "." base64url(body) "." base64url(HMAC-SHA256(key, prefix ‖ 0x00 ‖ encoded body ‖ 0x00))
//
// Each kind has its own prefix and its own key, derived from a secret with a label of its
// own, so that a string of one kind never verifies as another. Expiry and the other claims
// are the caller's: a Signer only says whether the platform made the string.
package signedtoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// MinSecret is the shortest secret keys may be derived from.
const MinSecret = 32

// Derive returns the key for label from secret: HMAC-SHA256(secret, label).
func Derive(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// CheckSecret refuses a secret shorter than MinSecret bytes; what names the secret in the
// error.
func CheckSecret(what string, secret []byte) error {
	if len(secret) < MinSecret {
		return fmt.Errorf("%s must be at least %d bytes, got %d", what, MinSecret, len(secret))
	}
	return nil
}

// Signer makes and checks the strings of one kind.
type Signer struct {
	prefix string
	key    []byte
}

// New returns the Signer of strings starting with prefix (no dot in it), MACed with key.
func New(prefix string, key []byte) Signer {
	if prefix == "" || strings.Contains(prefix, ".") {
		panic("signedtoken: bad prefix " + prefix)
	}
	return Signer{prefix: prefix, key: key}
}

var b64 = base64.RawURLEncoding

func (s Signer) mac(enc string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(s.prefix))
	m.Write([]byte{0})
	m.Write([]byte(enc))
	m.Write([]byte{0})
	return m.Sum(nil)
}

// SignBody returns the string carrying body.
func (s Signer) SignBody(body []byte) string {
	enc := b64.EncodeToString(body)
	return s.prefix + "." + enc + "." + b64.EncodeToString(s.mac(enc))
}

// OpenBody returns the body of a string this Signer made; ok is false for anything else
// (another prefix, a bad MAC, bad encoding).
func (s Signer) OpenBody(token string) (body []byte, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != s.prefix {
		return nil, false
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, s.mac(parts[1])) {
		return nil, false
	}
	body, err = b64.DecodeString(parts[1])
	if err != nil {
		return nil, false
	}
	return body, true
}

// Sign returns the string carrying claims as JSON; claims must marshal.
func (s Signer) Sign(claims any) string {
	body, err := json.Marshal(claims)
	if err != nil {
		panic("signedtoken: marshal claims: " + err.Error())
	}
	return s.SignBody(body)
}

// Open checks a string this Signer made and decodes its JSON claims into v; ok is false for
// anything the Signer did not make or whose claims do not decode.
func (s Signer) Open(token string, v any) (ok bool) {
	body, ok := s.OpenBody(token)
	return ok && json.Unmarshal(body, v) == nil
}
