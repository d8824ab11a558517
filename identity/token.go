package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
)

// Tokens issues and checks the two kinds of bearer strings the platform hands out, both
// stateless so that several API replicas accept each other's:
//
//   - a login nonce (challenge): "n1." + base64url(16 random bytes ‖ expiry unix seconds, 8 bytes
//     big-endian) + "." + base64url(HMAC-SHA256). Replay is stopped by recording each nonce when it
//     is used (Store.RecordLogin), not by remembering issued ones.
//   - a session token: "s1." + base64url(JSON claims) + "." + base64url(HMAC-SHA256).
//
// The two MACs use keys derived from one secret with different labels, so a nonce can never
// pass for a token.
type Tokens struct {
	nonceKey   []byte
	sessionKey []byte
}

// NewTokens derives the nonce and session keys from secret (at least 32 bytes).
func NewTokens(secret []byte) (*Tokens, error) {
	if len(secret) < 32 {
		return nil, errors.New("identity: session secret must be at least 32 bytes")
	}
	return &Tokens{nonceKey: derive(secret, "kaiping nonce v1"), sessionKey: derive(secret, "kaiping session v1")}, nil
}

func derive(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}

func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

var b64 = base64.RawURLEncoding

// NewNonce returns a fresh login nonce valid until expires.
func (t *Tokens) NewNonce(expires time.Time) string {
	var body [24]byte
	if _, err := rand.Read(body[:16]); err != nil {
		panic("identity: no randomness: " + err.Error())
	}
	binary.BigEndian.PutUint64(body[16:], uint64(expires.Unix()))
	enc := b64.EncodeToString(body[:])
	return "n1." + enc + "." + b64.EncodeToString(mac(t.nonceKey, "n1", enc))
}

// CheckNonce verifies that nonce was issued by us and has not expired at now, and returns its
// expiry (which bounds how long the used-nonce record must be kept).
func (t *Tokens) CheckNonce(nonce string, now time.Time) (time.Time, error) {
	bad := kaiping.E(kaiping.KindUnauthenticated, "auth.nonce_invalid", "登录挑战码无效，请重新获取")
	parts := strings.Split(nonce, ".")
	if len(parts) != 3 || parts[0] != "n1" {
		return time.Time{}, bad
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac(t.nonceKey, "n1", parts[1])) {
		return time.Time{}, bad
	}
	body, err := b64.DecodeString(parts[1])
	if err != nil || len(body) != 24 {
		return time.Time{}, bad
	}
	expires := time.Unix(int64(binary.BigEndian.Uint64(body[16:])), 0)
	if !now.Before(expires) {
		return time.Time{}, kaiping.E(kaiping.KindUnauthenticated, "auth.nonce_expired", "登录挑战码已过期，请重新获取")
	}
	return expires, nil
}

// Claims is what a session token asserts.
type Claims struct {
	Session   kaiping.ID     `json:"sid"`
	Principal kaiping.ID     `json:"sub"`
	Name      string         `json:"name"`
	Org       string         `json:"org,omitempty"`
	Roles     []kaiping.Role `json:"roles"`
	// Cert is the fingerprint of the certificate the session logged in with: revoking it
	// ends the session.
	Cert    string `json:"crt,omitempty"`
	Issued  int64  `json:"iat"`
	Expires int64  `json:"exp"`
}

// Principal is the principal the claims describe.
func (c Claims) AsPrincipal() kaiping.Principal {
	return kaiping.Principal{ID: c.Principal, Name: c.Name, Org: c.Org, Roles: c.Roles}
}

// IssueSession returns a session token carrying claims.
func (t *Tokens) IssueSession(c Claims) string {
	body, err := json.Marshal(c)
	if err != nil {
		panic("identity: marshal claims: " + err.Error())
	}
	enc := b64.EncodeToString(body)
	return "s1." + enc + "." + b64.EncodeToString(mac(t.sessionKey, "s1", enc))
}

// CheckSession verifies a session token's MAC and expiry at now.
func (t *Tokens) CheckSession(token string, now time.Time) (Claims, error) {
	forged := kaiping.E(kaiping.KindUnauthenticated, "auth.token_invalid", "登录凭证无效，请重新登录")
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != "s1" {
		return Claims{}, forged
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac(t.sessionKey, "s1", parts[1])) {
		return Claims{}, forged
	}
	body, err := b64.DecodeString(parts[1])
	if err != nil {
		return Claims{}, forged
	}
	var c Claims
	if err := json.Unmarshal(body, &c); err != nil {
		return Claims{}, forged
	}
	if now.Unix() >= c.Expires {
		return Claims{}, kaiping.E(kaiping.KindUnauthenticated, "auth.token_expired", "登录已过期，请重新登录")
	}
	return c, nil
}
