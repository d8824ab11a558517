package app

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/rescue"
	"github.com/kaiping/kaiping/opening/seal"
	"github.com/kaiping/kaiping/storage/postgres"
)

// hallBidder is a bidder in a hall test: its session, certificate and ID.
type hallBidder struct {
	name string
	c    *apiclient.Client
	cert *devpki.Issued
	id   kaiping.ID
}

// hallWorld is a tender whose registered bidders submit, then sit in its opening hall.
type hallWorld struct {
	*submissionWorld
	hostCert *devpki.Issued
	bidders  []*hallBidder
	// checkInOpened is when mustMove last opened check-in (zero if it did not);
	// confirmEnds when the confirmation period it last opened ends.
	checkInOpened, confirmEnds time.Time
}

var hallBidderNames = []string{"甲公司", "乙公司", "丙公司", "丁公司", "戊公司", "己公司", "庚公司"}

// mustHallWorld is a submission world with n registered bidders (n ≤ 7) and a host whose
// certificate it keeps, so every session can be renewed after the clock jumps.
func mustHallWorld(t *testing.T, n int, adjust func(w *submissionWorld, tender *opening.Tender)) *hallWorld {
	t.Helper()
	return mustHallWorldIn(t, mustApp(t), n, adjust)
}

// mustHallWorldIn is mustHallWorld in an app the test started.
func mustHallWorldIn(t *testing.T, ta *testApp, n int, adjust func(w *submissionWorld, tender *opening.Tender)) *hallWorld {
	t.Helper()
	sw := mustSubmissionWorldIn(t, ta, adjust)
	w := &hallWorld{submissionWorld: sw}
	w.hostCert = sw.ta.mustRegister(t, sw.admin, devpki.SM2, "开标主持人", kaiping.RoleHost)
	w.host = sw.ta.mustLogin(t, w.hostCert)
	sw.ta.mustAssign(t, sw.tender.ID, principalID(t, w.host), kaiping.DutyHost)
	w.bidders = []*hallBidder{
		{name: hallBidderNames[0], c: sw.bidder, cert: sw.bidderCert, id: sw.bidderID},
		{name: hallBidderNames[1], c: sw.otherBidder, cert: sw.otherCert, id: sw.otherID},
	}
	algs := []devpki.Algorithm{devpki.RSA, devpki.SM2, devpki.ECDSA}
	for i := 2; i < n; i++ {
		c, cert, id := sw.mustBidder(t, algs[i%3], hallBidderNames[i])
		w.bidders = append(w.bidders, &hallBidder{name: hallBidderNames[i], c: c, cert: cert, id: id})
	}
	return w
}

func summaryJSON(price string, days int) []byte {
	return fmt.Appendf(nil, `{"price":"%s","duration":%d,"quality":"合格"}`, price, days)
}

// mustSubmit seals plain as kind for b (to b's certificate, or to the recipients given)
// and submits it.
func (w *hallWorld) mustSubmit(t *testing.T, b *hallBidder, kind seal.EnvelopeKind, plain []byte, to ...seal.Recipient) {
	t.Helper()
	if len(to) == 0 {
		to = []seal.Recipient{certRecipient(t, b.cert)}
	}
	file := sealTo(t, seal.Binding{Tender: w.tender.ID, Section: w.section.ID, Bidder: b.id, Kind: kind}, plain, to...)
	w.mustSubmitFile(t, b, kind, file)
}

func (w *hallWorld) mustSubmitFile(t *testing.T, b *hallBidder, kind seal.EnvelopeKind, file []byte) {
	t.Helper()
	if _, err := bidder.NewSubmitter(b.c).Submit(context.Background(), string(w.tender.ID), "BD1", string(kind),
		bytes.NewReader(file), mustChecked(t, file, b.cert)); err != nil {
		t.Fatalf("%s submits %s: %v", b.name, kind, err)
	}
}

// sealNow moves the clock to the deadline plus SealSettle, seals the bid sets and renews
// every session.
func (w *hallWorld) sealNow(t *testing.T) {
	t.Helper()
	w.ta.clock.Set(w.deadline.Add(opening.SealSettle))
	if _, err := w.ta.Submit.SealDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.relogin(t)
}

// relogin renews every session (they last 30 minutes of the test clock).
func (w *hallWorld) relogin(t *testing.T) {
	t.Helper()
	w.host = w.ta.mustLogin(t, w.hostCert)
	for _, b := range w.bidders {
		b.c = w.ta.mustLogin(t, b.cert)
	}
}

func (w *hallWorld) hallPath(rest string) string { return w.path("/hall" + rest) }

func (w *hallWorld) move(c *apiclient.Client, to opening.HallState, minutes int) (opening.HallStatus, error) {
	var st opening.HallStatus
	err := c.Do(context.Background(), http.MethodPost, w.hallPath("/transitions"), opening.TransitionRequest{To: to, WindowMinutes: minutes}, &st)
	return st, err
}

// mustMove makes the host's move. Before opening the decrypt window it checks that the window
// is refused while the tender's check-in period runs, then lets the period pass.
func (w *hallWorld) mustMove(t *testing.T, to opening.HallState, minutes int) opening.HallStatus {
	t.Helper()
	ends := w.checkInOpened.Add(time.Duration(w.tender.CheckInMinutes) * time.Minute)
	if to == opening.HallDecrypting && w.ta.clock.Now().Before(ends) {
		if _, err := w.move(w.host, to, minutes); apiCode(err) != "hall.checkin_running" {
			t.Fatalf("window opened during the check-in period: %v", err)
		}
		w.ta.clock.Set(ends)
	}
	st, err := w.move(w.host, to, minutes)
	if to == opening.HallClosed && apiCode(err) == "hall.confirm_period" {
		// Bidders who neither confirmed nor objected keep the whole period: let it run out
		// (the sessions with it), then close; the platform's own clock may close it first.
		w.ta.clock.Set(w.confirmEnds)
		w.relogin(t)
		if st, err = w.move(w.host, to, minutes); apiCode(err) == "hall.state" {
			st, err = w.board(t).HallView.HallStatus, nil
		}
	}
	switch {
	case to == opening.HallCheckingIn && st.CheckInOpenedAt != nil:
		w.checkInOpened = *st.CheckInOpenedAt
	case to == opening.HallConfirming && st.ConfirmEndsAt != nil:
		w.confirmEnds = *st.ConfirmEndsAt
	}
	if err != nil || st.State != to {
		t.Fatalf("host moves the hall to %s: %+v, %v", to, st, err)
	}
	return st
}

func (w *hallWorld) checkIn(b *hallBidder) error {
	return b.c.Do(context.Background(), http.MethodPost, w.hallPath("/checkins"), nil, nil)
}

func (w *hallWorld) view(t *testing.T, b *hallBidder) opening.BidderHallView {
	t.Helper()
	var v opening.BidderHallView
	if err := b.c.Do(context.Background(), http.MethodGet, w.hallPath(""), nil, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func (w *hallWorld) board(t *testing.T) opening.BoardView {
	t.Helper()
	var v opening.BoardView
	if err := w.host.Do(context.Background(), http.MethodGet, w.hallPath("/board"), nil, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// headers fetches b's own envelopes with their headers.
func (w *hallWorld) headers(t *testing.T, b *hallBidder) []opening.EnvelopeHeader {
	t.Helper()
	var out struct{ Envelopes []opening.EnvelopeHeader }
	if err := b.c.Do(context.Background(), http.MethodGet, w.hallPath("/envelopes"), nil, &out); err != nil {
		t.Fatal(err)
	}
	return out.Envelopes
}

// fileKey unwraps an envelope's file key with b's certificate key, as the bidder's tool does.
func fileKey(t *testing.T, b *hallBidder, e opening.EnvelopeHeader) []byte {
	t.Helper()
	hdr, _, err := seal.ParseHeader(bytes.NewReader(e.Header))
	if err != nil {
		t.Fatal(err)
	}
	id, err := seal.NewCertIdentity(b.cert.Cert, b.cert.Key)
	if err != nil {
		t.Fatal(err)
	}
	key, err := hdr.UnwrapFileKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func (w *hallWorld) unlock(b *hallBidder, envelope kaiping.ID, key []byte) (opening.UnlockStatus, error) {
	var st opening.UnlockStatus
	err := b.c.Do(context.Background(), http.MethodPost, w.hallPath("/unlocks"), opening.UnlockRequest{Envelope: envelope, FileKey: key}, &st)
	return st, err
}

// mustUnlockAll hands in the file key of every envelope of b.
func (w *hallWorld) mustUnlockAll(t *testing.T, b *hallBidder) {
	t.Helper()
	for _, e := range w.headers(t, b) {
		if _, err := w.unlock(b, e.Envelope, fileKey(t, b, e)); err != nil {
			t.Fatalf("%s unlocks %s: %v", b.name, e.Kind, err)
		}
	}
}

// waitVerified waits until none of b's envelopes is queued or being verified.
func (w *hallWorld) waitVerified(t *testing.T, b *hallBidder) opening.BidderHallView {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := w.view(t, b)
		busy := false
		for _, e := range v.Envelopes {
			busy = busy || e.State == opening.EnvQueued || e.State == opening.EnvVerifying
		}
		if !busy {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's envelopes still being verified: %+v", b.name, v.Envelopes)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hallVersion reads the hall's version straight from the database.
func (w *hallWorld) hallVersion(t *testing.T) int64 {
	t.Helper()
	var v int64
	if err := w.ta.DB.Pool.QueryRow(context.Background(), `SELECT coalesce((SELECT version FROM halls WHERE section_id = $1), 0)`,
		w.section.ID).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// refused runs a request that must be refused with code and must change nothing: the
// hall's version and the ledger stay as they were.
func (w *hallWorld) refused(t *testing.T, name, code string, do func() error) {
	t.Helper()
	version, size := w.hallVersion(t), w.ta.ledgerSize(t)
	err := do()
	got := apiCode(err)
	if got == "" {
		got = kaiping.CodeOf(err)
	}
	if err == nil || got != code {
		t.Errorf("%s: %v, want %s", name, err, code)
	}
	if v, s := w.hallVersion(t), w.ta.ledgerSize(t); v != version || s != size {
		t.Errorf("%s changed the hall (version %d → %d, ledger %d → %d)", name, version, v, size, s)
	}
}

// record reads and decodes the published record, checking its digest.
func (w *hallWorld) record(t *testing.T, c *apiclient.Client) (opening.PublishedRecord, opening.OpeningRecord) {
	t.Helper()
	var pr opening.PublishedRecord
	if err := c.Do(context.Background(), http.MethodGet, w.hallPath("/record"), nil, &pr); err != nil {
		t.Fatal(err)
	}
	if opening.RecordDigest(pr.Record) != pr.Digest {
		t.Fatalf("the record's digest %s is not the SHA-256 of its bytes", pr.Digest)
	}
	var rec opening.OpeningRecord
	if err := json.Unmarshal(pr.Record, &rec); err != nil {
		t.Fatal(err)
	}
	return pr, rec
}

func (w *hallWorld) confirm(b *hallBidder, digest string, signer *devpki.Issued) error {
	sig, err := opening.SignRecord(signer.Key, digest)
	if err != nil {
		return err
	}
	return b.c.Do(context.Background(), http.MethodPost, w.hallPath("/confirmations"), opening.ConfirmRequest{Digest: digest, Signature: sig}, nil)
}

// TestHallFullFlow runs a section with four bidders from the sealed bid set to the closed
// hall: check-in, a wrong key that is not final, three bidders decrypting (one with a
// multi-chunk technical envelope), the fourth never unlocking, the record published by the
// platform when the window ends, confirmations signed with three kinds of certificate, an
// objection answered, and the hall closed. Every refusal on the way changes nothing.
func TestHallFullFlow(t *testing.T) {
	w := mustHallWorld(t, 4, nil)
	ctx := context.Background()
	prices := []string{"12345678.9", "11800000", "12000000.55", "9999999.99"}
	for i, b := range w.bidders {
		w.mustSubmit(t, b, seal.Summary, summaryJSON(prices[i], 300+i))
	}
	tech := make([]byte, 300<<10)
	rand.Read(tech)
	w.mustSubmit(t, w.bidders[0], seal.Technical, tech)
	a, b, c, d := w.bidders[0], w.bidders[1], w.bidders[2], w.bidders[3]

	w.refused(t, "check-in opened before the deadline", "hall.state", func() error { return second(w.move(w.host, opening.HallCheckingIn, 0)) })
	w.sealNow(t)
	board := w.board(t)
	if board.State != opening.HallSealed || board.Bidders != 4 || board.Version != 1 || board.Envelopes != 5 {
		t.Fatalf("hall after sealing: %+v", board.HallView)
	}
	w.refused(t, "check-in while sealed", "hall.state", func() error { return w.checkIn(a) })
	w.refused(t, "window opened before check-in", "hall.state", func() error { return second(w.move(w.host, opening.HallDecrypting, 0)) })
	w.refused(t, "record published while sealed", "hall.state", func() error { return second(w.move(w.host, opening.HallPublished, 0)) })
	w.refused(t, "a bidder moves the hall", "auth.role_forbidden", func() error { return second(w.move(a.c, opening.HallCheckingIn, 0)) })
	w.refused(t, "the host declares 流标", "hall.transition", func() error { return second(w.move(w.host, opening.HallFailed, 0)) })

	w.mustMove(t, opening.HallCheckingIn, 0)
	w.refused(t, "check-in opened twice", "hall.state", func() error { return second(w.move(w.host, opening.HallCheckingIn, 0)) })
	for _, x := range []*hallBidder{a, b, c} {
		if err := w.checkIn(x); err != nil {
			t.Fatalf("%s checks in: %v", x.name, err)
		}
	}
	v := w.hallVersion(t)
	if err := w.checkIn(a); err != nil || w.hallVersion(t) != v {
		t.Errorf("checking in twice: %v, version %d → %d", err, v, w.hallVersion(t))
	}
	board = w.board(t)
	for _, x := range board.Board {
		if (x.CheckedIn == nil) != (x.Bidder == d.id) {
			t.Errorf("attendance on the board: %s checked in at %v", x.BidderName, x.CheckedIn)
		}
	}
	if board.CheckedIn != 3 || len(board.Board) != 4 {
		t.Errorf("attendance on the board: %d checked in of %d", board.CheckedIn, len(board.Board))
	}
	aHeaders, dHeaders := w.headers(t, a), w.headers(t, d)
	w.refused(t, "unlock before the window", "hall.window_not_open", func() error {
		return second(w.unlock(a, aHeaders[0].Envelope, fileKey(t, a, aHeaders[0])))
	})
	w.refused(t, "window longer than allowed", "hall.window_length", func() error { return second(w.move(w.host, opening.HallDecrypting, 600)) })

	st := w.mustMove(t, opening.HallDecrypting, 30)
	if st.WindowClosesAt == nil || !st.WindowClosesAt.Equal(st.WindowOpensAt.Add(30*time.Minute)) {
		t.Fatalf("window %v – %v, want 30 minutes", st.WindowOpensAt, st.WindowClosesAt)
	}
	w.refused(t, "unlock another bidder's envelope", "hall.envelope_not_found", func() error {
		return second(w.unlock(b, aHeaders[0].Envelope, fileKey(t, a, aHeaders[0])))
	})
	w.refused(t, "unlock an envelope that does not exist", "hall.envelope_not_found", func() error {
		return second(w.unlock(b, kaiping.NewID(), fileKey(t, a, aHeaders[0])))
	})
	w.refused(t, "unlock without checking in", "hall.not_checked_in", func() error {
		return second(w.unlock(d, dHeaders[0].Envelope, fileKey(t, d, dHeaders[0])))
	})

	// A wrong key is a recorded attempt, not a final failure.
	wrong := make([]byte, 32)
	rand.Read(wrong)
	v = w.hallVersion(t)
	_, err := w.unlock(a, aHeaders[0].Envelope, wrong)
	if apiCode(err) != "hall.wrong_key" || !strings.Contains(err.Error(), "1 次") {
		t.Fatalf("a wrong key: %v, want hall.wrong_key after 1 attempt", err)
	}
	if w.hallVersion(t) != v+1 {
		t.Error("a wrong key was not recorded")
	}
	if e := w.view(t, a).Envelopes[0]; e.State != opening.EnvSealed || e.Attempts != 1 {
		t.Errorf("after a wrong key: %+v", e)
	}
	for _, x := range []*hallBidder{a, b, c} {
		w.mustUnlockAll(t, x)
	}
	for _, x := range []*hallBidder{a, b, c} {
		for _, e := range w.waitVerified(t, x).Envelopes {
			if e.State != opening.EnvDecrypted {
				t.Errorf("%s's %s: %+v", x.name, e.Kind, e)
			}
		}
	}
	w.refused(t, "unlock a decrypted envelope", "hall.already_decrypted", func() error {
		return second(w.unlock(a, aHeaders[0].Envelope, fileKey(t, a, aHeaders[0])))
	})
	w.refused(t, "record published inside the window with a bid not decrypted", "hall.window_open", func() error {
		return second(w.move(w.host, opening.HallPublished, 0))
	})

	// The window ends; the platform publishes the record on its own.
	w.ta.clock.Set(*st.WindowClosesAt)
	if err := w.ta.Hall.Due(ctx); err != nil {
		t.Fatal(err)
	}
	w.relogin(t)
	w.refused(t, "unlock after the window", "hall.window_closed", func() error {
		return second(w.unlock(d, dHeaders[0].Envelope, fileKey(t, d, dHeaders[0])))
	})
	view := w.view(t, a)
	if view.State != opening.HallPublished || view.Record == nil {
		t.Fatalf("bidder's view after the window: %s, record %v", view.State, view.Record != nil)
	}
	pr, rec := w.record(t, b.c)
	if rec.Outcome != opening.BidOpened || rec.ValidBids != 3 || len(rec.Bids) != 4 || pr.Digest != view.RecordDigest {
		t.Fatalf("record: outcome %s, %d valid of %d", rec.Outcome, rec.ValidBids, len(rec.Bids))
	}
	want := map[string]struct{ status, price, reason string }{
		a.name: {"opened", "12345678.90", ""}, b.name: {"opened", "11800000.00", ""},
		c.name: {"opened", "12000000.55", ""}, d.name: {"revoked", "", opening.ReasonNotUnlocked},
	}
	for _, bid := range rec.Bids {
		x := want[bid.BidderName]
		if bid.Status != x.status || bid.Values["price"] != x.price || bid.Reason != x.reason {
			t.Errorf("record line of %s: %+v, want %+v", bid.BidderName, bid, x)
		}
		if bid.Bidder == d.id && bid.StatusLabel != "撤销" || bid.Bidder == a.id && (bid.Values["duration"] != "300" || bid.Values["quality"] != "合格") {
			t.Errorf("record line %+v", bid)
		}
	}

	w.refused(t, "confirm before confirmation opens", "hall.state", func() error { return w.confirm(a, pr.Digest, a.cert) })
	w.mustMove(t, opening.HallConfirming, 0)
	if err := w.confirm(a, pr.Digest, a.cert); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	altered := bytes.Replace(pr.Record, []byte("11800000.00"), []byte("11800000.01"), 1)
	w.refused(t, "confirm a record that has changed", "hall.record_changed", func() error {
		return w.confirm(b, opening.RecordDigest(altered), b.cert)
	})
	w.refused(t, "confirm with another bidder's signature", "hall.bad_signature", func() error { return w.confirm(b, pr.Digest, a.cert) })
	w.refused(t, "confirm twice", "hall.already_confirmed", func() error { return w.confirm(a, pr.Digest, a.cert) })
	for _, x := range []*hallBidder{b, c} {
		if err := w.confirm(x, pr.Digest, x.cert); err != nil {
			t.Fatalf("%s confirms: %v", x.name, err)
		}
	}
	var objection opening.Objection
	if err := d.c.Do(ctx, http.MethodPost, w.hallPath("/objections"), opening.ObjectionRequest{Text: "我方因网络故障未能在时限内解密，请求说明"}, &objection); err != nil {
		t.Fatal(err)
	}
	w.refused(t, "close with an objection unanswered", "hall.objections_open", func() error { return second(w.move(w.host, opening.HallClosed, 0)) })
	answer := func() error {
		return w.host.Do(ctx, http.MethodPost, w.hallPath("/objections/"+string(objection.ID)+"/answer"),
			opening.AnswerRequest{Answer: "解密时限内平台运行正常，其他投标人均已解密，按撤销处理"}, nil)
	}
	if err := answer(); err != nil {
		t.Fatal(err)
	}
	w.refused(t, "answer twice", "hall.objection_answered", answer)
	w.mustMove(t, opening.HallClosed, 0)

	board = w.board(t)
	confirmed := 0
	for _, x := range board.Board {
		if x.Confirmed != nil {
			confirmed++
		}
	}
	if board.State != opening.HallClosed || confirmed != 3 || len(board.Objections) != 1 || board.Objections[0].Answer == "" {
		t.Errorf("board at the end: %s, %d confirmed, objections %+v", board.State, confirmed, board.Objections)
	}
	// Every change is an event numbered by version, with no gap; a bidder sees the public ones and its own.
	var hostEvents, aEvents struct{ Events []opening.HallEvent }
	if err := w.host.Do(ctx, http.MethodGet, w.hallPath("/events?after=0"), nil, &hostEvents); err != nil {
		t.Fatal(err)
	}
	for i, e := range hostEvents.Events {
		if e.Version != int64(i+1) {
			t.Fatalf("event %d has version %d", i, e.Version)
		}
	}
	if n := len(hostEvents.Events); int64(n) != board.Version {
		t.Errorf("%d events for version %d", n, board.Version)
	}
	if err := a.c.Do(ctx, http.MethodGet, w.hallPath("/events?after=0"), nil, &aEvents); err != nil {
		t.Fatal(err)
	}
	for _, e := range aEvents.Events {
		if e.Bidder != "" && e.Bidder != a.id {
			t.Errorf("bidder %s sees an event of another bidder: %+v", a.name, e)
		}
	}
	if len(aEvents.Events) >= len(hostEvents.Events) {
		t.Errorf("a bidder sees %d events of %d", len(aEvents.Events), len(hostEvents.Events))
	}
	var keys int
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM hall_envelopes WHERE file_key_wrapped IS NOT NULL AND state = 'decrypted'`).Scan(&keys); err != nil || keys != 4 {
		t.Errorf("%d file keys stored for evaluation, %v; want 4", keys, err)
	}
	w.ta.ledgerSize(t)
}

// TestHallFailsWithTwoBidders: a section sealed with fewer bidders than the minimum fails
// (流标) at once, with the reason; nothing in the hall moves afterwards.
func TestHallFailsWithTwoBidders(t *testing.T) {
	w := mustHallWorld(t, 2, nil)
	for i, b := range w.bidders {
		w.mustSubmit(t, b, seal.Summary, summaryJSON(strconv.Itoa(1000+i), 100))
	}
	w.sealNow(t)
	v := w.view(t, w.bidders[0])
	if v.State != opening.HallFailed || !strings.Contains(v.Reason, "不足 3 家（2 家）") || v.StateLabel != "流标" {
		t.Fatalf("hall with two bidders: %s %q", v.State, v.Reason)
	}
	w.refused(t, "check-in opened on a failed hall", "hall.state", func() error { return second(w.move(w.host, opening.HallCheckingIn, 0)) })
	w.refused(t, "check-in on a failed hall", "hall.state", func() error { return w.checkIn(w.bidders[0]) })
	var actions []string
	rows, err := w.ta.DB.Pool.Query(context.Background(), `SELECT type FROM hall_events WHERE section_id = $1 ORDER BY version`, w.section.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		actions = append(actions, s)
	}
	if len(actions) != 2 {
		t.Errorf("events of the failed hall: %v, want sealed then failed", actions)
	}
}

// gatedObjects reads envelopes from the app's bids bucket once its gate is open, and fails
// every read of one object as an unreachable storage would until healed.
type gatedObjects struct {
	ta      *testApp
	gate    chan struct{}
	failKey string
	healed  atomic.Bool
}

func (g *gatedObjects) open(ctx context.Context, key, version string) (io.ReadCloser, error) {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if key == g.failKey && !g.healed.Load() {
		return nil, kaiping.E(kaiping.KindUnavailable, "blob_unavailable", "对象存储暂时无法访问")
	}
	r, _, err := g.ta.Blob.GetVersion(ctx, g.ta.setup.Config.Blob.BidsBucket, key, version)
	return r, err
}

// mustTestHall stops the app's own hall and runs another on the same database, with one
// worker, one waiting place, verifications our storage failed retried every few
// milliseconds, and envelope reads through open.
func mustTestHall(t *testing.T, w *hallWorld, open opening.OpenObject) *opening.Hall {
	t.Helper()
	w.ta.stop()
	w.ta.jobs.Wait()
	cfg := opening.DefaultHallConfig
	cfg.QueueCapacity, cfg.Workers, cfg.DueInterval = 1, 1, time.Hour
	cfg.RetryBase, cfg.RetryMax = time.Millisecond, 20*time.Millisecond
	h := opening.NewHall(postgres.NewOpeningStore(w.ta.DB, w.ta.Ledger), open, w.ta.KEK, w.ta.clock,
		slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

func headerOf(t *testing.T, hs []opening.EnvelopeHeader, kind seal.EnvelopeKind) opening.EnvelopeHeader {
	t.Helper()
	for _, h := range hs {
		if h.Kind == string(kind) {
			return h
		}
	}
	t.Fatalf("no %s envelope in %+v", kind, hs)
	return opening.EnvelopeHeader{}
}

// TestHallQueueAndClassification: the verification queue is bounded (a right key that
// finds it full is refused with hall.busy, and that refusal is remembered); a key our
// storage fails stays queued and holds the window open until storage lets it be verified;
// and when the window closes every bid not decrypted is classified — 撤销 for a wrong key,
// no key, a broken file or an unreadable summary, 撤回 when our queue refused a right key —
// and with two valid bids of seven the opening fails (流标).
func TestHallQueueAndClassification(t *testing.T) {
	w := mustHallWorld(t, 7, nil)
	ctx := context.Background()
	a, b, c, d, e, f, g := w.bidders[0], w.bidders[1], w.bidders[2], w.bidders[3], w.bidders[4], w.bidders[5], w.bidders[6]
	for i, x := range []*hallBidder{a, b, c, e, f} {
		w.mustSubmit(t, x, seal.Summary, summaryJSON(strconv.Itoa(5000000+i), 200))
	}
	tech := make([]byte, 200<<10)
	rand.Read(tech)
	w.mustSubmit(t, a, seal.Technical, tech)
	broken := sealTo(t, seal.Binding{Tender: w.tender.ID, Section: w.section.ID, Bidder: d.id, Kind: seal.Summary},
		summaryJSON("4000000", 200), certRecipient(t, d.cert))
	broken[len(broken)-20] ^= 1 // a flipped bit in the last chunk: the upload's digest is of this file
	// The bidder's own tool refuses to send such a file; one that skipped the check can, and
	// the server cannot tell a flipped bit of ciphertext from ciphertext.
	if _, _, err := rawSubmit(t, d.c, w.tender.ID, "summary", broken); err != nil {
		t.Fatalf("丁 submits a broken file past its tool: %v", err)
	}
	w.mustSubmit(t, g, seal.Summary, []byte(`{"price":"四百万","duration":200}`))
	w.sealNow(t)

	gate := &gatedObjects{ta: w.ta, gate: make(chan struct{})}
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT object_key FROM bid_envelopes WHERE bidder_id = $1`, e.id).Scan(&gate.failKey); err != nil {
		t.Fatal(err)
	}
	hall := mustTestHall(t, w, gate.open)
	w.mustMove(t, opening.HallCheckingIn, 0)
	headers := map[*hallBidder][]opening.EnvelopeHeader{}
	for _, x := range w.bidders {
		if err := w.checkIn(x); err != nil {
			t.Fatal(err)
		}
		headers[x] = w.headers(t, x) // the tool fetches them first; the hall keeps them
	}
	w.mustMove(t, opening.HallDecrypting, 0)
	actor := func(x *hallBidder) kaiping.Actor {
		return kaiping.ActorAt(x.id, netip.MustParseAddr("127.0.0.1"), w.ta.clock.Now())
	}
	unlock := func(x *hallBidder, kind seal.EnvelopeKind, key []byte) (opening.UnlockStatus, error) {
		h := headerOf(t, headers[x], kind)
		if key == nil {
			key = fileKey(t, x, h)
		}
		return hall.Unlock(ctx, actor(x), w.tender.ID, "BD1", opening.UnlockRequest{Envelope: h.Envelope, FileKey: key})
	}
	stateOf := func(x *hallBidder, kind seal.EnvelopeKind) opening.UnlockStatus {
		v, err := hall.BidderView(ctx, actor(x), w.tender.ID, "BD1")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range v.Envelopes {
			if s.Kind == string(kind) {
				return s
			}
		}
		t.Fatalf("%s has no %s", x.name, kind)
		return opening.UnlockStatus{}
	}
	// waitState waits for the envelope to reach state want, or any settled state for "".
	waitState := func(x *hallBidder, kind seal.EnvelopeKind, want string) opening.UnlockStatus {
		t.Helper()
		for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
			s := stateOf(x, kind)
			if s.State == want || want == "" && s.State != opening.EnvQueued && s.State != opening.EnvVerifying {
				return s
			}
			if time.Since(start) > 30*time.Second {
				t.Fatalf("%s's %s: %+v, want %s", x.name, kind, s, want)
			}
		}
	}

	// A's summary holds the one worker (storage is slow to answer), its technical
	// envelope the one waiting place; F's right key finds the queue full.
	if st, err := unlock(a, seal.Summary, nil); err != nil || st.State != opening.EnvQueued && st.State != opening.EnvVerifying {
		t.Fatalf("first unlock: %+v, %v", st, err)
	}
	waitState(a, seal.Summary, opening.EnvVerifying)
	if st, err := unlock(a, seal.Technical, nil); err != nil || st.Position != 1 {
		t.Fatalf("second unlock: %+v, %v; want position 1", st, err)
	}
	if s := stateOf(a, seal.Technical); s.State != opening.EnvQueued || s.Position != 1 {
		t.Errorf("the bidder's view of a waiting envelope: %+v", s)
	}
	w.refused(t, "unlock with the queue full", "hall.busy", func() error { return second(unlock(f, seal.Summary, nil)) })
	var busy int
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT busy_refusals FROM hall_envelopes WHERE bidder_id = $1`, f.id).Scan(&busy); err != nil || busy != 1 {
		t.Errorf("busy refusals of F: %d, %v", busy, err)
	}
	// A replica that holds neither key takes them over once they have waited RequeueAfter
	// (its peer is stuck on storage), one free place at a time.
	open := make(chan struct{})
	close(open)
	other := mustTestHall(t, w, (&gatedObjects{ta: w.ta, gate: open}).open)
	if err := other.Due(ctx); err != nil {
		t.Fatal(err)
	}
	if s := stateOf(a, seal.Summary); s.State != opening.EnvVerifying {
		t.Errorf("requeued before RequeueAfter: %+v", s)
	}
	w.ta.clock.Advance(opening.DefaultHallConfig.RequeueAfter)
	both := func() bool {
		return stateOf(a, seal.Summary).State == opening.EnvDecrypted && stateOf(a, seal.Technical).State == opening.EnvDecrypted
	}
	for start := time.Now(); !both(); time.Sleep(20 * time.Millisecond) {
		if err := other.Due(ctx); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) > 30*time.Second {
			t.Fatal("the other replica did not take over the queued keys")
		}
	}
	close(gate.gate) // the stuck replica's late verdicts change nothing

	for _, x := range []*hallBidder{d, e, g} {
		// As the tool does, wait while the stuck replica's queue drains.
		_, err := unlock(x, seal.Summary, nil)
		for start := time.Now(); kaiping.CodeOf(err) == "hall.busy" && time.Since(start) < 30*time.Second; {
			time.Sleep(20 * time.Millisecond)
			_, err = unlock(x, seal.Summary, nil)
		}
		if err != nil {
			t.Fatalf("%s unlocks: %v", x.name, err)
		}
		if x != e {
			waitState(x, seal.Summary, "")
		}
	}
	// 戊's key was handed in; our storage fails its file: it stays queued, retried, and says why.
	for start := time.Now(); stateOf(e, seal.Summary).Waiting == ""; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("戊's envelope our storage fails: %+v", stateOf(e, seal.Summary))
		}
	}
	if s := stateOf(e, seal.Summary); s.State != opening.EnvQueued && s.State != opening.EnvVerifying || s.ErrorCode != "blob_unavailable" {
		t.Errorf("戊's envelope while storage fails: %+v", s)
	}
	for i := 1; i <= 2; i++ {
		wrong := make([]byte, 32)
		rand.Read(wrong)
		if _, err := unlock(b, seal.Summary, wrong); kaiping.CodeOf(err) != "hall.wrong_key" {
			t.Fatalf("wrong key %d: %v", i, err)
		}
	}
	if s := stateOf(b, seal.Summary); s.Attempts != 2 || s.State != opening.EnvSealed {
		t.Errorf("after two wrong keys: %+v", s)
	}

	w.ta.clock.Set(w.deadline.Add(opening.SealSettle + 31*time.Minute))
	if _, err := unlock(b, seal.Summary, nil); kaiping.CodeOf(err) != "hall.window_closed" {
		t.Errorf("the right key after the window: %v", err)
	}
	// The window is over, but a key handed in on time waits for our storage: nothing is
	// classified, the host's board and move say why.
	if err := hall.Due(ctx); err != nil {
		t.Fatal(err)
	}
	w.relogin(t)
	board := w.board(t)
	if board.State != opening.HallDecrypting || board.Storage.Waiting != 1 || !strings.Contains(board.Storage.Notice, "不计为投标人原因") {
		t.Fatalf("hall while storage fails a key handed in: %s, storage %+v", board.State, board.Storage)
	}
	w.refused(t, "publication while a key waits for storage", "hall.storage_unhealthy", func() error { return second(w.move(w.host, opening.HallPublished, 0)) })
	gate.healed.Store(true)
	waitState(e, seal.Summary, opening.EnvDecrypted)
	if err := hall.Due(ctx); err != nil {
		t.Fatal(err)
	}
	board = w.board(t)
	if board.State != opening.HallFailed || !strings.Contains(board.Reason, "不足 3 家（2 家）") {
		t.Fatalf("hall after the window: %s %q", board.State, board.Reason)
	}
	_, rec := w.record(t, w.host)
	want := map[kaiping.ID][2]string{
		a.id: {opening.BidOpened, ""},
		b.id: {opening.OutcomeRevoked, opening.ReasonWrongKey},
		c.id: {opening.OutcomeRevoked, opening.ReasonNotUnlocked},
		d.id: {opening.OutcomeRevoked, seal.CodeChunkAuth},
		e.id: {opening.BidOpened, ""},
		f.id: {opening.OutcomeWithdrawn, opening.ReasonBusy},
		g.id: {opening.OutcomeRevoked, "hall.summary_field_invalid"},
	}
	for _, bid := range rec.Bids {
		if got := [2]string{bid.Status, bid.Reason}; got != want[bid.Bidder] || bid.ReasonText == "" && bid.Reason != "" {
			t.Errorf("%s: %v %q, want %v", bid.BidderName, got, bid.ReasonText, want[bid.Bidder])
		}
	}
	if rec.Outcome != string(opening.HallFailed) || rec.ValidBids != 2 || len(rec.Bids) != 7 {
		t.Errorf("record outcome %s with %d valid of %d", rec.Outcome, rec.ValidBids, len(rec.Bids))
	}
	// The classification is stored with each envelope, not only in the record.
	var classified int
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM hall_envelopes WHERE outcome <> '' AND outcome_reason <> ''`).Scan(&classified); err != nil || classified != 5 {
		t.Errorf("%d envelopes classified, %v; want 5", classified, err)
	}
	// Keys were handed in for the broken files of 丁 and 己: neither opened, so their keys
	// were destroyed when the window closed, ledgered; 甲's and 戊's opened and are kept.
	var keptUnopened, kept, opened, destroyed int
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE file_key_wrapped IS NOT NULL AND outcome <> ''),
		count(*) FILTER (WHERE file_key_wrapped IS NOT NULL), count(*) FILTER (WHERE state = 'decrypted'),
		count(*) FILTER (WHERE key_destroyed_at IS NOT NULL AND outcome <> '') FROM hall_envelopes`).Scan(&keptUnopened, &kept, &opened, &destroyed); err != nil ||
		keptUnopened != 0 || kept != opened || destroyed != 2 {
		t.Errorf("after the window: %d keys kept of envelopes not opened (want 0), %d kept of %d opened, %d destroyed (want 2), %v",
			keptUnopened, kept, opened, destroyed, err)
	}
	if n := ledgerActions(t, w.ta, "kek.shred", opening.ShredNotOpened); n != 1 {
		t.Errorf("%d ledger entries for destroying the keys of envelopes not opened, want 1", n)
	}
	w.ta.ledgerSize(t)
}

// rescueHolder is a supervisor holding a share of a tender's rescue key.
type rescueHolder struct {
	cert *devpki.Issued
	c    *apiclient.Client
}

// mustSupervisor registers a supervisor and logs it in, returning its principal ID.
func mustSupervisor(t *testing.T, w *submissionWorld, alg devpki.Algorithm, name string) (*rescueHolder, kaiping.ID) {
	t.Helper()
	cert := w.ta.mustRegister(t, w.admin, alg, name, kaiping.RoleSupervisor)
	h := &rescueHolder{cert: cert, c: w.ta.mustLogin(t, cert)}
	var me kaiping.Principal
	if err := h.c.Do(context.Background(), http.MethodGet, "/api/v1/me", nil, &me); err != nil {
		t.Fatal(err)
	}
	return h, me.ID
}

// mustShare has the holder fetch and check its share locally, as its tool does.
func (h *rescueHolder) mustShare(t *testing.T, w *hallWorld) rescue.Share {
	t.Helper()
	var sh opening.RescueShare
	if err := h.c.Do(context.Background(), http.MethodGet, "/api/v1/tenders/"+string(w.tender.ID)+"/rescue/share", nil, &sh); err != nil {
		t.Fatal(err)
	}
	pub, err := ecdh.P256().NewPublicKey(w.tender.Rescue.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	id, err := seal.NewCertIdentity(h.cert.Cert, h.cert.Key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := rescue.VerifyShare(sh.Share, id, sh.Commitments, pub)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// stanzas fetches, as holder c, the E points of a bidder's rescue stanzas.
func (w *hallWorld) stanzas(c *apiclient.Client, bidder kaiping.ID) (opening.RescueStanzas, error) {
	var st opening.RescueStanzas
	err := c.Do(context.Background(), http.MethodGet, w.hallPath("/rescue-stanzas?bidder_id="+string(bidder)), nil, &st)
	return st, err
}

// mustPartials has holder h compute, with its share s on its own machine, the partial
// decryptions of a bidder's rescue stanzas, as `kaiping rescue decrypt-share` does.
func (w *hallWorld) mustPartials(t *testing.T, h *rescueHolder, bidder kaiping.ID, s rescue.Share) opening.RescuePartialsRequest {
	t.Helper()
	st, err := w.stanzas(h.c, bidder)
	if err != nil {
		t.Fatal(err)
	}
	if st.Index != s.Index || st.KeyID != s.KeyID || len(st.Envelopes) == 0 {
		t.Fatalf("stanzas for holder %d: %+v", s.Index, st)
	}
	req := opening.RescuePartialsRequest{Bidder: bidder}
	for _, e := range st.Envelopes {
		p, err := rescue.PartialDecrypt(rand.Reader, s, e.Envelope, e.Ephemeral)
		if err != nil {
			t.Fatal(err)
		}
		req.Partials = append(req.Partials, p)
	}
	return req
}

func (w *hallWorld) submitPartials(c *apiclient.Client, req opening.RescuePartialsRequest) (opening.RescueProgress, error) {
	var p opening.RescueProgress
	err := c.Do(context.Background(), http.MethodPost, w.hallPath("/rescue-partials"), req, &p)
	return p, err
}

// editPartials copies req and changes its first partial.
func editPartials(req opening.RescuePartialsRequest, f func(p *rescue.Partial)) opening.RescuePartialsRequest {
	out := req
	out.Partials = append([]rescue.Partial(nil), req.Partials...)
	p := &out.Partials[0]
	p.Point, p.Proof = bytes.Clone(p.Point), bytes.Clone(p.Proof)
	f(p)
	return out
}

// partialRows counts what is stored of a rescue in progress.
func (w *hallWorld) partialRows(t *testing.T) (partials, holders int) {
	t.Helper()
	if err := w.ta.DB.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM hall_rescue_partials),
		(SELECT count(*) FROM hall_rescue_shares)`).Scan(&partials, &holders); err != nil {
		t.Fatal(err)
	}
	return partials, holders
}

// TestHallRescue: a bidder who lost its key is rescued by two of the three supervisors
// holding shares, inside the window, by threshold decryption: each holder fetches the E
// points of the bid's rescue stanzas and hands in partial decryptions with proofs, never
// its share. Requests before the deadline or the window, with a wrong proof, another
// holder's partial, a partial relabelled with another index, a partial for another bidder's
// envelope, from someone holding no share or from a bidder are refused with their own codes
// and store nothing; one holder's partials (fewer than k) open nothing; k open the bid
// through the same verification, the partials are deleted, and the ledger records every
// submission but never a share or a partial.
func TestHallRescue(t *testing.T) {
	ctx := context.Background()
	var holders []*rescueHolder
	var outsider *rescueHolder
	w := mustHallWorld(t, 3, func(w *submissionWorld, tender *opening.Tender) {
		for i, alg := range []devpki.Algorithm{devpki.SM2, devpki.ECDSA, devpki.RSA, devpki.ECDSA} {
			h, id := mustSupervisor(t, w, alg, "监督"+string(rune('甲'+i)))
			if i == 3 {
				outsider = h
				continue
			}
			holders = append(holders, h)
			tender.Rescue.Holders = append(tender.Rescue.Holders, id)
		}
		tender.Rescue.Enabled, tender.Rescue.Threshold = true, 2
	})
	pub, _ := ecdh.P256().NewPublicKey(w.tender.Rescue.PublicKey)
	rescueTo, err := seal.NewRescueRecipient(pub)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range w.bidders {
		w.mustSubmit(t, x, seal.Summary, summaryJSON(strconv.Itoa(3000000+i), 90), certRecipient(t, x.cert), rescueTo)
	}
	a, b, lost := w.bidders[0], w.bidders[1], w.bidders[2]
	w.mustAssignSupervisor(t, outsider.c) // assigned to the tender, but holds no share
	shares := []rescue.Share{holders[0].mustShare(t, w), holders[1].mustShare(t, w), holders[2].mustShare(t, w)}
	w.refused(t, "stanzas before the deadline", "hall.rescue_too_early", func() error { return second(w.stanzas(holders[0].c, lost.id)) })

	w.sealNow(t)
	for _, h := range append(holders, outsider) {
		h.c = w.ta.mustLogin(t, h.cert)
	}
	w.mustMove(t, opening.HallCheckingIn, 0)
	w.refused(t, "stanzas before the window", "hall.window_not_open", func() error { return second(w.stanzas(holders[0].c, lost.id)) })
	for _, x := range []*hallBidder{a, b} {
		if err := w.checkIn(x); err != nil {
			t.Fatal(err)
		}
	}
	w.mustMove(t, opening.HallDecrypting, 0)
	w.refused(t, "stanzas for a supervisor who holds no share", "rescue.not_holder", func() error { return second(w.stanzas(outsider.c, lost.id)) })
	w.refused(t, "stanzas for a bidder", "auth.role_forbidden", func() error { return second(w.stanzas(a.c, lost.id)) })
	reqs := []opening.RescuePartialsRequest{
		w.mustPartials(t, holders[0], lost.id, shares[0]),
		w.mustPartials(t, holders[1], lost.id, shares[1]),
		w.mustPartials(t, holders[2], lost.id, shares[2]),
	}
	ofA := w.headers(t, a)[0].Envelope
	for _, tt := range []struct {
		name string
		c    *apiclient.Client
		req  opening.RescuePartialsRequest
		code string
	}{
		{"a partial with a wrong proof", holders[0].c, editPartials(reqs[0], func(p *rescue.Partial) { p.Proof[7] ^= 1 }), "hall.partial_invalid"},
		{"a partial point that is not D_i", holders[0].c, editPartials(reqs[0], func(p *rescue.Partial) { p.Point = reqs[1].Partials[0].Point }), "hall.partial_invalid"},
		{"another holder's partial replayed", holders[0].c, reqs[1], "hall.partial_not_yours"},
		{"another holder's partial relabelled with my index", holders[0].c, editPartials(reqs[1], func(p *rescue.Partial) { p.Index = shares[0].Index }), "hall.partial_invalid"},
		{"a partial for another bidder's envelope", holders[0].c, editPartials(reqs[0], func(p *rescue.Partial) { p.Envelope = ofA }), "hall.partial_envelope"},
		{"a partial for another bidder's bid", holders[0].c, opening.RescuePartialsRequest{Bidder: a.id, Partials: reqs[0].Partials}, "hall.partial_envelope"},
		{"no partials", holders[0].c, opening.RescuePartialsRequest{Bidder: lost.id}, "hall.partial_invalid"},
		{"a supervisor who holds no share", outsider.c, reqs[0], "rescue.not_holder"},
		{"a bidder handing in partials", a.c, reqs[0], "auth.role_forbidden"},
		{"partials for nobody's bid", holders[0].c, opening.RescuePartialsRequest{Bidder: kaiping.NewID(), Partials: reqs[0].Partials}, "hall.rescue_no_bid"},
	} {
		w.refused(t, tt.name, tt.code, func() error { return second(w.submitPartials(tt.c, tt.req)) })
		if p, h := w.partialRows(t); p != 0 || h != 0 {
			t.Errorf("%s: stored %d partials of %d holders", tt.name, p, h)
		}
	}

	p, err := w.submitPartials(holders[0].c, reqs[0])
	if err != nil || p.Shares != 1 || p.Threshold != 2 || len(p.Opened) != 0 {
		t.Fatalf("first holder's partials: %+v, %v", p, err)
	}
	if v := w.view(t, lost); v.Envelopes[0].State != opening.EnvSealed {
		t.Fatalf("fewer than k partials opened the envelope: %+v", v.Envelopes[0])
	}
	w.refused(t, "the same holder twice", "hall.share_duplicate", func() error { return second(w.submitPartials(holders[0].c, reqs[0])) })
	p, err = w.submitPartials(holders[1].c, reqs[1])
	if err != nil || p.Shares != 2 || len(p.Opened) != 1 {
		t.Fatalf("second holder's partials: %+v, %v", p, err)
	}
	if v := w.waitVerified(t, lost); v.Envelopes[0].State != opening.EnvDecrypted {
		t.Fatalf("the rescued envelope: %+v", v.Envelopes[0])
	}
	w.refused(t, "partials for a bid already rescued", "hall.rescue_nothing", func() error { return second(w.submitPartials(holders[2].c, reqs[2])) })
	if p, h := w.partialRows(t); p != 0 || h != 2 {
		t.Errorf("after the rescue: %d partials kept, %d holders recorded; want 0 and 2", p, h)
	}
	for _, x := range []*hallBidder{a, b} {
		w.mustUnlockAll(t, x)
	}
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		var queued int
		if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM hall_envelopes WHERE state = 'queued'`).Scan(&queued); err != nil {
			t.Fatal(err)
		}
		if queued == 0 {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatal("envelopes still queued")
		}
	}
	w.mustMove(t, opening.HallPublished, 0) // every bid decrypted: the host need not wait for the window's end
	_, rec := w.record(t, w.host)
	for _, bid := range rec.Bids {
		if bid.Status != opening.BidOpened || bid.Bidder == lost.id && bid.Envelopes[0].Via != "rescue" {
			t.Errorf("record line %+v", bid)
		}
	}
	// The ledger names who handed in which share, never its value.
	var entries int
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE action IN ('hall.rescue_share', 'hall.rescue_combine')`).Scan(&entries); err != nil || entries != 3 {
		t.Errorf("%d rescue ledger entries, %v; want 2 shares and the combination", entries, err)
	}
	for _, s := range shares {
		var leaked int
		if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE position($1::bytea in detail) > 0 OR position($2::bytea in detail) > 0`,
			[]byte(base64.StdEncoding.EncodeToString(s.Value)), []byte(hex.EncodeToString(s.Value))).Scan(&leaked); err != nil || leaked != 0 {
			t.Errorf("a share's value is in %d ledger entries, %v", leaked, err)
		}
	}
	// Nobody confirms and nobody objects: the platform closes the hall when the period ends.
	st := w.mustMove(t, opening.HallConfirming, 0)
	w.ta.clock.Set(st.ConfirmEndsAt.Add(-time.Nanosecond))
	if err := w.ta.Hall.Due(ctx); err != nil {
		t.Fatal(err)
	}
	var state string
	hallState := func() string {
		if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT state FROM halls WHERE section_id = $1`, w.section.ID).Scan(&state); err != nil {
			t.Fatal(err)
		}
		return state
	}
	if hallState() != string(opening.HallConfirming) {
		t.Errorf("closed before the confirmation period ended: %s", state)
	}
	w.ta.clock.Set(*st.ConfirmEndsAt)
	if err := w.ta.Hall.Due(ctx); err != nil {
		t.Fatal(err)
	}
	if hallState() != string(opening.HallClosed) {
		t.Errorf("not closed when the confirmation period ended: %s", state)
	}
	w.ta.ledgerSize(t)
}
