package embedded

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/signedtoken"
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

// keys holds the keys derived from the one media secret: grant tokens (package signedtoken,
// prefix "g1") and TURN passwords use different labels, so a TURN password never verifies as
// a grant.
type keys struct {
	grants signedtoken.Signer
	turn   []byte
}

func deriveKeys(secret []byte) (keys, error) {
	if err := signedtoken.CheckSecret("embedded: media secret", secret); err != nil {
		return keys{}, err
	}
	return keys{
		grants: signedtoken.New("g1", signedtoken.Derive(secret, "kaiping media grant v1")),
		turn:   signedtoken.Derive(secret, "kaiping media turn v1"),
	}, nil
}

// signGrant returns the grant token carrying c.
func (k keys) signGrant(c claims) string { return k.grants.Sign(c) }

// checkGrant verifies a token's MAC and its expiry at now.
func (k keys) checkGrant(token string, now time.Time) (claims, error) {
	var c claims
	if !k.grants.Open(token, &c) {
		return claims{}, kaiping.E(kaiping.KindUnauthenticated, signaling.CodeGrantInvalid, "入会凭证无效")
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
