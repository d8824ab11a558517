package signedtoken

import (
	"bytes"
	"strings"
	"testing"
)

func TestSignOpen(t *testing.T) {
	secret := bytes.Repeat([]byte("k"), MinSecret)
	session := New("s1", Derive(secret, "kaiping session v1"))
	grant := New("g1", Derive(secret, "kaiping media grant v1"))
	type claims struct {
		Sub string `json:"sub"`
		Exp int64  `json:"exp"`
	}
	tok := session.Sign(claims{Sub: "甲", Exp: 42})
	var got claims
	if !session.Open(tok, &got) || got != (claims{Sub: "甲", Exp: 42}) {
		t.Fatalf("own token: %+v", got)
	}
	parts := strings.Split(tok, ".")
	flip := func(s string) string {
		b := []byte(s)
		b[len(b)/2] ^= 1
		return string(b)
	}
	for name, bad := range map[string]string{
		"another kind's key and prefix":  grant.Sign(claims{Sub: "甲", Exp: 42}),
		"another kind's prefix only":     "g1." + parts[1] + "." + parts[2],
		"same prefix, another key":       New("s1", Derive(secret, "kaiping media grant v1")).Sign(claims{Sub: "甲", Exp: 42}),
		"claims changed":                 parts[0] + "." + session.Sign(claims{Sub: "乙", Exp: 42})[3:strings.LastIndex(session.Sign(claims{Sub: "乙", Exp: 42}), ".")] + "." + parts[2],
		"MAC changed":                    parts[0] + "." + parts[1] + "." + flip(parts[2]),
		"a part missing":                 parts[0] + "." + parts[1],
		"a part too many":                tok + ".x",
		"not base64":                     parts[0] + ".!!." + parts[2],
		"empty":                          "",
		"valid MAC over non-JSON claims": session.SignBody([]byte("not json")),
	} {
		if session.Open(bad, &got) {
			t.Errorf("%s: opened %q", name, bad)
		}
	}
	if body, ok := session.OpenBody(session.SignBody([]byte{0, 1, 2})); !ok || !bytes.Equal(body, []byte{0, 1, 2}) {
		t.Errorf("raw body: %x %v", body, ok)
	}
	if err := CheckSecret("session secret", secret[:MinSecret-1]); err == nil {
		t.Error("a 31-byte secret accepted")
	}
	if err := CheckSecret("session secret", secret); err != nil {
		t.Error(err)
	}
}
