package app

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

func (w *submissionWorld) path(rest string) string {
	return "/api/v1/tenders/" + string(w.tender.ID) + "/sections/BD1" + rest
}

func (w *submissionWorld) status(tb testing.TB, c *apiclient.Client) opening.BidStatus {
	tb.Helper()
	var st opening.BidStatus
	if err := c.Do(context.Background(), http.MethodGet, w.path("/bids/mine"), nil, &st); err != nil {
		tb.Fatal(err)
	}
	return st
}

func (w *submissionWorld) withdraw(c *apiclient.Client) (opening.Receipt, error) {
	var rc opening.Receipt
	err := c.Do(context.Background(), http.MethodPost, w.path("/withdrawal"), nil, &rc)
	return rc, err
}

// startUpload opens an upload for file without sending anything.
func (w *submissionWorld) startUpload(tb testing.TB, c *apiclient.Client, file []byte) opening.UploadTicket {
	tb.Helper()
	var tk opening.UploadTicket
	if err := c.Do(context.Background(), http.MethodPost, w.path("/uploads"), declared(file, "summary"), &tk); err != nil {
		tb.Fatal(err)
	}
	return tk
}

func states(envs []opening.Envelope) []string {
	var out []string
	for _, e := range envs {
		out = append(out, fmt.Sprintf("v%d:%s", e.Version, e.State))
	}
	return out
}

// TestWithdrawAndStatus: a bidder sees its own versions and their states, withdraws with a
// verifiable receipt, may bid again, and sees nothing of another bidder.
func TestWithdrawAndStatus(t *testing.T) {
	w := mustSubmissionWorld(t)
	for _, price := range []string{"100", "90"} {
		if _, err := w.submit(w.bidder, mustSeal(t, w.binding(seal.Summary), []byte(price), w.bidderCert), ""); err != nil {
			t.Fatal(err)
		}
	}
	if got := states(w.status(t, w.bidder).Envelopes); !slices.Equal(got, []string{"v1:superseded", "v2:current"}) {
		t.Errorf("after a replacement: %v", got)
	}
	if st := w.status(t, w.otherBidder); len(st.Envelopes) != 0 || len(st.Uploads) != 0 {
		t.Errorf("another bidder's status shows %+v", st)
	}
	if _, err := w.withdraw(w.otherBidder); apiCode(err) != "bid.nothing_to_withdraw" {
		t.Errorf("withdrawing nothing: %v", err)
	}

	rc, err := w.withdraw(w.bidder)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Action != "bid.withdraw" || len(rc.Envelopes) != 1 || rc.Envelopes[0].Version != 2 || rc.Envelopes[0].State != "withdrawn" {
		t.Errorf("withdrawal receipt %+v", rc)
	}
	if err := bidder.VerifyReceipt(rc, w.ta.verifier(t)); err != nil {
		t.Errorf("withdrawal receipt does not verify: %v", err)
	}
	if got := states(w.status(t, w.bidder).Envelopes); !slices.Equal(got, []string{"v1:superseded", "v2:withdrawn"}) {
		t.Errorf("after withdrawing: %v", got)
	}
	if _, err := w.withdraw(w.bidder); apiCode(err) != "bid.nothing_to_withdraw" {
		t.Errorf("withdrawing twice: %v", err)
	}
	if _, err := w.submit(w.bidder, mustSeal(t, w.binding(seal.Summary), []byte("95"), w.bidderCert), ""); err != nil {
		t.Fatalf("bidding again after a withdrawal: %v", err)
	}
	if got := states(w.status(t, w.bidder).Envelopes); !slices.Equal(got, []string{"v1:superseded", "v2:withdrawn", "v3:current"}) {
		t.Errorf("after bidding again: %v", got)
	}

	w.ta.clock.Set(w.deadline)
	if _, err := w.withdraw(w.bidder); apiCode(err) != "bid.deadline_passed" {
		t.Errorf("withdrawing at the deadline: %v", err)
	}
	if got := states(w.status(t, w.bidder).Envelopes); !slices.Equal(got, []string{"v1:superseded", "v2:withdrawn", "v3:current"}) {
		t.Errorf("a late withdrawal changed the bid: %v", got)
	}
}

// TestNotRegistered: a bidder who did not register for the section cannot start an upload
// or withdraw.
func TestNotRegistered(t *testing.T) {
	w := mustSubmissionWorld(t)
	cert := w.ta.mustRegister(t, w.admin, devpki.ECDSA, "丙公司", kaiping.RoleBidder)
	stranger := w.ta.mustLogin(t, cert)
	err := stranger.Do(context.Background(), http.MethodPost, w.path("/uploads"),
		opening.StartUploadRequest{Kind: "summary", Size: 10, SHA256: sha256Hex([]byte("x"))}, nil)
	if apiCode(err) != "bid.not_registered" {
		t.Errorf("unregistered bidder started an upload: %v", err)
	}
	if _, err := w.withdraw(stranger); apiCode(err) != "bid.not_registered" {
		t.Errorf("unregistered bidder withdrew: %v", err)
	}
}

// TestConcurrentSubmitsOneBidder: two completions by one bidder at the same moment both
// succeed, one after the other, and exactly one envelope is current.
func TestConcurrentSubmitsOneBidder(t *testing.T) {
	w := mustSubmissionWorld(t)
	ctx := context.Background()
	files := [][]byte{
		mustSeal(t, w.binding(seal.Summary), []byte("100"), w.bidderCert),
		mustSeal(t, w.binding(seal.Summary), []byte("99"), w.bidderCert),
	}
	tickets := []opening.UploadTicket{w.startUpload(t, w.bidder, files[0]), w.startUpload(t, w.bidder, files[1])}
	var wg sync.WaitGroup
	receipts := make([]opening.Receipt, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			receipts[i], errs[i] = bidder.NewSubmitter(w.bidder).Finish(ctx, tickets[i], bytes.NewReader(files[i]), mustChecked(t, files[i], w.bidderCert))
		})
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("concurrent submits: %v, %v", errs[0], errs[1])
	}
	versions := []int{receipts[0].Envelopes[0].Version, receipts[1].Envelopes[0].Version}
	slices.Sort(versions)
	if !slices.Equal(versions, []int{1, 2}) {
		t.Errorf("versions %v, want 1 and 2", versions)
	}
	current := 0
	for _, e := range w.status(t, w.bidder).Envelopes {
		if e.State == opening.EnvelopeCurrent {
			current++
		}
	}
	if current != 1 {
		t.Errorf("%d current envelopes, want 1", current)
	}
}

// TestBidSetSealed: SealSettle after the deadline, with no completion in flight, the
// section's current envelopes are committed into the ledger; uploads never completed are aborted and leave nothing in
// storage; nothing about the set can change afterwards, not even by hand in SQL.
func TestBidSetSealed(t *testing.T) {
	w := mustSubmissionWorld(t)
	ctx := context.Background()
	mine, err := w.submit(w.bidder, mustSeal(t, w.binding(seal.Summary), []byte("100"), w.bidderCert), "")
	if err != nil {
		t.Fatal(err)
	}
	otherBinding := w.binding(seal.Summary)
	otherBinding.Bidder = w.otherID
	if _, err := w.submit(w.otherBidder, mustSeal(t, otherBinding, []byte("1"), w.otherCert), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := w.withdraw(w.otherBidder); err != nil {
		t.Fatal(err)
	}
	never := w.startUpload(t, w.bidder, mustSeal(t, w.binding(seal.Summary), []byte("never sent"), w.bidderCert))

	if err := w.bidder.Do(ctx, http.MethodGet, w.path("/bid-set"), nil, nil); apiCode(err) != "bidset.not_sealed" {
		t.Errorf("bid set before the deadline: %v", err)
	}
	w.ta.clock.Set(w.deadline.Add(opening.SealSettle - time.Nanosecond))
	if sets, err := w.ta.Submit.SealDue(ctx); err != nil || len(sets) != 0 {
		t.Fatalf("sealed before the deadline had settled: %v, %v", sets, err)
	}
	w.ta.clock.Set(w.deadline.Add(opening.SealSettle))
	if _, err := w.ta.Submit.SealDue(ctx); err != nil {
		t.Fatal(err)
	}
	// Both sections of the tender are sealed (here or by the server's own sealer); BD2 is
	// empty.
	var sealed int
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM bid_sets WHERE tender_id = $1`, w.tender.ID).Scan(&sealed); err != nil || sealed != 2 {
		t.Fatalf("sealed %d sets (%v), want 2", sealed, err)
	}
	var set opening.BidSet
	if err := w.host.Do(ctx, http.MethodGet, w.path("/bid-set"), nil, &set); err != nil {
		t.Fatal(err)
	}
	if set.Envelopes != 1 || set.Bidders != 1 || !slices.Equal(set.Digests, []string{mine.Envelopes[0].SHA256}) ||
		set.Digest != opening.BidSetDigest(set.Digests) {
		t.Errorf("bid set %+v: want only the current envelope", set)
	}
	if st := w.status(t, w.bidder); !st.InBidSet || st.BidSet == nil || len(st.Uploads) != 0 {
		t.Errorf("bidder's status after sealing: %+v", st)
	}
	if sets, err := w.ta.Submit.SealDue(ctx); err != nil || len(sets) != 0 {
		t.Errorf("sealing again: %v, %v", sets, err)
	}

	// The upload never completed was aborted, recorded, and left nothing in storage.
	var state, reason string
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT state, end_reason FROM bid_uploads WHERE id = $1`, never.Upload.ID).Scan(&state, &reason); err != nil ||
		state != "aborted" || reason != "abandoned" {
		t.Errorf("never-completed upload: %s %s %v", state, reason, err)
	}
	if left, err := w.ta.Blob.ListIncomplete(ctx, w.ta.setup.Config.Blob.BidsBucket, ""); err != nil || len(left) != 0 {
		t.Errorf("incomplete uploads in storage after sealing: %v %v", left, err)
	}

	// Frozen: the database refuses any change to the section's envelopes or to the set.
	for _, sql := range []string{
		`UPDATE bid_envelopes SET withdrawn_at = now() WHERE section_id = '` + string(w.section.ID) + `'`,
		`DELETE FROM bid_envelopes WHERE section_id = '` + string(w.section.ID) + `'`,
		`UPDATE bid_sets SET envelopes = 5`,
		`DELETE FROM bid_sets`,
	} {
		if _, err := w.ta.DB.Pool.Exec(ctx, sql); err == nil {
			t.Errorf("%s: allowed after sealing", sql)
		}
	}
	// And the ledger holds the commitment.
	var detail string
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT convert_from(detail, 'UTF8') FROM ledger_entries WHERE seq = $1 AND action = 'bid.set_seal'`,
		set.LedgerSeq).Scan(&detail); err != nil || !bytes.Contains([]byte(detail), []byte(set.Digest)) {
		t.Errorf("ledger entry of the seal: %s, %v", detail, err)
	}
	w.ta.ledgerSize(t)
}

// TestSealRace: sealers running at once (replicas, or the server's own sealer beside an
// operator's) seal each section once, also a section nobody registered for, which has no
// registration row to wait on: no sealer fails and each set has one ledger entry.
func TestSealRace(t *testing.T) {
	w := mustSubmissionWorld(t)
	ctx := context.Background()
	if _, err := w.submit(w.bidder, mustSeal(t, w.binding(seal.Summary), []byte("100"), w.bidderCert), ""); err != nil {
		t.Fatal(err)
	}
	w.ta.clock.Set(w.deadline.Add(opening.SealSettle))
	const sealers = 8
	errs := make(chan error, sealers)
	for range sealers {
		go func() {
			_, err := w.ta.Submit.SealDue(ctx)
			errs <- err
		}()
	}
	for range sealers {
		if err := <-errs; err != nil {
			t.Errorf("a sealer failed: %v", err)
		}
	}
	var sets, entries int
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM bid_sets WHERE tender_id = $1`, w.tender.ID).Scan(&sets); err != nil {
		t.Fatal(err)
	}
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE action = 'bid.set_seal'
		AND subject IN (SELECT id::text FROM tender_sections WHERE tender_id = $1)`, w.tender.ID).Scan(&entries); err != nil {
		t.Fatal(err)
	}
	if sets != 2 || entries != 2 {
		t.Errorf("%d sets and %d bid.set_seal entries, want one of each per section (2)", sets, entries)
	}
}
