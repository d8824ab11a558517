package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/devpki"
)

// TestEvaluationSignRefusals drives `kaiping evaluation sign` up to the refusals a server
// without a signing session gives: a session that does not exist (session.not_found), a
// caller who is no expert (auth.role_forbidden), a malformed session ID and a missing key
// refused before anything is sent; each signs nothing. (The signing itself, through the same
// clients/reviewer.SignReport on a session in signing, with a non-member refused
// session.not_member: TestReportSigningPage in cmd/kaiping/app.)
func TestEvaluationSignRefusals(t *testing.T) {
	w := mustBidWorld(t)
	ctx := context.Background()
	expert, err := w.setup.CA.Issue(devpki.ECDSA, "王评委", "某设计院", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	w.mustPrincipal(t, expert.CertPEM(), "王评委", kaiping.RoleExpert)
	certFile, keyFile := filepath.Join(w.dir, "expert.pem"), filepath.Join(w.dir, "expert.key")
	keyPEM, _ := expert.KeyPEM()
	if err := os.WriteFile(certFile, expert.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	signatures := func() int {
		t.Helper()
		var n int
		if err := w.app.DB.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM eval_report_signatures) +
			(SELECT count(*) FROM ledger_entries WHERE action = 'report.signed')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	sign := func(cert, key string, args ...string) error {
		_, err := run(t, append([]string{"evaluation", "sign", "--server", w.base, "--cert", cert, "--key", key}, args...)...)
		return err
	}
	for _, c := range []struct {
		name      string
		cert, key string
		args      []string
		want      string
	}{
		{"a session that does not exist", certFile, keyFile, []string{"--session", string(kaiping.NewID())}, "session.not_found"},
		{"a bidder, who sits on no committee", w.cert, w.key, []string{"--session", string(kaiping.NewID())}, "auth.role_forbidden"},
		{"a malformed session ID", certFile, keyFile, []string{"--session", "../sessions"}, "评标会议 ID"},
		{"no key", certFile, "", []string{"--session", string(kaiping.NewID()), "--dissent", "不同意"}, "--key"},
	} {
		if err := sign(c.cert, c.key, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
		if n := signatures(); n != 0 {
			t.Fatalf("%s left %d signatures", c.name, n)
		}
	}
}
