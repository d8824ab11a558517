package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/opening"
)

// TestBidReceiptTimeStamp: `kaiping bid receipt verify --tsa-cert` checks the receipt's
// RFC 3161 time-stamp offline against the TSA's certificate; a receipt made while the TSA
// was down says its stamp is pending, and `kaiping bid receipt time-stamp` fetches it into
// the receipt file once the TSA stamped it.
func TestBidReceiptTimeStamp(t *testing.T) {
	authority := devenv.StartTSA(t)
	// A clock the test moves past the failed attempt's back-off.
	clock := kaiping.NewManualClock(time.Now())
	w := mustBidWorldWith(t, func(c *app.Config) {
		c.TimeStamp.URL, c.TimeStamp.CertificateFile = authority.URL, authority.CAFile
	}, app.WithClock(clock))
	if out, err := w.bid(t, "register"); err != nil {
		t.Fatalf("register: %q %v", out, err)
	}
	fetch := func(receipt string) (string, error) {
		return run(t, "bid", "receipt", "time-stamp", "--receipt", receipt, "--server", w.base, "--cert", w.cert, "--key", w.key)
	}
	plain := filepath.Join(w.dir, "开标一览表.json")
	if err := os.WriteFile(plain, []byte(`{"price":"100.00"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	submit := func(name string) string {
		t.Helper()
		sealed := filepath.Join(w.dir, name)
		if out, err := w.bid(t, "seal", "--in", plain, "--out", sealed); err != nil {
			t.Fatalf("seal: %q %v", out, err)
		}
		if out, err := w.bid(t, "submit", "--file", sealed, "--quiet"); err != nil {
			t.Fatalf("submit: %q %v", out, err)
		}
		return sealed + ".receipt.json"
	}
	verify := func(receipt string) (string, error) {
		return run(t, "bid", "receipt", "verify", "--receipt", receipt, "--public-key", w.publicKey, "--tsa-cert", authority.CAFile)
	}

	stamped := submit("a.kpseal")
	if out, err := verify(stamped); err != nil || !strings.Contains(out, "时间戳有效") {
		t.Fatalf("verify a stamped receipt: %q %v", out, err)
	}
	// Against another TSA's certificate the stamp does not verify.
	other := devenv.StartTSA(t)
	if _, err := run(t, "bid", "receipt", "verify", "--receipt", stamped, "--public-key", w.publicKey, "--tsa-cert", other.CAFile); kaiping.CodeOf(err) != "receipt.time_stamp_invalid" {
		t.Errorf("verify against another TSA: %v", err)
	}

	authority.Down.Store(true)
	pending := submit("b.kpseal")
	if _, err := verify(pending); kaiping.CodeOf(err) != "receipt.time_stamp_pending" {
		t.Fatalf("verify a receipt made while the TSA was down: %v", err)
	}
	if _, err := fetch(pending); kaiping.CodeOf(err) != "receipt.time_stamp_pending" {
		t.Errorf("fetch before the TSA stamped it: %v", err)
	}
	authority.Down.Store(false)
	clock.Advance(10 * time.Second)
	if n, err := w.app.TimeStamps.StampDue(t.Context()); err != nil || n != 1 {
		t.Fatalf("StampDue: %d, %v", n, err)
	}
	if out, err := fetch(pending); err != nil {
		t.Fatalf("fetch the stamp: %q %v", out, err)
	}
	if out, err := verify(pending); err != nil || !strings.Contains(out, "时间戳有效") {
		t.Fatalf("verify once fetched: %q %v", out, err)
	}
	var rc opening.Receipt
	b, _ := os.ReadFile(pending)
	if err := json.Unmarshal(b, &rc); err != nil || rc.TimeStamp == nil || len(rc.TimeStamp.Token) == 0 {
		t.Fatalf("the receipt file: %v %+v", err, rc.TimeStamp)
	}
}
