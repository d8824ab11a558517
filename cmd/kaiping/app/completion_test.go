package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
	"github.com/kaiping/kaiping/storage/blob"
)

// stopPoint holds completions inside the bids bucket's multipart completion, after storage
// completed them and before the server goes on, until released. With crash set, a released
// completion fails there: the server died at that point and never wrote anything more.
type stopPoint struct {
	armed   atomic.Bool
	crash   bool
	reached chan string // the object keys held, in order
	release chan struct{}
	once    sync.Once
}

// open lets every completion held, and every later one, go on.
func (p *stopPoint) open() { p.once.Do(func() { close(p.release) }) }

func newStopPoint(crash bool) *stopPoint {
	p := &stopPoint{crash: crash, reached: make(chan string, 16), release: make(chan struct{})}
	p.armed.Store(true)
	return p
}

func (p *stopPoint) hook(ctx context.Context, key string) error {
	if !p.armed.Load() {
		return nil
	}
	p.reached <- key
	select {
	case <-p.release:
	case <-ctx.Done():
	}
	if p.crash {
		return errors.New("the server died after storage completed the upload")
	}
	return nil
}

// held waits until a completion is held and returns its object key.
func (p *stopPoint) held(tb testing.TB) string {
	tb.Helper()
	select {
	case key := <-p.reached:
		return key
	case <-time.After(time.Minute):
		tb.Fatal("no completion reached the stop point")
		return ""
	}
}

// crash stops the server as a crash would: its background jobs (the sealer, the reconciler)
// end and it takes no more requests; the requests it was handling stay where they are.
func (ta *testApp) crash(tb testing.TB) {
	tb.Helper()
	ta.stopJobs()
	ta.mu.Lock()
	ln := ta.ln
	ta.mu.Unlock()
	_ = ln.Close()
}

// stopJobs ends the server's background jobs (the sealer, the reconciler): the test runs
// them itself, at the moments it chooses.
func (ta *testApp) stopJobs() {
	ta.mu.Lock()
	stop := ta.stop
	ta.mu.Unlock()
	stop()
	ta.jobs.Wait()
}

type completion struct {
	rc  opening.Receipt
	err error
}

// completeAsync sends file's parts for the ticket and completes the upload in the
// background; the answer arrives on the channel returned.
func completeAsync(c *apiclient.Client, tk opening.UploadTicket, file []byte, d bidder.FileDigest) <-chan completion {
	done := make(chan completion, 1)
	go func() {
		rc, err := bidder.NewSubmitter(c).Finish(context.Background(), tk, bytes.NewReader(file), d)
		done <- completion{rc, err}
	}()
	return done
}

// TestCrashBetweenStorageAndCommit: the server dies after object
// storage completed two bidders' uploads and before the database recorded them. A new
// server on the same database and storage finishes both: the first bidder's tool resumes
// and gets its receipt at once (nothing is sent again); the second never comes back, and
// its completion, which arrived a second before the deadline, keeps the bid set unsealed
// until the reconciler has finished it (after the dead server's completion would have
// timed out; two replicas try at once and one does it), then the set is sealed with both,
// and the bidder fetches its receipt. Every envelope is locked, each reconciler action is
// ledgered once, and the ledger verifies.
func TestCrashBetweenStorageAndCommit(t *testing.T) {
	ctx := context.Background()
	setup := mustSetup(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	stop := newStopPoint(true)
	first := mustAppFrom(t, setup, quiet, nil, withCompletedHook(stop.hook))
	t.Cleanup(stop.open) // before the first app's Shutdown waits for them
	w := mustSubmissionWorldIn(t, first, nil)
	fileA := mustSeal(t, w.binding(seal.Summary), []byte(`{"price":"100"}`), w.bidderCert)
	bindingB := w.binding(seal.Summary)
	bindingB.Bidder = w.otherID
	fileB := mustSeal(t, bindingB, []byte(`{"price":"99"}`), w.otherCert)
	tkA := w.startUpload(t, w.bidder, fileA)
	tkB := w.startUpload(t, w.otherBidder, fileB)

	arrivedA := w.deadline.Add(-2 * time.Minute)
	first.clock.Set(arrivedA)
	deadA := completeAsync(w.bidder, tkA, fileA, mustChecked(t, fileA, w.bidderCert))
	stop.held(t)
	arrivedB := w.deadline.Add(-time.Second)
	first.clock.Set(arrivedB)
	deadB := completeAsync(w.otherBidder, tkB, fileB, mustChecked(t, fileB, w.otherCert))
	stop.held(t)
	first.crash(t)

	// What the crash left: both objects complete in storage, both uploads completing with
	// the instant they arrived, no envelope.
	for _, tk := range []opening.UploadTicket{tkA, tkB} {
		var state string
		var envelopes int
		if err := first.DB.Pool.QueryRow(ctx, `SELECT state, (SELECT count(*) FROM bid_envelopes WHERE upload_id = $1)
			FROM bid_uploads WHERE id = $1`, tk.Upload.ID).Scan(&state, &envelopes); err != nil || state != "completing" || envelopes != 0 {
			t.Errorf("after the crash, upload %s is %s with %d envelopes (%v); want completing with none", tk.Upload.ID, state, envelopes, err)
		}
	}

	second := mustAppFrom(t, setup, quiet, nil)
	second.clock.Set(arrivedB)
	bidderA := second.mustLogin(t, w.bidderCert)
	bidderB := second.mustLogin(t, w.otherCert)
	v := second.verifier(t)

	// The first bidder's tool resumes: storage holds the object, nothing is sent again, and
	// the completion is finished as of when it arrived.
	rcA, err := bidder.NewSubmitter(bidderA).Resume(ctx, string(tkA.Upload.ID), bytes.NewReader(fileA), mustChecked(t, fileA, w.bidderCert))
	if err != nil {
		t.Fatalf("resume after the crash: %v", err)
	}
	if err := bidder.VerifyReceipt(rcA, v); err != nil {
		t.Errorf("receipt after the crash does not verify: %v", err)
	}
	if !rcA.ServerTime.Equal(arrivedA) || rcA.Envelopes[0].SHA256 != sha256Hex(fileA) {
		t.Errorf("receipt %s at %v; want the file's digest at its arrival, %v", rcA.Envelopes[0].SHA256, rcA.ServerTime, arrivedA)
	}
	// Asking again answers the same receipt.
	if again, err := bidder.NewSubmitter(bidderA).Resume(ctx, string(tkA.Upload.ID), bytes.NewReader(fileA), mustChecked(t, fileA, w.bidderCert)); err != nil ||
		again.Ledger.Seq != rcA.Ledger.Seq {
		t.Errorf("second resume: seq %d, %v; want the receipt of seq %d", again.Ledger.Seq, err, rcA.Ledger.Seq)
	}

	// The deadline passes with the second completion unfinished: the set waits for it.
	second.clock.Set(w.deadline.Add(opening.SealSettle))
	if _, err := second.Submit.SealDue(ctx); err != nil {
		t.Fatal(err)
	}
	if err := bidderB.Do(ctx, http.MethodGet, w.path("/bid-set"), nil, nil); apiCode(err) != "bidset.not_sealed" {
		t.Fatalf("bid set with a completion pending: %v", err)
	}
	// Once the dead server's completion would have timed out, the reconciler finishes it:
	// two replicas at once, and one of them does it.
	third := mustAppFrom(t, setup, quiet, nil)
	second.stopJobs()
	third.stopJobs()
	var reports [2]opening.ReconcileReport
	var wg sync.WaitGroup
	for i, ta := range []*testApp{second, third} {
		ta.clock.Set(arrivedB.Add(5 * time.Minute))
		wg.Go(func() {
			var err error
			if reports[i], err = ta.Submit.RecoverCompletions(ctx); err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if n := reports[0].Accepted + reports[1].Accepted; n != 1 || reports[0].Pending+reports[1].Pending != 0 {
		t.Errorf("two replicas recovered %+v and %+v; want one acceptance between them", reports[0], reports[1])
	}
	if _, err := second.Submit.SealDue(ctx); err != nil {
		t.Fatal(err)
	}
	var set opening.BidSet
	if err := bidderB.Do(ctx, http.MethodGet, w.path("/bid-set"), nil, &set); err != nil {
		t.Fatalf("bid set after the reconciler: %v", err)
	}
	want := []string{sha256Hex(fileA), sha256Hex(fileB)}
	slices.Sort(want)
	if !slices.Equal(set.Digests, want) {
		t.Errorf("bid set %v; want both envelopes %v", set.Digests, want)
	}
	// The second bidder, after the deadline, fetches the receipt of what arrived before it.
	rcB, err := bidder.NewSubmitter(bidderB).Resume(ctx, string(tkB.Upload.ID), bytes.NewReader(fileB), mustChecked(t, fileB, w.otherCert))
	if err != nil {
		t.Fatalf("receipt after the reconciler: %v", err)
	}
	if err := bidder.VerifyReceipt(rcB, v); err != nil || !rcB.ServerTime.Equal(arrivedB) {
		t.Errorf("receipt at %v (%v); want a verifying receipt at %v", rcB.ServerTime, err, arrivedB)
	}

	// Both envelopes are locked; the reconciler's action is in the ledger.
	for _, rc := range []opening.Receipt{rcA, rcB} {
		var key, version string
		if err := second.DB.Pool.QueryRow(ctx, `SELECT object_key, object_version FROM bid_envelopes WHERE id = $1`,
			rc.Envelopes[0].ID).Scan(&key, &version); err != nil {
			t.Fatal(err)
		}
		if err := second.Blob.Delete(ctx, setup.Config.Blob.BidsBucket, key, version); kaiping.CodeOf(err) != blob.CodeLocked {
			t.Errorf("deleting an envelope finished after the crash: %v, want blob.locked", err)
		}
	}
	var detail string
	var entries int
	if err := second.DB.Pool.QueryRow(ctx, `SELECT count(*), coalesce(max(convert_from(detail, 'UTF8')), '')
		FROM ledger_entries WHERE action = 'bid.reconcile'`).Scan(&entries, &detail); err != nil || entries != 1 ||
		!strings.Contains(detail, `"outcome":"accepted"`) || !strings.Contains(detail, string(w.otherID)) {
		t.Errorf("%d ledger entries of the reconciler (%v), the last %s; want one, accepting the second bidder's", entries, err, detail)
	}
	second.ledgerSize(t)

	// The dead server's requests never answered with a receipt.
	stop.open()
	for _, done := range []<-chan completion{deadA, deadB} {
		if c := <-done; c.err == nil {
			t.Errorf("a request the crash caught answered a receipt: %+v", c.rc)
		}
	}
}

// TestCompletionAcrossDeadline: the bid set is sealed as soon as the
// deadline has passed and the completions that arrived before it have finished, not five
// minutes later. A completion that arrives a millisecond before the deadline and is still
// being checked when it passes holds the seal back, however long it takes, and is accepted;
// the server's own sealer then seals within a poll, and the host opens check-in.
func TestCompletionAcrossDeadline(t *testing.T) {
	ctx := context.Background()
	hold := newStopPoint(false)
	hold.armed.Store(false)
	ta := mustAppFrom(t, mustSetup(t), slog.New(slog.NewTextHandler(io.Discard, nil)), nil, withCompletedHook(hold.hook))
	w := mustHallWorldIn(t, ta, 3, nil)
	for _, b := range w.bidders[:2] {
		w.mustSubmit(t, b, seal.Summary, summaryJSON("100", 90))
	}
	last := w.bidders[2]
	file := sealTo(t, seal.Binding{Tender: w.tender.ID, Section: w.section.ID, Bidder: last.id, Kind: seal.Summary},
		summaryJSON("98", 90), certRecipient(t, last.cert))
	tk := w.startUpload(t, last.c, file)

	hold.armed.Store(true)
	arrived := w.deadline.Add(-time.Millisecond)
	w.ta.clock.Set(arrived)
	done := completeAsync(last.c, tk, file, mustChecked(t, file, last.cert))
	hold.held(t)

	// Past the deadline, the completion still being checked: nothing is sealed, whoever
	// asks, and the host cannot open check-in yet.
	for _, at := range []time.Duration{opening.SealSettle, time.Minute} {
		w.ta.clock.Set(w.deadline.Add(at))
		if _, err := w.ta.Submit.SealDue(ctx); err != nil {
			t.Fatal(err)
		}
		if err := w.host.Do(ctx, http.MethodGet, w.path("/bid-set"), nil, nil); apiCode(err) != "bidset.not_sealed" {
			t.Fatalf("deadline + %v, a completion in flight: bid set %v; want not sealed", at, err)
		}
	}
	if _, err := w.move(w.host, opening.HallCheckingIn, 0); apiCode(err) != "hall.state" || !strings.Contains(err.Error(), "正在封存") {
		t.Errorf("check-in before the set is sealed: %v; want hall.state saying the set is being sealed", err)
	}

	// It finishes a minute after the deadline and is accepted as of when it arrived; the
	// server's sealer seals at once.
	finished := time.Now()
	hold.open()
	c := <-done
	if c.err != nil || !c.rc.ServerTime.Equal(arrived) {
		t.Fatalf("completion that arrived before the deadline: %v at %v; want a receipt at %v", c.err, c.rc.ServerTime, arrived)
	}
	set := waitSealed(t, w.submissionWorld)
	t.Logf("sealed %v after the last completion finished (sealer polls every %v while one is in flight)", time.Since(finished), sealPoll)
	if set.Envelopes != 3 || set.Bidders != 3 {
		t.Errorf("bid set %+v; want the 3 envelopes", set)
	}
	w.relogin(t)
	if _, err := w.move(w.host, opening.HallCheckingIn, 0); err != nil {
		t.Errorf("check-in once sealed: %v", err)
	}
}

// TestSealAtDeadline: with nothing in flight the server's own sealer
// seals the set SealSettle after the deadline, and the host opens check-in then. The test
// moves the clock there and measures how long the sealer takes to see it (its idle sleep;
// on the real clock it sleeps until exactly that instant).
func TestSealAtDeadline(t *testing.T) {
	w := mustHallWorld(t, 3, nil)
	for _, b := range w.bidders {
		w.mustSubmit(t, b, seal.Summary, summaryJSON("100", 90))
	}
	w.ta.clock.Set(w.deadline.Add(opening.SealSettle - time.Millisecond))
	if _, err := w.ta.Submit.SealDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := w.host.Do(context.Background(), http.MethodGet, w.path("/bid-set"), nil, nil); apiCode(err) != "bidset.not_sealed" {
		t.Fatalf("bid set before deadline + SealSettle: %v", err)
	}
	w.ta.clock.Set(w.deadline.Add(opening.SealSettle))
	start := time.Now()
	set := waitSealed(t, w.submissionWorld)
	took := time.Since(start)
	t.Logf("sealed %v after the clock reached deadline + %v (idle sleep %v)", took, opening.SealSettle, sealIdle)
	if took > sealIdle+time.Second {
		t.Errorf("sealed %v after it fell due; want within %v", took, sealIdle+time.Second)
	}
	if !set.SealedAt.Before(w.deadline.Add(opening.SealSettle + time.Second)) {
		t.Errorf("sealed at %v; deadline %v", set.SealedAt, w.deadline)
	}
	if _, err := w.move(w.host, opening.HallCheckingIn, 0); err != nil {
		t.Errorf("check-in at the deadline: %v", err)
	}
}

// waitSealed waits for the server's sealer to seal the world's section.
func waitSealed(tb testing.TB, w *submissionWorld) opening.BidSet {
	tb.Helper()
	var set opening.BidSet
	var err error
	waitFor(tb, "the bid set to be sealed", func() error {
		err = w.ta.DB.Pool.QueryRow(context.Background(), `SELECT digest, envelopes, bidders, sealed_at FROM bid_sets
			WHERE section_id = $1`, w.section.ID).Scan(&set.Digest, &set.Envelopes, &set.Bidders, &set.SealedAt)
		return err
	}, func(err error) bool { return err == nil })
	return set
}

// uploadInStorage is the object key and storage upload of an upload, which the server
// keeps to itself.
func uploadInStorage(tb testing.TB, ta *testApp, id kaiping.ID) (key, storageUpload string) {
	tb.Helper()
	if err := ta.DB.Pool.QueryRow(context.Background(), `SELECT object_key, storage_upload FROM bid_uploads WHERE id = $1`,
		id).Scan(&key, &storageUpload); err != nil {
		tb.Fatal(err)
	}
	return key, storageUpload
}

// putOnlyParts sends the ticket's parts of file to storage and returns them, without
// completing anything.
func putOnlyParts(tb testing.TB, tk opening.UploadTicket, file []byte) []blob.Part {
	tb.Helper()
	var parts []blob.Part
	for n := 1; n <= tk.Upload.Parts(); n++ {
		off := int64(n-1) * tk.Upload.PartSize
		body := file[off : off+tk.Upload.PartLength(n)]
		req, err := http.NewRequest(http.MethodPut, tk.PartURLs[n], bytes.NewReader(body))
		if err != nil {
			tb.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			tb.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			tb.Fatalf("PUT part %d: %s", n, resp.Status)
		}
		parts = append(parts, blob.Part{Number: n, ETag: resp.Header.Get("ETag")})
	}
	return parts
}

// TestReconcileStorage: the reconciler matches the bids bucket against
// the database. An accepted envelope is accounted for. A locked object with no upload, and
// the state the crash of the finding left before completions were recorded (upload open,
// object complete and locked until 2041), are orphans: recorded and ledgered once, never
// deleted, never counted. An unlocked object of an upload that was ended is discarded.
func TestReconcileStorage(t *testing.T) {
	ctx := context.Background()
	w := mustSubmissionWorld(t)
	bucket := w.ta.setup.Config.Blob.BidsBucket
	accepted, err := w.submit(w.bidder, mustSeal(t, w.binding(seal.Summary), []byte("100"), w.bidderCert), "")
	if err != nil {
		t.Fatal(err)
	}
	until := w.deadline.AddDate(15, 0, 0)
	prefix := "tenders/" + string(w.tender.ID) + "/" + string(w.section.ID) + "/"
	strayKey := prefix + "stray.kpseal"
	stray, err := w.ta.Blob.Put(ctx, bucket, strayKey, bytes.NewReader([]byte("stray")), 5,
		blob.PutOptions{Retention: blob.Retention{Mode: blob.Compliance, RetainUntil: until}})
	if err != nil {
		t.Fatal(err)
	}
	// Completed in storage behind the server's back, as the crash of the finding left it.
	_, oldKey, oldInfo := completeBehindServer(t, w, bucket, "99")
	if err := w.ta.Blob.SetRetention(ctx, bucket, oldKey, oldInfo.VersionID,
		blob.Retention{Mode: blob.Compliance, RetainUntil: until}); err != nil {
		t.Fatal(err)
	}
	// Completed behind the server's back, unlocked, and the upload then abandoned.
	ended, endedKey, endedInfo := completeBehindServer(t, w, bucket, "98")
	if err := w.bidder.Do(ctx, http.MethodDelete, "/api/v1/uploads/"+string(ended.Upload.ID), nil, nil); err != nil {
		t.Fatal(err)
	}

	r, err := w.ta.Submit.ReconcileStorage(ctx)
	if err != nil || r.Orphans != 2 || r.Discarded != 1 {
		t.Fatalf("reconcile = %+v, %v; want 2 orphans recorded and 1 object discarded", r, err)
	}
	if r, err := w.ta.Submit.ReconcileStorage(ctx); err != nil || r != (opening.ReconcileReport{}) {
		t.Errorf("second reconcile = %+v, %v; want nothing new", r, err)
	}
	var orphans []string
	rows, err := w.ta.DB.Pool.Query(ctx, `SELECT o.object_key || ' ' || o.upload_state || ' ' || (o.locked_until IS NOT NULL)::text
		FROM bid_orphans o JOIN ledger_entries l ON l.seq = o.ledger_seq AND l.action = 'bid.orphan' ORDER BY o.object_key`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		orphans = append(orphans, strings.TrimPrefix(s, prefix))
	}
	want := []string{
		strings.TrimPrefix(endedKey, prefix) + " aborted false",
		strings.TrimPrefix(oldKey, prefix) + " open true",
		"stray.kpseal  true",
	}
	slices.Sort(want)
	if !slices.Equal(orphans, want) {
		t.Errorf("orphans ledgered:\n%q\nwant\n%q", orphans, want)
	}
	// The locked ones are still there; the unlocked one of an ended upload is gone.
	for key, version := range map[string]string{strayKey: stray.VersionID, oldKey: oldInfo.VersionID} {
		if _, err := w.ta.Blob.StatVersion(ctx, bucket, key, version); err != nil {
			t.Errorf("orphan %s: %v", key, err)
		}
	}
	if _, err := w.ta.Blob.StatVersion(ctx, bucket, endedKey, endedInfo.VersionID); kaiping.CodeOf(err) != blob.CodeNotFound {
		t.Errorf("unlocked object of an ended upload: %v, want it discarded", err)
	}
	// Nothing of them is counted.
	w.ta.clock.Set(w.deadline.Add(opening.SealSettle))
	if _, err := w.ta.Submit.SealDue(ctx); err != nil {
		t.Fatal(err)
	}
	var set opening.BidSet
	if err := w.bidder.Do(ctx, http.MethodGet, w.path("/bid-set"), nil, &set); err != nil ||
		!slices.Equal(set.Digests, []string{accepted.Envelopes[0].SHA256}) {
		t.Errorf("bid set %v (%v); want only the accepted envelope", set.Digests, err)
	}
	w.ta.ledgerSize(t)
}

// TestCompleteWithWrongParts: a completion naming parts storage does not hold (a wrong
// ETag) is refused with bid.parts and leaves the upload open, so the tool resumes it
// instead of sending everything again.
func TestCompleteWithWrongParts(t *testing.T) {
	ctx := context.Background()
	w := mustSubmissionWorld(t)
	file := mustSeal(t, w.binding(seal.Summary), []byte("100"), w.bidderCert)
	tk := w.startUpload(t, w.bidder, file)
	parts := putOnlyParts(t, tk, file)
	wrong := []opening.Part{{Number: 1, ETag: strings.Repeat("0", 32)}}
	err := w.bidder.Do(ctx, http.MethodPost, "/api/v1/uploads/"+string(tk.Upload.ID)+"/complete", opening.CompleteRequest{Parts: wrong}, nil)
	if apiCode(err) != "bid.parts" {
		t.Fatalf("completion with a wrong ETag: %v, want bid.parts", err)
	}
	if st := w.status(t, w.bidder); len(st.Uploads) != 1 || st.Uploads[0].State != opening.UploadOpen || len(st.Envelopes) != 0 {
		t.Fatalf("after the refusal: %+v; want the upload open and no envelope", st)
	}
	rc, err := bidder.NewSubmitter(w.bidder).Resume(ctx, string(tk.Upload.ID), bytes.NewReader(file), mustChecked(t, file, w.bidderCert))
	if err != nil || rc.Envelopes[0].SHA256 != sha256Hex(file) {
		t.Fatalf("resume after the refusal: %+v, %v", rc, err)
	}
	if len(parts) != 1 {
		t.Errorf("%d parts sent; want 1", len(parts))
	}
}

// completeBehindServer seals a summary priced price, starts its upload, sends its parts and
// completes the multipart upload in storage directly, as a crash between storage and the
// database leaves it: the server has not recorded it.
func completeBehindServer(t *testing.T, w *submissionWorld, bucket, price string) (opening.UploadTicket, string, blob.ObjectInfo) {
	t.Helper()
	file := mustSeal(t, w.binding(seal.Summary), []byte(price), w.bidderCert)
	tk := w.startUpload(t, w.bidder, file)
	key, storageUpload := uploadInStorage(t, w.ta, tk.Upload.ID)
	info, err := w.ta.Blob.CompleteMultipart(context.Background(), bucket, key, storageUpload, putOnlyParts(t, tk, file))
	if err != nil {
		t.Fatal(err)
	}
	return tk, key, info
}
