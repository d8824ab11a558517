package app

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/httpapi"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
)

// TestLoginThrottle: failed logins are counted per address and, when the certificate's key
// signed the attempt, per certificate; past either limit login answers 429 auth.throttled with
// Retry-After until the window has passed. Attempts are sent through the test as a trusted
// proxy, from the addresses its X-Forwarded-For names.
func TestLoginThrottle(t *testing.T) {
	ta := mustAppWith(t, func(c *Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Auth.MaxFailuresPerAddress = 3
		c.Auth.MaxFailuresPerCertificate = 2
	})
	ctx := context.Background()
	// Through the proxy, as every request to this app must come.
	admin := apiclient.New(ta.base)
	admin.HTTP = &http.Client{Transport: forwarding{"198.51.100.7"}}
	if _, err := admin.Login(ctx, ta.setup.Admin.CertPEM(), ta.setup.Admin.Key); err != nil {
		t.Fatal(err)
	}
	victim := ta.mustRegister(t, admin, devpki.SM2, "某投标单位", kaiping.RoleBidder)
	now := ta.clock.Now()
	unregistered, err := ta.setup.CA.Issue(devpki.ECDSA, "未登记", "x", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	wrongKey, _ := devpki.NewKey(devpki.SM2)

	login := func(from string, certPEM []byte, key crypto.Signer) (int, string, string) {
		post := func(path string, in, out any) (int, string, string) {
			b, _ := json.Marshal(in)
			req, _ := http.NewRequest(http.MethodPost, ta.base+path, bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", from)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				var eb httpapi.ErrorBody
				_ = json.NewDecoder(resp.Body).Decode(&eb)
				return resp.StatusCode, eb.Error.Code, resp.Header.Get("Retry-After")
			}
			_ = json.NewDecoder(resp.Body).Decode(out)
			return 200, "", ""
		}
		var ch identity.Challenge
		if st, code, _ := post("/api/v1/auth/challenge", struct{}{}, &ch); st != 200 {
			t.Fatalf("challenge: %d %s", st, code)
		}
		sig, err := identity.SignLogin(key, ch.Nonce)
		if err != nil {
			t.Fatal(err)
		}
		return post("/api/v1/auth/login", identity.LoginRequest{Certificate: string(certPEM), Nonce: ch.Nonce,
			Signature: base64.StdEncoding.EncodeToString(sig)}, &identity.Session{})
	}
	type attempt struct {
		name       string
		from       string
		cert       []byte
		key        crypto.Signer
		status     int
		code       string
		retryAfter string
	}
	steps := []attempt{
		// Someone with the victim's (public) certificate but not its key, from one address.
		{"forged 1", "203.0.113.1", victim.CertPEM(), wrongKey, 401, "auth.bad_signature", ""},
		{"forged 2", "203.0.113.1", victim.CertPEM(), wrongKey, 401, "auth.bad_signature", ""},
		{"forged 3", "203.0.113.1", victim.CertPEM(), wrongKey, 401, "auth.bad_signature", ""},
		{"that address is throttled", "203.0.113.1", victim.CertPEM(), victim.Key, 429, "auth.throttled", "900"},
		// Unsigned failures do not count against the certificate: its holder is not locked out.
		{"the victim elsewhere", "203.0.113.2", victim.CertPEM(), victim.Key, 200, "", ""},
		// Failures the certificate's key signed count against it, from any address.
		{"unregistered 1", "203.0.113.3", unregistered.CertPEM(), unregistered.Key, 403, "auth.cert_unregistered", ""},
		{"unregistered 2", "203.0.113.4", unregistered.CertPEM(), unregistered.Key, 403, "auth.cert_unregistered", ""},
		{"that certificate is throttled", "203.0.113.5", unregistered.CertPEM(), unregistered.Key, 429, "auth.throttled", "900"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			status, code, retry := login(st.from, st.cert, st.key)
			if status != st.status || code != st.code || retry != st.retryAfter {
				t.Fatalf("%d %s Retry-After %q, want %d %s %q", status, code, retry, st.status, st.code, st.retryAfter)
			}
		})
	}
	// Every refusal but the throttle's is recorded, none in the ledger.
	var n int
	if err := ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM failed_logins`).Scan(&n); err != nil || n != 5 {
		t.Errorf("failed_logins has %d rows (%v), want 5", n, err)
	}
	if err := ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE action LIKE 'auth.%' AND action <> 'auth.login'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d failed logins in the ledger (%v)", n, err)
	}
	// The window passes: the certificate and the address may try again.
	ta.clock.Advance(15 * time.Minute)
	if status, code, _ := login("203.0.113.5", unregistered.CertPEM(), unregistered.Key); code != "auth.cert_unregistered" {
		t.Errorf("after the window: %d %s, want auth.cert_unregistered", status, code)
	}
	if status, code, _ := login("203.0.113.1", victim.CertPEM(), victim.Key); status != 200 {
		t.Errorf("the address after the window: %d %s", status, code)
	}
}
