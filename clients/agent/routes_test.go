package agent_test

import (
	"crypto"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/kaiping/kaiping/clients/agent"
)

// TestRouteAndMethodRefusals: an unknown path is agent.not_found and a route called with the
// wrong method is agent.method (before any pairing check), and neither shows a code, pairs
// or writes the state file.
func TestRouteAndMethodRefusals(t *testing.T) {
	r := mustRig(t)
	for _, c := range []struct {
		method, path, want string
		status             int
	}{
		{"GET", "/v1/nothing", "agent.not_found", http.StatusNotFound},
		{"POST", "/v1/status", "agent.method", http.StatusMethodNotAllowed},
		{"GET", "/v1/pair", "agent.method", http.StatusMethodNotAllowed},
		{"GET", "/v1/sign-login", "agent.method", http.StatusMethodNotAllowed},
		{"GET", "/v1/sign", "agent.method", http.StatusMethodNotAllowed},
	} {
		if st, out, _ := r.call(c.method, c.path, platform, "", nil); st != c.status || code(out) != c.want {
			t.Errorf("%s %s: %d %v, want %d %s", c.method, c.path, st, out, c.status, c.want)
		}
	}
	select {
	case c := <-r.codes:
		t.Errorf("a refused request had code %s shown", c)
	default:
	}
	if st, out, _ := r.call("GET", "/v1/status", platform, "", nil); st != 200 || out["paired"] != false {
		t.Errorf("status after the refusals: %d %v", st, out)
	}
	if _, err := os.Stat(r.state); !os.IsNotExist(err) {
		t.Errorf("the refusals wrote the state file: %v", err)
	}
}

// removedKey is a key whose token was pulled out: it still names its public key, but every
// signature fails.
type removedKey struct{ crypto.Signer }

func (removedKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("token removed")
}

// TestSignFailed: when the key does not sign (a UKEY pulled out after pairing), a paired page
// is answered agent.sign_failed (503) with no signature, and the pairing stands.
func TestSignFailed(t *testing.T) {
	r := mustRig(t)
	tok := r.mustPair()
	cfg := r.config
	cfg.Key = removedKey{r.who.Key}
	a, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	r.srv = srv
	st, out, _ := r.call("POST", "/v1/sign-login", platform, tok, map[string]any{"nonce": "kp-nonce.AAAA.BBBB"})
	if st != http.StatusServiceUnavailable || code(out) != "agent.sign_failed" || out["signature"] != nil {
		t.Fatalf("sign-login with the key removed: %d %v", st, out)
	}
	if st, out, _ := r.call("GET", "/v1/status", platform, "", nil); st != 200 || out["paired"] != true {
		t.Errorf("status after the failure: %d %v", st, out)
	}
}
