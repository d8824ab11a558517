package identity

import (
	"crypto/rand"
	"encoding/binary"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/signedtoken"
)

// Tokens issues and checks the two kinds of bearer strings the platform hands out, both
// stateless so that several API replicas accept each other's:
//
//   - a login nonce (challenge), prefix "n1", whose body is 16 random bytes ‖ the expiry in unix
//     seconds (8 bytes, big-endian). Replay is stopped by recording each nonce when it is used
//     (Store.RecordLogin), not by remembering issued ones.
//   - a session token, prefix "s1", whose body is the JSON claims.
//
// Both have the shape of package signedtoken, with keys derived from one secret under
// different labels, so a nonce can never pass for a token.
type Tokens struct {
	nonces   signedtoken.Signer
	sessions signedtoken.Signer
}

// NewTokens derives the nonce and session keys from secret (at least 32 bytes).
func NewTokens(secret []byte) (*Tokens, error) {
	if err := signedtoken.CheckSecret("identity: session secret", secret); err != nil {
		return nil, err
	}
	return &Tokens{
		nonces:   signedtoken.New("n1", signedtoken.Derive(secret, "kaiping nonce v1")),
		sessions: signedtoken.New("s1", signedtoken.Derive(secret, "kaiping session v1")),
	}, nil
}

// NewNonce returns a fresh login nonce valid until expires.
func (t *Tokens) NewNonce(expires time.Time) string {
	var body [24]byte
	if _, err := rand.Read(body[:16]); err != nil {
		panic("identity: no randomness: " + err.Error())
	}
	binary.BigEndian.PutUint64(body[16:], uint64(expires.Unix()))
	return t.nonces.SignBody(body[:])
}

// CheckNonce verifies that nonce was issued by us and has not expired at now, and returns its
// expiry (which bounds how long the used-nonce record must be kept).
func (t *Tokens) CheckNonce(nonce string, now time.Time) (time.Time, error) {
	bad := kaiping.E(kaiping.KindUnauthenticated, "auth.nonce_invalid", "登录挑战码无效，请重新获取")
	body, ok := t.nonces.OpenBody(nonce)
	if !ok || len(body) != 24 {
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
	return t.sessions.Sign(c)
}

// CheckSession verifies a session token's MAC and expiry at now.
func (t *Tokens) CheckSession(token string, now time.Time) (Claims, error) {
	forged := kaiping.E(kaiping.KindUnauthenticated, "auth.token_invalid", "登录凭证无效，请重新登录")
	var c Claims
	if !t.sessions.Open(token, &c) {
		return Claims{}, forged
	}
	if now.Unix() >= c.Expires {
		return Claims{}, kaiping.E(kaiping.KindUnauthenticated, "auth.token_expired", "登录已过期，请重新登录")
	}
	return c, nil
}
