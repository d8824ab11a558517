package embedded

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// claims is what a grant token asserts. The MAC covers all of it, so a token cannot be moved
// to another room or principal, nor given more permissions.
type claims struct {
	Room     string                `json:"room"`
	Identity string                `json:"sub"`
	Name     string                `json:"name"`
	Perms    signaling.Permissions `json:"perms"`
	Issued   int64                 `json:"iat"`
	Expires  int64                 `json:"exp"`
	Nonce    string                `json:"n"`
}

// keys holds the keys derived from the one media secret: grant tokens and TURN passwords use
// different labels, so a TURN password never verifies as a grant.
type keys struct {
	grant []byte
	turn  []byte
}

func deriveKeys(secret []byte) (keys, error) {
	if len(secret) < 32 {
		return keys{}, fmt.Errorf("embedded: media secret must be at least 32 bytes, got %d", len(secret))
	}
	return keys{grant: derive(secret, "kaiping media grant v1"), turn: derive(secret, "kaiping media turn v1")}, nil
}

func derive(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}

var b64 = base64.RawURLEncoding

// signGrant returns "g1." + base64url(JSON claims) + "." + base64url(HMAC-SHA256).
func (k keys) signGrant(c claims) string {
	body, err := json.Marshal(c)
	if err != nil {
		panic("embedded: marshal grant claims: " + err.Error())
	}
	enc := b64.EncodeToString(body)
	return "g1." + enc + "." + b64.EncodeToString(k.mac(enc))
}

func (k keys) mac(enc string) []byte {
	m := hmac.New(sha256.New, k.grant)
	m.Write([]byte("g1."))
	m.Write([]byte(enc))
	return m.Sum(nil)
}

// checkGrant verifies a token's MAC and its expiry at now.
func (k keys) checkGrant(token string, now time.Time) (claims, error) {
	forged := kaiping.E(kaiping.KindUnauthenticated, signaling.CodeGrantInvalid, "入会凭证无效")
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != "g1" {
		return claims{}, forged
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, k.mac(parts[1])) {
		return claims{}, forged
	}
	body, err := b64.DecodeString(parts[1])
	if err != nil {
		return claims{}, forged
	}
	var c claims
	if err := json.Unmarshal(body, &c); err != nil {
		return claims{}, forged
	}
	if now.Unix() >= c.Expires {
		return claims{}, kaiping.E(kaiping.KindUnauthenticated, signaling.CodeGrantExpired, "入会凭证已过期，请重新获取")
	}
	return c, nil
}

// turnCredentials returns TURN REST-style credentials for identity valid until expires:
// username "expiry-unix-seconds:identity", password base64(HMAC-SHA1(turn key, username)),
// the scheme coturn's use-auth-secret also speaks.
func (k keys) turnCredentials(identity string, expires time.Time) (username, password string) {
	username = fmt.Sprintf("%d:%s", expires.Unix(), identity)
	return username, k.turnPassword(username)
}

func (k keys) turnPassword(username string) string {
	m := hmac.New(sha1.New, k.turn)
	m.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
