package app

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
	"github.com/kaiping/kaiping/timekeeping/tsa"
)

// TestReceiptTimeStamps: with a TSA configured, a receipt carries the TSA's token over its
// ledger entry, which verifies offline against the TSA's CA. With the TSA down the bid is
// still accepted and receipted, its stamp pending; once the TSA is back the pending stamp
// is given and the bidder fetches it (nobody else can). Every archived opening record gets
// its stamp too.
func TestReceiptTimeStamps(t *testing.T) {
	authority := devenv.StartTSA(t)
	ta := mustAppWith(t, func(c *Config) {
		c.TimeStamp.URL, c.TimeStamp.CertificateFile = authority.URL, authority.CAFile
	})
	w := mustHallWorldIn(t, ta, 3, nil)
	ctx := context.Background()
	submit := func(b *hallBidder, price string) opening.Receipt {
		t.Helper()
		file := sealTo(t, seal.Binding{Tender: w.tender.ID, Section: w.section.ID, Bidder: b.id, Kind: seal.Summary},
			summaryJSON(price, 180), certRecipient(t, b.cert))
		rc, err := bidder.NewSubmitter(b.c).Submit(ctx, string(w.tender.ID), "BD1", "summary", bytes.NewReader(file), mustChecked(t, file, b.cert))
		if err != nil {
			t.Fatalf("%s submits: %v", b.name, err)
		}
		return rc
	}

	stamped := submit(w.bidders[0], "9800000")
	if stamped.TimeStamp == nil || stamped.TimeStamp.Pending {
		t.Fatalf("receipt with the TSA up: %+v", stamped.TimeStamp)
	}
	at, err := bidder.VerifyReceiptTimeStamp(stamped, authority.Roots)
	if err != nil || time.Until(at).Abs() > time.Minute {
		t.Fatalf("the stamp does not verify: %v (at %v)", err, at)
	}
	// Another receipt's ledger entry under this token does not verify.
	forged := stamped
	forged.Ledger.Leaf = append([]byte(nil), stamped.Ledger.Leaf...)
	forged.Ledger.Leaf[len(forged.Ledger.Leaf)-2] ^= 1
	if _, err := bidder.VerifyReceiptTimeStamp(forged, authority.Roots); kaiping.CodeOf(err) != "receipt.time_stamp_invalid" {
		t.Errorf("a changed ledger entry: %v", err)
	}
	if _, err := bidder.VerifyReceiptTimeStamp(stamped, x509.NewCertPool()); kaiping.CodeOf(err) != "receipt.time_stamp_invalid" {
		t.Errorf("against another TSA: %v", err)
	}

	authority.Down.Store(true)
	pending := submit(w.bidders[1], "9700000")
	if pending.TimeStamp == nil || !pending.TimeStamp.Pending || len(pending.Envelopes) != 1 {
		t.Fatalf("receipt with the TSA down: %+v", pending.TimeStamp)
	}
	if _, err := bidder.VerifyReceiptTimeStamp(pending, authority.Roots); kaiping.CodeOf(err) != "receipt.time_stamp_pending" {
		t.Errorf("verifying a pending stamp: %v", err)
	}
	stampPath := "/api/v1/receipts/" + strconv.FormatInt(pending.Ledger.Seq, 10) + "/time-stamp"
	var ts opening.TimeStamp
	if err := w.bidders[1].c.Do(ctx, http.MethodGet, stampPath, nil, &ts); err != nil || !ts.Pending {
		t.Fatalf("the pending stamp: %+v %v", ts, err)
	}
	if err := w.bidders[0].c.Do(ctx, http.MethodGet, stampPath, nil, &ts); apiCode(err) != "receipt.not_found" {
		t.Errorf("another bidder asks for the stamp: %v", err)
	}
	submit(w.bidders[2], "9600000") // the TSA is still down: pending too

	authority.Down.Store(false)
	if n, err := ta.TimeStamps.StampDue(ctx); err != nil || n != 1 {
		t.Fatalf("StampDue: %d stamped, %v; want the one not tried yet (the failed one backs off 10s)", n, err)
	}
	ta.clock.Advance(10 * time.Second)
	if n, err := ta.TimeStamps.StampDue(ctx); err != nil || n != 1 {
		t.Fatalf("StampDue: %d stamped, %v; want the one that failed", n, err)
	}
	ts = opening.TimeStamp{}
	if err := w.bidders[1].c.Do(ctx, http.MethodGet, stampPath, nil, &ts); err != nil || ts.Pending {
		t.Fatalf("the stamp once given: %+v %v", ts, err)
	}
	pending.TimeStamp = &ts
	if _, err := bidder.VerifyReceiptTimeStamp(pending, authority.Roots); err != nil {
		t.Fatalf("the stamp given later: %v", err)
	}

	// The archived records: published, exported, stamped.
	w.sealNow(t)
	st := w.mustDecryptRound(t, w.bidders, 3)
	w.ta.clock.Set(*st.WindowClosesAt)
	if err := w.ta.Hall.Due(ctx); err != nil {
		t.Fatal(err)
	}
	w.relogin(t)
	exports := w.waitExports(t, 2)
	if n, err := ta.TimeStamps.StampDue(ctx); err != nil || n != len(exports) {
		t.Fatalf("StampDue after the export: %d, %v; want %d", n, err, len(exports))
	}
	var out struct {
		TimeStamps []opening.RecordTimeStamp `json:"time_stamps"`
	}
	if err := w.bidders[2].c.Do(ctx, http.MethodGet, w.hallPath("/record/time-stamps"), nil, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.TimeStamps) != len(exports) {
		t.Fatalf("%d record stamps for %d exports", len(out.TimeStamps), len(exports))
	}
	for _, x := range out.TimeStamps {
		digest, _ := hex.DecodeString(x.SHA256)
		if x.TimeStamp.Pending || x.TimeStamp.Digest != x.SHA256 {
			t.Errorf("the stamp of %s: %+v", x.ObjectKey, x.TimeStamp)
		}
		if _, err := tsa.Verify(x.TimeStamp.Token, digest, authority.Roots); err != nil {
			t.Errorf("the stamp of %s: %v", x.ObjectKey, err)
		}
	}
	if _, err := ta.DB.Pool.Exec(ctx, `UPDATE time_stamps SET token = '\x00' WHERE subject = $1`, opening.ReceiptSubject(stamped.Ledger.Seq)); err == nil {
		t.Error("a stored token was replaced")
	}
}
