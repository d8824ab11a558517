package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/agent"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
)

// runningAgent is a signing agent on loopback for the app's pages, with the codes it shows.
type runningAgent struct {
	port  int
	url   string
	codes chan string
}

func mustAgent(tb testing.TB, ta *testApp, who *devpki.Issued) *runningAgent {
	tb.Helper()
	ra := &runningAgent{codes: make(chan string, 4)}
	a, err := agent.New(agent.Config{Certificate: who.CertPEM(), Key: who.Key, Origins: []string{ta.base},
		StatePath: filepath.Join(tb.TempDir(), "agent-state.json"), Clock: kaiping.SystemClock{}, Version: "test",
		ShowCode: func(_, code string) { ra.codes <- code }})
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := agent.Listen(0)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("agent: %v", err)
		}
	})
	ra.port = ln.Addr().(*net.TCPAddr).Port
	ra.url = "http://" + ln.Addr().String()
	return ra
}

// post sends body to the agent from origin with the pairing token tok.
func (ra *runningAgent) post(tb testing.TB, path, origin, tok string, body, out any) int {
	tb.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, ra.url+path, bytes.NewReader(b))
	req.Header.Set("Origin", origin)
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode
}

// TestAgentSignLogin: the login the agent signs opens an authenticated route of the real
// app; what it signs for another purpose does not log in.
func TestAgentSignLogin(t *testing.T) {
	ta := mustApp(t)
	admin := ta.mustLogin(t, ta.setup.Admin)
	who := ta.mustRegister(t, admin, devpki.SM2, "甲公司", kaiping.RoleBidder)
	ra := mustAgent(t, ta, who)
	ctx := context.Background()

	var pr agent.PairResponse
	ra.post(t, "/v1/pair", ta.base, "", struct{}{}, &pr)
	if st := ra.post(t, "/v1/pair", ta.base, "", agent.PairRequest{Code: <-ra.codes}, &pr); st != 200 || pr.Token == "" {
		t.Fatalf("pair: %d %+v", st, pr)
	}
	c := apiclient.New(ta.base)
	var ch identity.Challenge
	if err := c.Do(ctx, http.MethodPost, "/api/v1/auth/challenge", struct{}{}, &ch); err != nil {
		t.Fatal(err)
	}
	var signed agent.SignLoginResponse
	if st := ra.post(t, "/v1/sign-login", ta.base, pr.Token, agent.SignLoginRequest{Nonce: ch.Nonce}, &signed); st != 200 {
		t.Fatalf("sign-login: %d %+v", st, signed)
	}
	var sess identity.Session
	if err := c.Do(ctx, http.MethodPost, "/api/v1/auth/login", signed, &sess); err != nil {
		t.Fatalf("login with the agent's signature: %v", err)
	}
	c.Token = sess.Token
	var me kaiping.Principal
	if err := c.Do(ctx, http.MethodGet, "/api/v1/me", nil, &me); err != nil || me.Name != "甲公司" {
		t.Fatalf("GET /api/v1/me with the agent's session: %+v, %v", me, err)
	}

	// A record confirmation over the same nonce's bytes is not a login.
	if err := c.Do(ctx, http.MethodPost, "/api/v1/auth/challenge", struct{}{}, &ch); err != nil {
		t.Fatal(err)
	}
	var rec agent.SignResponse
	digest := strings.Repeat("ab", 32)
	if st := ra.post(t, "/v1/sign", ta.base, pr.Token, agent.SignRequest{Purpose: agent.PurposeRecord, Digest: digest}, &rec); st != 200 {
		t.Fatalf("sign a record: %d", st)
	}
	err := apiclient.New(ta.base).Do(ctx, http.MethodPost, "/api/v1/auth/login",
		identity.LoginRequest{Certificate: signed.Certificate, Nonce: ch.Nonce, Signature: rec.Signature}, nil)
	if ae, ok := err.(*apiclient.Error); !ok || ae.Code != "auth.bad_signature" {
		t.Fatalf("login with a record signature: %v", err)
	}
}

// TestAgentPageLogin: a page opened without a token in its address pairs with the agent
// (the user types the code it shows), logs in through it and renews its session before it
// expires; a second tab of the same site then logs in through the agent without a code.
func TestAgentPageLogin(t *testing.T) {
	ta := mustAppWith(t, func(c *Config) { c.Auth.SessionTTL = Duration(time.Minute) })
	admin := ta.mustLogin(t, ta.setup.Admin)
	who := ta.mustRegister(t, admin, devpki.SM2, "甲公司", kaiping.RoleBidder)
	ra := mustAgent(t, ta, who)
	br := mustBrowser(t)
	port := "#agent_port=" + strconv.Itoa(ra.port)

	pg := br.open(t, ta.base+"/"+port)
	pg.waitText("main", "配对码")
	var code string
	select {
	case code = <-ra.codes:
	case <-time.After(pageTimeout):
		t.Fatal("the agent showed no pairing code")
	}
	// A wrong code first: the page says so and stays unpaired.
	wrong := []byte(code)
	wrong[5] = '0' + (wrong[5]-'0'+1)%10
	pg.run(chromedp.SendKeys("#agent-code", string(wrong), chromedp.ByQuery), chromedp.Click("#agent-pair", chromedp.ByQuery))
	pg.waitText("main", "配对码不正确")
	// Sessions that end seconds from now, so that the renewal comes within the test.
	ta.clock.Set(time.Now().Add(-55 * time.Second))
	pg.run(chromedp.SetValue("#agent-code", code, chromedp.ByQuery), chromedp.Click("#agent-pair", chromedp.ByQuery))
	pg.waitText("#session-state", "当前标签页已登录：甲公司")
	var first string
	pg.eval(`sessionStorage.getItem("kaiping.session")`, &first)
	if first == "" {
		t.Fatal("no session in the tab")
	}
	if strings.Contains(pg.text("body"), code) {
		t.Error("the page shows the pairing code")
	}

	// The renewal: a new session before the first one's end, and it opens /api/v1/me.
	var renewed string
	pg.run(chromedp.Evaluate(`new Promise((resolve) => {
		const now = sessionStorage.getItem("kaiping.session");
		if (now !== `+jsString(first)+`) resolve(now);
		document.addEventListener("kaiping:renewed", () => resolve(sessionStorage.getItem("kaiping.session")), { once: true });
	})`, &renewed, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if renewed == first || renewed == "" {
		t.Fatalf("the session was not renewed: %q", renewed)
	}
	c := apiclient.New(ta.base)
	c.Token = renewed
	var me kaiping.Principal
	if err := c.Do(context.Background(), http.MethodGet, "/api/v1/me", nil, &me); err != nil || me.Name != "甲公司" {
		t.Fatalf("the renewed session: %+v %v", me, err)
	}

	// Another tab of the site: paired already, it logs in without a code, then the page goes on
	// (here to say that a bidder may not use the expert's page).
	ta.clock.Set(time.Now())
	other := br.open(t, ta.base+"/evaluation/expert.html")
	other.waitText("main", "无权使用本页面")
	other.waitText("#who", "甲公司")
	if len(ra.codes) != 0 {
		t.Error("the second tab had a code shown")
	}
}
