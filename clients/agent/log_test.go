package agent_test

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/kaiping/kaiping/clients/agent"
)

// lockedBuffer is a log sink the test reads while the agent's handlers may still write.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestTokenNeverLogged pairs, signs and is refused with the agent logging at debug level, and
// checks that the pairing token, which alone lets a page have the key sign, never reaches the
// log (Config.Log's promise), while the log does record the pairing.
func TestTokenNeverLogged(t *testing.T) {
	r := mustRig(t)
	var log lockedBuffer
	r.config.Log = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := agent.New(r.config)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	r.srv = srv
	tok := r.mustPair()
	if st, out, _ := r.call("POST", "/v1/sign-login", platform, tok, map[string]any{"nonce": "kp-nonce.AAAA.BBBB"}); st != 200 {
		t.Fatalf("sign-login paired: %d %v", st, out)
	}
	// A token from an origin it was not issued to is refused, and the refusal is logged.
	if st, out, _ := r.call("POST", "/v1/sign-login", "http://127.0.0.1:9", tok, map[string]any{"nonce": "kp-nonce.AAAA.BBBB"}); st != 401 || code(out) != "agent.not_paired" {
		t.Fatalf("token from another origin: %d %v", st, out)
	}
	got := log.String()
	if !strings.Contains(got, "origin paired") || !strings.Contains(got, "agent.not_paired") {
		t.Fatalf("the log lacks the pairing or the refusal:\n%s", got)
	}
	if strings.Contains(got, tok) {
		t.Fatalf("the log holds the pairing token:\n%s", got)
	}
}
