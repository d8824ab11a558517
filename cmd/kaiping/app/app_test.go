package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/httpapi"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/storage/ledger"
)

func TestMain(m *testing.M) { devenv.Main(m, devenv.NeedPostgres, devenv.NeedMinIO) }

// testApp is a kaiping server on 127.0.0.1:0 with its own database and buckets.
type testApp struct {
	*App
	setup *DevSetup
	clock *kaiping.ManualClock
	base  string
}

func mustSetup(tb testing.TB) *DevSetup {
	tb.Helper()
	return mustSetupOn(tb, devenv.Database(tb), devenv.MinIOServer(tb))
}

// mustSetupOn is mustSetup on the database and MinIO server given (a test's own servers).
func mustSetupOn(tb testing.TB, databaseURL string, m *devenv.MinIO) *DevSetup {
	tb.Helper()
	setup, err := NewDevSetup(tb.TempDir(), DevServers{
		DatabaseURL: databaseURL, BlobEndpoint: m.Endpoint, BlobAccess: m.AccessKey, BlobSecret: m.SecretKey,
	}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	setup.Config.Blob.BidsBucket = devenv.BucketName(tb)
	setup.Config.Blob.ArchiveBucket = devenv.BucketName(tb)
	setup.Config.Listen = "127.0.0.1:0"
	return setup
}

func mustApp(tb testing.TB) *testApp { return mustAppWith(tb, nil) }

// mustAppWith is mustApp with tune (if not nil) applied to the configuration once the
// app's address (PublicURL) is known.
func mustAppWith(tb testing.TB, tune func(*Config)) *testApp {
	tb.Helper()
	return mustAppFrom(tb, mustSetup(tb), slog.New(slog.NewTextHandler(io.Discard, nil)), tune)
}

// mustAppFrom is mustAppWith from a setup of the test's own, logging to log, with the
// options given.
func mustAppFrom(tb testing.TB, setup *DevSetup, log *slog.Logger, tune func(*Config), opts ...Option) *testApp {
	tb.Helper()
	clock := kaiping.NewManualClock(time.Now().Truncate(time.Second))
	// Listen first, so that the URLs the app hands out (media grants) name the real port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	setup.Config.PublicURL = "http://" + ln.Addr().String()
	if tune != nil {
		tune(&setup.Config)
	}
	// A five-minute confirmation period: a test that lets it run out (bidders who neither
	// confirm nor object keep all of it) stays inside the sessions' 30 minutes.
	hall := opening.DefaultHallConfig
	hall.ConfirmWindow = 5 * time.Minute
	a, err := New(context.Background(), setup.Config, append([]Option{WithClock(clock), WithLogger(log), WithHallConfig(hall)}, opts...)...)
	if err != nil {
		ln.Close()
		tb.Fatal(err)
	}
	go func() { _ = a.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	return &testApp{App: a, setup: setup, clock: clock, base: "http://" + ln.Addr().String()}
}

// ledgerSize is the number of audit entries of state changes, the whole ledger verified
// from the rows. Refused attempts (attempt.refused) are not counted: the tests that compare
// it before and after a refusal check that nothing changed; refusal_test.go counts those.
func (ta *testApp) ledgerSize(tb testing.TB) int64 {
	tb.Helper()
	r, err := ledger.Verify(context.Background(), ta.DB.Pool, ta.verifier(tb), ta.setup.Config.Ledger.Origin)
	if err != nil {
		tb.Fatalf("ledger does not verify: %v", err)
	}
	var refused int64
	if err := ta.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM ledger_entries
		WHERE action = 'attempt.refused' AND seq < $1`, r.Size).Scan(&refused); err != nil {
		tb.Fatal(err)
	}
	return r.Size - refused
}

// verifier checks signatures with the platform key of the app's configuration.
func (ta *testApp) verifier(tb testing.TB) ledger.Verifier {
	tb.Helper()
	b, err := os.ReadFile(ta.setup.Config.Ledger.SigningKeyFile)
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := ledger.ParseSigner(b)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := ledger.VerifierFor(signer)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func (ta *testApp) mustLogin(tb testing.TB, who *devpki.Issued) *apiclient.Client {
	tb.Helper()
	c := apiclient.New(ta.base)
	if _, err := c.Login(context.Background(), who.CertPEM(), who.Key); err != nil {
		tb.Fatalf("login %s: %v", who.Cert.Subject.CommonName, err)
	}
	return c
}

// mustRegister has the admin register a principal with a fresh certificate of alg.
// mustAssign has the administrator (logged in afresh: the test clock may have run past an
// older session) assign principal the duty on tender.
func (ta *testApp) mustAssign(tb testing.TB, tender, principal kaiping.ID, duty kaiping.Duty) kaiping.Assignment {
	tb.Helper()
	var asg kaiping.Assignment
	if err := ta.mustLogin(tb, ta.setup.Admin).Do(context.Background(), http.MethodPost, "/api/v1/tenders/"+string(tender)+"/staff",
		opening.AssignRequest{Principal: principal, Duty: duty}, &asg); err != nil {
		tb.Fatalf("assign %s as %s: %v", principal, duty, err)
	}
	return asg
}

// mustStaff lists the tender's assignments, as the administrator.
func (ta *testApp) mustStaff(tb testing.TB, tender kaiping.ID) []kaiping.Assignment {
	tb.Helper()
	var staff struct{ Staff []kaiping.Assignment }
	if err := ta.mustLogin(tb, ta.setup.Admin).Do(context.Background(), http.MethodGet, "/api/v1/tenders/"+string(tender)+"/staff", nil, &staff); err != nil {
		tb.Fatal(err)
	}
	return staff.Staff
}

// mustRevoke has the administrator revoke an assignment of the tender.
func (ta *testApp) mustRevoke(tb testing.TB, tender, assignment kaiping.ID) {
	tb.Helper()
	if err := ta.mustLogin(tb, ta.setup.Admin).Do(context.Background(), http.MethodPost,
		"/api/v1/tenders/"+string(tender)+"/staff/"+string(assignment)+"/revoke", nil, nil); err != nil {
		tb.Fatal(err)
	}
}

func (ta *testApp) mustRegister(tb testing.TB, admin *apiclient.Client, alg devpki.Algorithm, name string, roles ...kaiping.Role) *devpki.Issued {
	tb.Helper()
	now := ta.clock.Now()
	cert, err := ta.setup.CA.Issue(alg, name, "测试单位", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	if err != nil {
		tb.Fatal(err)
	}
	err = admin.Do(context.Background(), http.MethodPost, "/api/v1/principals",
		identity.NewPrincipal{Name: name, Roles: roles, Certificate: string(cert.CertPEM())}, nil)
	if err != nil {
		tb.Fatalf("register %s: %v", name, err)
	}
	return cert
}

func TestHealthReadyMetrics(t *testing.T) {
	ta := mustApp(t)
	internal := "http://" + ta.InternalAddr()
	tests := []struct {
		url    string
		status int
		want   string // in the body
		not    string // not in the body
	}{
		{ta.base + "/healthz", 200, `"status":"ok"`, ""},
		// The public answer says ready or not, never which database as whom.
		{ta.base + "/readyz", 200, `{"status":"ok"}`, "postgres"},
		{ta.base + "/metrics", 404, "route_not_found", "kaiping_http_requests_total"},
		{internal + "/readyz", 200, `"postgres":"ok"`, ""},
		{internal + "/metrics", 200, `kaiping_http_requests_total{method="GET",route="/healthz",status="200"} 1`, ""},
	}
	for _, tt := range tests {
		resp, err := http.Get(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.want) || (tt.not != "" && strings.Contains(string(body), tt.not)) {
			t.Errorf("%s: %s %s; want %d with %s and without %q", tt.url, resp.Status, body, tt.status, tt.want, tt.not)
		}
	}
}

func TestLoginAndRoles(t *testing.T) {
	ta := mustApp(t)
	ctx := context.Background()
	admin := ta.mustLogin(t, ta.setup.Admin)
	var me kaiping.Principal
	if err := admin.Do(ctx, http.MethodGet, "/api/v1/me", nil, &me); err != nil || !me.Has(kaiping.RoleAdmin) {
		t.Fatalf("admin /me = %+v, %v", me, err)
	}
	adminID := me.ID
	// One certificate per algorithm the provinces' CAs issue.
	for _, alg := range []devpki.Algorithm{devpki.SM2, devpki.ECDSA, devpki.RSA} {
		cert := ta.mustRegister(t, admin, alg, "投标人-"+string(alg), kaiping.RoleBidder)
		bidder := ta.mustLogin(t, cert)
		if err := bidder.Do(ctx, http.MethodGet, "/api/v1/me", nil, &me); err != nil || me.Name != "投标人-"+string(alg) || !me.Has(kaiping.RoleBidder) {
			t.Fatalf("%s bidder /me = %+v, %v", alg, me, err)
		}
	}
	// bootstrap admin, admin login, 3 × (register + login)
	if got := ta.ledgerSize(t); got != 8 {
		t.Errorf("ledger has %d entries, want 8", got)
	}
	var rows []struct{ action, operator, address string }
	r, err := ta.DB.Pool.Query(ctx, `SELECT action, operator, address FROM ledger_entries ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var x struct{ action, operator, address string }
		if err := r.Scan(&x.action, &x.operator, &x.address); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, x)
	}
	if rows[0].action != "principal.create" || rows[0].operator != "system" {
		t.Errorf("first entry %+v, want the system creating the bootstrap admin", rows[0])
	}
	if rows[1].action != "auth.login" || rows[1].operator != string(adminID) || rows[1].address != "127.0.0.1" {
		t.Errorf("second entry %+v, want the admin's login from 127.0.0.1", rows[1])
	}
	if rows[2].action != "principal.create" || rows[2].address != "127.0.0.1" {
		t.Errorf("third entry %+v, want the admin registering a bidder from 127.0.0.1", rows[2])
	}
}

// TestBadInput sends each kind of bad request and checks its status and code, and that the
// ledger did not grow (the request changed nothing).
func TestBadInput(t *testing.T) {
	ta := mustApp(t)
	ctx := context.Background()
	admin := ta.mustLogin(t, ta.setup.Admin)
	bidderCert := ta.mustRegister(t, admin, devpki.ECDSA, "某投标单位", kaiping.RoleBidder)
	bidder := ta.mustLogin(t, bidderCert)
	now := ta.clock.Now()
	stranger, err := devpki.NewCA(devpki.ECDSA, "Unknown CA", now.AddDate(-1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	strangerCert, _ := stranger.Issue(devpki.ECDSA, "冒充者", "x", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	expiredCert, _ := ta.setup.CA.Issue(devpki.ECDSA, "过期证书", "x", now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0))
	unregistered, _ := ta.setup.CA.Issue(devpki.SM2, "未登记", "x", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	otherKey, _ := devpki.NewKey(devpki.ECDSA)
	// The encryption half of an SM2 certificate pair: its key is escrowed by the CA.
	encryptionCert, err := ta.setup.CA.IssueWithUsage(devpki.SM2, "某投标单位（加密）", "x", now.Add(-time.Hour), now.AddDate(1, 0, 0),
		smx509.KeyUsageKeyEncipherment|smx509.KeyUsageDataEncipherment, nil)
	if err != nil {
		t.Fatal(err)
	}

	challenge := func() string {
		var ch identity.Challenge
		if err := apiclient.New(ta.base).Do(ctx, http.MethodPost, "/api/v1/auth/challenge", struct{}{}, &ch); err != nil {
			t.Fatal(err)
		}
		return ch.Nonce
	}
	login := func(cert []byte, nonce string, sig []byte) error {
		return apiclient.New(ta.base).Do(ctx, http.MethodPost, "/api/v1/auth/login", identity.LoginRequest{
			Certificate: string(cert), Nonce: nonce, Signature: base64.StdEncoding.EncodeToString(sig),
		}, nil)
	}
	signed := func(who *devpki.Issued) (string, []byte) {
		n := challenge()
		sig, err := identity.SignLogin(who.Key, n)
		if err != nil {
			t.Fatal(err)
		}
		return n, sig
	}
	raw := func(method, path, token, body string) error {
		return rawRequest(t, method, ta.base+path, token, body)
	}

	replayNonce, replaySig := signed(bidderCert)
	if err := login(bidderCert.CertPEM(), replayNonce, replaySig); err != nil {
		t.Fatalf("first use of the nonce: %v", err)
	}
	forged := []byte(bidder.Token)
	forged[len(forged)-3] ^= 1

	tests := []struct {
		name   string
		do     func() error
		status int
		code   string
	}{
		{"unknown CA", func() error { n, s := signed(strangerCert); return login(strangerCert.CertPEM(), n, s) }, 401, "auth.cert_untrusted"},
		{"expired certificate", func() error { n, s := signed(expiredCert); return login(expiredCert.CertPEM(), n, s) }, 401, "auth.cert_expired"},
		{"wrong signature", func() error {
			n := challenge()
			s, _ := identity.SignLogin(otherKey, n)
			return login(bidderCert.CertPEM(), n, s)
		}, 401, "auth.bad_signature"},
		{"signature over another nonce", func() error {
			_, s := signed(bidderCert)
			return login(bidderCert.CertPEM(), challenge(), s)
		}, 401, "auth.bad_signature"},
		{"replayed nonce", func() error { return login(bidderCert.CertPEM(), replayNonce, replaySig) }, 409, "auth.nonce_replayed"},
		{"made-up nonce", func() error { return login(bidderCert.CertPEM(), "n1.AAAA.BBBB", []byte("x")) }, 401, "auth.nonce_invalid"},
		{"SM2 encryption certificate", func() error {
			n, s := signed(encryptionCert)
			return login(encryptionCert.CertPEM(), n, s)
		}, 401, "auth.cert_usage"},
		{"register an SM2 encryption certificate", func() error {
			return admin.Do(ctx, http.MethodPost, "/api/v1/principals", identity.NewPrincipal{Name: "x", Roles: []kaiping.Role{kaiping.RoleBidder}, Certificate: string(encryptionCert.CertPEM())}, nil)
		}, 401, "auth.cert_usage"},
		{"unregistered certificate", func() error { n, s := signed(unregistered); return login(unregistered.CertPEM(), n, s) }, 403, "auth.cert_unregistered"},
		{"certificate not PEM", func() error { n, s := signed(bidderCert); return login([]byte("garbage"), n, s) }, 400, "auth.cert_malformed"},
		{"signature not base64", func() error {
			return raw("POST", "/api/v1/auth/login", "", `{"certificate":"x","nonce":"y","signature":"!!"}`)
		}, 400, "auth.signature_encoding"},
		{"missing fields", func() error { return raw("POST", "/api/v1/auth/login", "", `{"nonce":"y"}`) }, 400, "auth.fields_missing"},
		{"malformed JSON", func() error { return raw("POST", "/api/v1/auth/login", "", `{"nonce":`) }, 400, "request.malformed_json"},
		{"unknown field", func() error { return raw("POST", "/api/v1/auth/login", "", `{"nonse":"y"}`) }, 400, "request.unknown_field"},
		{"field name in another case", func() error { return raw("POST", "/api/v1/auth/login", "", `{"Nonce":"y"}`) }, 400, "request.key_case"},
		{"field twice", func() error {
			return raw("POST", "/api/v1/auth/login", "", `{"certificate":"x","nonce":"y","nonce":"z","signature":"AA=="}`)
		}, 400, "request.duplicate_key"},
		{"right-to-left override in a name", func() error {
			return admin.Do(ctx, http.MethodPost, "/api/v1/principals", identity.NewPrincipal{Name: "某\u202e司公", Roles: []kaiping.Role{kaiping.RoleBidder}, Certificate: string(unregistered.CertPEM())}, nil)
		}, 400, "text.bidi_control"},
		{"newline in a name", func() error {
			return admin.Do(ctx, http.MethodPost, "/api/v1/principals", identity.NewPrincipal{Name: "某\n公司", Roles: []kaiping.Role{kaiping.RoleBidder}, Certificate: string(unregistered.CertPEM())}, nil)
		}, 400, "text.control_character"},
		{"no token", func() error { return raw("GET", "/api/v1/me", "", "") }, 401, "auth.missing_token"},
		{"forged token", func() error { return raw("GET", "/api/v1/me", string(forged), "") }, 401, "auth.token_invalid"},
		{"a nonce used as a token", func() error { return raw("GET", "/api/v1/me", challenge(), "") }, 401, "auth.token_invalid"},
		{"bidder registers a principal", func() error {
			return bidder.Do(ctx, http.MethodPost, "/api/v1/principals", identity.NewPrincipal{Name: "x", Roles: []kaiping.Role{kaiping.RoleAdmin}, Certificate: string(unregistered.CertPEM())}, nil)
		}, 403, "auth.role_forbidden"},
		{"bidder lists principals", func() error { return bidder.Do(ctx, http.MethodGet, "/api/v1/principals", nil, nil) }, 403, "auth.role_forbidden"},
		{"register with an unknown role", func() error {
			return admin.Do(ctx, http.MethodPost, "/api/v1/principals", identity.NewPrincipal{Name: "x", Roles: []kaiping.Role{"king"}, Certificate: string(unregistered.CertPEM())}, nil)
		}, 400, "principal.role_unknown"},
		{"register a certificate twice", func() error {
			return admin.Do(ctx, http.MethodPost, "/api/v1/principals", identity.NewPrincipal{Name: "x", Roles: []kaiping.Role{kaiping.RoleBidder}, Certificate: string(bidderCert.CertPEM())}, nil)
		}, 409, "principal.certificate_taken"},
		{"register a certificate of an unknown CA", func() error {
			return admin.Do(ctx, http.MethodPost, "/api/v1/principals", identity.NewPrincipal{Name: "x", Roles: []kaiping.Role{kaiping.RoleBidder}, Certificate: string(strangerCert.CertPEM())}, nil)
		}, 401, "auth.cert_untrusted"},
		{"unknown route", func() error { return raw("GET", "/api/v1/nothing", "", "") }, 404, "route_not_found"},
	}
	before := ta.ledgerSize(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			var ae *apiclient.Error
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an API error %d %s", err, tt.status, tt.code)
			}
			if ae.Status != tt.status || ae.Code != tt.code {
				t.Fatalf("got %d %s (%s), want %d %s", ae.Status, ae.Code, ae.Message, tt.status, tt.code)
			}
			if ae.Message == "" {
				t.Error("no readable message")
			}
		})
	}
	if after := ta.ledgerSize(t); after != before {
		t.Errorf("ledger grew from %d to %d entries on refused requests", before, after)
	}

	// Time-based refusals, with the injected clock.
	n, s := signed(bidderCert)
	ta.clock.Advance(3 * time.Minute) // past the 2-minute nonce lifetime
	if err := login(bidderCert.CertPEM(), n, s); apiCode(err) != "auth.nonce_expired" {
		t.Errorf("late answer to a challenge: %v, want auth.nonce_expired", err)
	}
	ta.clock.Advance(30 * time.Minute) // past the 30-minute session
	if err := bidder.Do(ctx, http.MethodGet, "/api/v1/me", nil, nil); apiCode(err) != "auth.token_expired" {
		t.Errorf("expired session: %v, want auth.token_expired", err)
	}
}

func apiCode(err error) string {
	var ae *apiclient.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// rawRequest sends body exactly as given (malformed or not) and returns the error answer as
// an *apiclient.Error, or nil for a 2xx answer.
func rawRequest(tb testing.TB, method, url, token, body string) error {
	tb.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	var eb httpapi.ErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil {
		tb.Fatalf("%s %s: %s with a body that is not an error body: %v", method, url, resp.Status, err)
	}
	return &apiclient.Error{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
}

// metricsURL is where the app serves its Prometheus metrics.
func (ta *testApp) metricsURL() string { return "http://" + ta.InternalAddr() + "/metrics" }
