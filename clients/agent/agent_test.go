package agent_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/agent"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/identity/certsign"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
)

const platform = "https://kaiping.example.cn"

// rig is an agent served on loopback, with the codes it has shown.
type rig struct {
	t      *testing.T
	srv    *httptest.Server
	who    *devpki.Issued
	clock  *kaiping.ManualClock
	state  string
	codes  chan string
	agent  *agent.Agent
	config agent.Config
}

func mustIssued(tb testing.TB, alg devpki.Algorithm) *devpki.Issued {
	tb.Helper()
	now := time.Now()
	ca, err := devpki.NewCA(alg, "测试CA", now.Add(-time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	who, err := ca.Issue(alg, "甲公司", "甲公司", now.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	return who
}

func mustRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{t: t, who: mustIssued(t, devpki.SM2), clock: kaiping.NewManualClock(time.Now()),
		state: filepath.Join(t.TempDir(), "state", "agent-state.json"), codes: make(chan string, 8)}
	r.config = agent.Config{Certificate: r.who.CertPEM(), Key: r.who.Key,
		Origins: []string{platform + "/", "http://127.0.0.1:9"}, StatePath: r.state, Clock: r.clock, Version: "test",
		ShowCode: func(origin, code string) {
			if origin != platform {
				t.Errorf("code shown for %q", origin)
			}
			r.codes <- code
		}}
	a, err := agent.New(r.config)
	if err != nil {
		t.Fatal(err)
	}
	r.agent = a
	r.srv = httptest.NewServer(a.Handler())
	t.Cleanup(r.srv.Close)
	return r
}

// call sends body (nil for none) from origin with the pairing token tok ("" for none) and
// returns the status and the decoded answer.
func (r *rig) call(method, path, origin, tok string, body any) (int, map[string]any, http.Header) {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, r.srv.URL+path, rd)
	if err != nil {
		r.t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

func code(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// mustPair pairs the platform's origin and returns its token.
func (r *rig) mustPair() string {
	r.t.Helper()
	if st, out, _ := r.call("POST", "/v1/pair", platform, "", map[string]any{}); st != 200 || out["shown"] != true {
		r.t.Fatalf("ask for a code: %d %v", st, out)
	}
	c := <-r.codes
	st, out, _ := r.call("POST", "/v1/pair", platform, "", map[string]any{"code": c})
	tok, _ := out["token"].(string)
	if st != 200 || len(tok) != 64 {
		r.t.Fatalf("pair with the code shown: %d %v", st, out)
	}
	return tok
}

func (r *rig) noState() {
	r.t.Helper()
	if _, err := os.Stat(r.state); !os.IsNotExist(err) {
		r.t.Fatalf("the state file exists after a refusal: %v", err)
	}
}

func TestOriginRefused(t *testing.T) {
	r := mustRig(t)
	for _, origin := range []string{"https://evil.example", "", "null", "https://kaiping.example.cn.evil.example", "http://kaiping.example.cn"} {
		for _, path := range []string{"/v1/status", "/v1/pair", "/v1/sign-login"} {
			method := "POST"
			if path == "/v1/status" {
				method = "GET"
			}
			st, out, hdr := r.call(method, path, origin, "", map[string]any{})
			if st != http.StatusForbidden || code(out) != "agent.origin_refused" {
				t.Errorf("%s %s from %q: %d %v", method, path, origin, st, out)
			}
			if _, leaked := out["subject"]; leaked {
				t.Errorf("status answered to %q: %v", origin, out)
			}
			if hdr.Get("Access-Control-Allow-Headers") != "" {
				t.Errorf("CORS headers allowed for %q", origin)
			}
		}
	}
	// A preflight from another origin is refused, so the page cannot send a token at all.
	st, _, hdr := r.call("OPTIONS", "/v1/sign-login", "https://evil.example", "", nil)
	if st != http.StatusForbidden || hdr.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %d %v", st, hdr)
	}
	// The allowed origin's preflight passes, with Private Network Access.
	st, _, hdr = r.call("OPTIONS", "/v1/sign-login", platform, "", nil)
	if st != http.StatusNoContent || hdr.Get("Access-Control-Allow-Origin") != platform ||
		hdr.Get("Access-Control-Allow-Private-Network") != "true" || !strings.Contains(hdr.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight from the platform: %d %v", st, hdr)
	}
	if len(r.codes) != 0 {
		t.Errorf("a refused origin had a code shown")
	}
	r.noState()
}

// TestHostRefused: a page whose own name resolves to 127.0.0.1 (DNS rebinding) calls the
// agent with its own Host.
func TestHostRefused(t *testing.T) {
	r := mustRig(t)
	req, _ := http.NewRequest("GET", r.srv.URL+"/v1/status", nil)
	req.Host = "kaiping.example.cn:18443"
	req.Header.Set("Origin", platform)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusForbidden || code(out) != "agent.host_refused" {
		t.Fatalf("rebinding host: %d %v", resp.StatusCode, out)
	}
}

func TestPairing(t *testing.T) {
	r := mustRig(t)
	st, out, _ := r.call("GET", "/v1/status", platform, "", nil)
	if st != 200 || out["paired"] != false || out["fingerprint"] == "" || !strings.Contains(out["subject"].(string), "甲公司") {
		t.Fatalf("status before pairing: %d %v", st, out)
	}
	nonce := "kp-nonce.AAAA.BBBB"
	if st, out, _ := r.call("POST", "/v1/sign-login", platform, "", map[string]any{"nonce": nonce}); st != 401 || code(out) != "agent.not_paired" {
		t.Fatalf("sign-login unpaired: %d %v", st, out)
	}
	if st, out, _ := r.call("POST", "/v1/sign-login", platform, strings.Repeat("0", 64), map[string]any{"nonce": nonce}); st != 401 || code(out) != "agent.not_paired" {
		t.Fatalf("sign-login with a made-up token: %d %v", st, out)
	}
	if st, out, _ := r.call("POST", "/v1/pair", platform, "", map[string]any{"code": "123456"}); st != 409 || code(out) != "agent.pairing_code_missing" {
		t.Fatalf("a code before any was shown: %d %v", st, out)
	}
	// Three wrong codes end the attempt: the right one no longer pairs.
	r.call("POST", "/v1/pair", platform, "", map[string]any{})
	shown := <-r.codes
	if len(shown) != 6 || strings.Trim(shown, "0123456789") != "" {
		t.Fatalf("code shown: %q", shown)
	}
	wrong := []byte(shown)
	wrong[0] = '0' + (wrong[0]-'0'+1)%10
	for i := 0; i < agent.MaxCodeTries; i++ {
		if st, out, _ := r.call("POST", "/v1/pair", platform, "", map[string]any{"code": string(wrong)}); st != 403 || code(out) != "agent.pairing_code_wrong" {
			t.Fatalf("wrong code %d: %d %v", i, st, out)
		}
	}
	if st, out, _ := r.call("POST", "/v1/pair", platform, "", map[string]any{"code": shown}); st != 409 || code(out) != "agent.pairing_code_missing" {
		t.Fatalf("the right code after %d wrong ones: %d %v", agent.MaxCodeTries, st, out)
	}
	r.noState()
	// A code typed after CodeTTL is refused; one typed just before it pairs.
	r.call("POST", "/v1/pair", platform, "", map[string]any{})
	shown = <-r.codes
	r.clock.Advance(agent.CodeTTL)
	if st, out, _ := r.call("POST", "/v1/pair", platform, "", map[string]any{"code": shown}); st != 409 || code(out) != "agent.pairing_code_missing" {
		t.Fatalf("an expired code: %d %v", st, out)
	}
	r.noState()
	r.call("POST", "/v1/pair", platform, "", map[string]any{})
	shown = <-r.codes
	r.clock.Advance(agent.CodeTTL - time.Second)
	st, out, _ = r.call("POST", "/v1/pair", platform, "", map[string]any{"code": shown})
	tok, _ := out["token"].(string)
	if st != 200 || tok == "" {
		t.Fatalf("pair just in time: %d %v", st, out)
	}
	// The code is good once.
	if st, out, _ := r.call("POST", "/v1/pair", platform, "", map[string]any{"code": shown}); st != 409 || code(out) != "agent.pairing_code_missing" {
		t.Fatalf("a code used twice: %d %v", st, out)
	}
	fi, err := os.Stat(r.state)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(r.state)
	if bytes.Contains(b, []byte(tok)) || !bytes.Contains(b, []byte(platform)) {
		t.Fatalf("state file keeps the token or lacks the origin:\n%s", b)
	}
	if st, out, _ := r.call("GET", "/v1/status", platform, "", nil); st != 200 || out["paired"] != true {
		t.Fatalf("status after pairing: %d %v", st, out)
	}
	if st, out, _ := r.call("POST", "/v1/sign-login", platform, tok, map[string]any{"nonce": nonce}); st != 200 || out["signature"] == "" {
		t.Fatalf("sign-login paired: %d %v", st, out)
	}
	// The token is the origin's only: another allowed origin cannot use it.
	if st, out, _ := r.call("POST", "/v1/sign-login", "http://127.0.0.1:9", tok, map[string]any{"nonce": nonce}); st != 401 || code(out) != "agent.not_paired" {
		t.Fatalf("token from another origin: %d %v", st, out)
	}
	// A restarted agent keeps the pairing.
	again, err := agent.New(r.config)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(again.Handler())
	defer srv.Close()
	r.srv = srv
	if st, out, _ := r.call("POST", "/v1/sign-login", platform, tok, map[string]any{"nonce": nonce}); st != 200 {
		t.Fatalf("sign-login after a restart: %d %v", st, out)
	}
}

func TestSignPurposes(t *testing.T) {
	r := mustRig(t)
	tok := r.mustPair()
	sum := sha256.Sum256([]byte("开标记录"))
	digest := hex.EncodeToString(sum[:])
	session, member, inquiry := kaiping.NewID(), kaiping.NewID(), kaiping.NewID()
	cases := []struct {
		name string
		body map[string]any
		msg  []byte
	}{
		{"record", map[string]any{"purpose": "record", "digest": digest}, opening.RecordMessage(digest)},
		{"report", map[string]any{"purpose": "report", "digest": digest, "session": session, "member": member},
			evaluation.ReportMessage(session, member, digest, "")},
		{"report with dissent", map[string]any{"purpose": "report", "digest": digest, "session": session, "member": member, "dissent": "不同意第三名"},
			evaluation.ReportMessage(session, member, digest, "不同意第三名")},
		{"inquiry answer", map[string]any{"purpose": "inquiry_answer", "digest": digest, "inquiry": inquiry, "decision": "confirm"},
			evaluation.InquiryAnswerMessage(inquiry, digest, evaluation.DecisionConfirm)},
	}
	for _, c := range cases {
		st, out, _ := r.call("POST", "/v1/sign", platform, tok, c.body)
		if st != 200 {
			t.Errorf("%s: %d %v", c.name, st, out)
			continue
		}
		sig, _ := base64.StdEncoding.DecodeString(out["signature"].(string))
		if ok, err := certsign.Verify(r.who.Cert.PublicKey, c.msg, sig); !ok || err != nil {
			t.Errorf("%s: the signature does not verify over the purpose's message: %v", c.name, err)
		}
	}
	refused := []struct {
		name, code string
		body       map[string]any
	}{
		{"raw bytes", "agent.purpose_refused", map[string]any{"purpose": "raw", "digest": digest}},
		{"login through sign", "agent.purpose_refused", map[string]any{"purpose": "login", "digest": digest}},
		{"no purpose", "agent.purpose_refused", map[string]any{"digest": digest}},
		{"a message field", "agent.bad_request", map[string]any{"purpose": "record", "digest": digest, "message": "S0FJUElORw=="}},
		{"record with a report's field", "agent.bad_request", map[string]any{"purpose": "record", "digest": digest, "session": session}},
		{"upper-case digest", "agent.bad_field", map[string]any{"purpose": "record", "digest": strings.ToUpper(digest)}},
		{"short digest", "agent.bad_field", map[string]any{"purpose": "record", "digest": digest[:63]}},
		{"digest with a newline", "agent.bad_field", map[string]any{"purpose": "record", "digest": digest + "\nKAIPING"}},
		{"report without member", "agent.bad_field", map[string]any{"purpose": "report", "digest": digest, "session": session}},
		{"inquiry with another decision", "agent.bad_field", map[string]any{"purpose": "inquiry_answer", "digest": digest, "inquiry": inquiry, "decision": "maybe"}},
		{"inquiry id with a newline", "agent.bad_field", map[string]any{"purpose": "inquiry_answer", "digest": digest, "inquiry": "a\nb", "decision": "answer"}},
	}
	for _, c := range refused {
		if st, out, _ := r.call("POST", "/v1/sign", platform, tok, c.body); code(out) != c.code || st/100 != 4 {
			t.Errorf("%s: %d %v, want %s", c.name, st, out, c.code)
		}
	}
	for _, nonce := range []string{"", "a.b", "a.b.c\nKAIPING-RECORD-V1", strings.Repeat("a", 500) + ".b.c"} {
		if st, out, _ := r.call("POST", "/v1/sign-login", platform, tok, map[string]any{"nonce": nonce}); st != 400 || code(out) != "agent.bad_field" {
			t.Errorf("nonce %q: %d %v", nonce, st, out)
		}
	}
	if st, out, _ := r.call("GET", "/v1/sign", platform, tok, nil); st != 405 {
		t.Errorf("GET /v1/sign: %d %v", st, out)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	who, other := mustIssued(t, devpki.SM2), mustIssued(t, devpki.ECDSA)
	base := agent.Config{Certificate: who.CertPEM(), Key: who.Key, Origins: []string{platform},
		StatePath: filepath.Join(t.TempDir(), "s.json"), Clock: kaiping.SystemClock{}, ShowCode: func(string, string) {}}
	for name, tune := range map[string]func(*agent.Config){
		"another key":      func(c *agent.Config) { c.Key = other.Key },
		"no origin":        func(c *agent.Config) { c.Origins = nil },
		"origin with path": func(c *agent.Config) { c.Origins = []string{platform + "/hall"} },
		"not a url":        func(c *agent.Config) { c.Origins = []string{"kaiping.example.cn"} },
		"no certificate":   func(c *agent.Config) { c.Certificate = []byte("x") },
	} {
		c := base
		tune(&c)
		if _, err := agent.New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := agent.New(base); err != nil {
		t.Fatalf("good config: %v", err)
	}
}
