package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// submissionWorld is a tender with two registered bidders, ready to take envelopes.
type submissionWorld struct {
	ta                  *testApp
	admin, host         *apiclient.Client
	tender              opening.Tender
	section             opening.Section
	deadline            time.Time
	bidderCert          *devpki.Issued
	bidderID            kaiping.ID
	bidder, otherBidder *apiclient.Client
	otherCert           *devpki.Issued
	otherID             kaiping.ID
}

func mustSubmissionWorld(t *testing.T) *submissionWorld {
	t.Helper()
	return mustSubmissionWorldWith(t, nil)
}

// mustSubmissionWorldWith lets adjust change the tender (and register whoever it needs)
// before the host creates it.
func mustSubmissionWorldWith(t *testing.T, adjust func(w *submissionWorld, tender *opening.Tender)) *submissionWorld {
	t.Helper()
	return mustSubmissionWorldIn(t, mustApp(t), adjust)
}

// mustSubmissionWorldIn is mustSubmissionWorldWith in an app the test started. It is the
// one place that creates the tender and its host.
func mustSubmissionWorldIn(t *testing.T, ta *testApp, adjust func(w *submissionWorld, tender *opening.Tender)) *submissionWorld {
	t.Helper()
	ctx := context.Background()
	w := &submissionWorld{ta: ta, deadline: ta.clock.Now().Add(20 * time.Minute)}
	w.admin = ta.mustLogin(t, ta.setup.Admin)
	w.host = ta.mustLogin(t, ta.mustRegister(t, w.admin, devpki.SM2, "主持人", kaiping.RoleHost))
	tender := demoTender(w.deadline)
	if adjust != nil {
		adjust(w, &tender)
	}
	if err := w.host.Do(ctx, http.MethodPost, "/api/v1/tenders", tender, &w.tender); err != nil {
		t.Fatal(err)
	}
	ta.mustAssign(t, w.tender.ID, principalID(t, w.host), kaiping.DutyHost)
	for _, holder := range w.tender.Rescue.Holders {
		ta.mustAssign(t, w.tender.ID, holder, kaiping.DutySupervisor)
	}
	w.section = w.tender.Sections[0]
	w.bidder, w.bidderCert, w.bidderID = w.mustBidder(t, devpki.SM2, "甲公司")
	w.otherBidder, w.otherCert, w.otherID = w.mustBidder(t, devpki.ECDSA, "乙公司")
	return w
}

// mustAssignSupervisor assigns the principal logged in as c to the tender as a supervisor.
func (w *submissionWorld) mustAssignSupervisor(tb testing.TB, c *apiclient.Client) *apiclient.Client {
	tb.Helper()
	w.ta.mustAssign(tb, w.tender.ID, principalID(tb, c), kaiping.DutySupervisor)
	return c
}

// mustBidder registers a bidder, logs it in and registers it for section BD1.
func (w *submissionWorld) mustBidder(tb testing.TB, alg devpki.Algorithm, name string) (*apiclient.Client, *devpki.Issued, kaiping.ID) {
	tb.Helper()
	ctx := context.Background()
	cert := w.ta.mustRegister(tb, w.admin, alg, name, kaiping.RoleBidder)
	c := w.ta.mustLogin(tb, cert)
	var me kaiping.Principal
	if err := c.Do(ctx, http.MethodGet, "/api/v1/me", nil, &me); err != nil {
		tb.Fatal(err)
	}
	err := c.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(w.tender.ID)+"/sections/BD1/registrations",
		opening.RegisterRequest{Certificate: identity.Fingerprint(cert.Cert.Raw)}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return c, cert, me.ID
}

// sealed seals plaintext as kind for binding b to the certificates given.
func mustSeal(tb testing.TB, b seal.Binding, plaintext []byte, to ...*devpki.Issued) []byte {
	tb.Helper()
	var rs []seal.Recipient
	for _, c := range to {
		r, err := seal.NewCertRecipient(c.Cert)
		if err != nil {
			tb.Fatal(err)
		}
		rs = append(rs, r)
	}
	var out bytes.Buffer
	if _, err := seal.Seal(&out, bytes.NewReader(plaintext), b, rs); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

func (w *submissionWorld) binding(kind seal.EnvelopeKind) seal.Binding {
	return seal.Binding{Tender: w.tender.ID, Section: w.section.ID, Bidder: w.bidderID, Kind: kind}
}

// submit submits file as a summary envelope on the raw API (what the server does with it,
// whatever the bidder's tool would have said), declaring sum as its SHA-256 if not empty.
func (w *submissionWorld) submit(c *apiclient.Client, file []byte, sum string) (opening.Receipt, error) {
	req := declared(file, "summary")
	if sum != "" {
		req.SHA256 = sum
	}
	_, rc, err := rawSubmitAs(c, w.tender.ID, req, file)
	return rc, err
}

func TestSubmitAndReceipt(t *testing.T) {
	w := mustSubmissionWorld(t)
	plain := []byte(`{"price":"12345678.90","duration":365,"quality":"合格"}`)
	file := mustSeal(t, w.binding(seal.Summary), plain, w.bidderCert)
	rc, err := w.submit(w.bidder, file, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rc.Envelopes) != 1 || rc.Envelopes[0].Version != 1 || rc.Envelopes[0].Size != int64(len(file)) {
		t.Fatalf("receipt %+v", rc)
	}
	v := w.ta.verifier(t)
	if err := bidder.VerifyReceipt(rc, v); err != nil {
		t.Fatalf("receipt does not verify: %v", err)
	}
	forged := rc
	forged.Envelopes = []opening.Envelope{rc.Envelopes[0]}
	forged.Envelopes[0].SHA256 = "00" + rc.Envelopes[0].SHA256[2:]
	if err := bidder.VerifyReceipt(forged, v); kaiping.CodeOf(err) != "receipt.invalid" {
		t.Errorf("a receipt with an altered digest verified: %v", err)
	}
	// Nothing in storage or the database is plaintext.
	if bytes.Contains(file, plain[:20]) {
		t.Fatal("the sealed file contains the plaintext")
	}

	// Replacing before the deadline supersedes: version 2 is current.
	rc2, err := w.submit(w.bidder, mustSeal(t, w.binding(seal.Summary), []byte(`{"price":"1"}`), w.bidderCert), "")
	if err != nil || rc2.Envelopes[0].Version != 2 {
		t.Fatalf("replace: %+v, %v", rc2, err)
	}
	var current int
	if err := w.ta.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM bid_envelopes
		WHERE bidder_id = $1 AND superseded_at IS NULL`, w.bidderID).Scan(&current); err != nil || current != 1 {
		t.Errorf("%d current envelopes, %v; want 1", current, err)
	}
	// The first version is still stored, and locked: it cannot be deleted.
	var key, version string
	if err := w.ta.DB.Pool.QueryRow(context.Background(), `SELECT object_key, object_version FROM bid_envelopes
		WHERE version = 1`).Scan(&key, &version); err != nil {
		t.Fatal(err)
	}
	if err := w.ta.Blob.Delete(context.Background(), w.ta.setup.Config.Blob.BidsBucket, key, version); kaiping.CodeOf(err) != "blob.locked" {
		t.Errorf("deleting an accepted envelope: %v, want blob.locked", err)
	}
}

func TestSubmitRefusals(t *testing.T) {
	w := mustSubmissionWorld(t)
	ctx := context.Background()
	good := mustSeal(t, w.binding(seal.Summary), []byte("报价"), w.bidderCert)
	noise := make([]byte, 4096)
	rand.Read(noise)
	otherBinding := w.binding(seal.Summary)
	otherBinding.Bidder = kaiping.NewID()
	start := func(c *apiclient.Client, req opening.StartUploadRequest) error {
		return c.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(w.tender.ID)+"/sections/BD1/uploads", req, nil)
	}
	goodSum := sha256Hex(good)
	tests := []struct {
		name string
		err  error
		code string
	}{
		{"not a sealed envelope", second(w.submit(w.bidder, noise, "")), "bid.not_sealed"},
		{"sealed for another bidder", second(w.submit(w.bidder, mustSeal(t, otherBinding, []byte("x"), w.bidderCert), "")), "bid.binding_mismatch"},
		{"sealed for the wrong kind", second(w.submit(w.bidder, mustSeal(t, w.binding(seal.Technical), []byte("x"), w.bidderCert), "")), "bid.binding_mismatch"},
		{"not sealed to the registered certificate", second(w.submit(w.bidder, mustSeal(t, w.binding(seal.Summary), []byte("x"), w.otherCert), "")), "bid.no_bidder_recipient"},
		{"declared digest does not match", second(w.submit(w.bidder, good, "ab"+goodSum[2:])), "bid.digest_mismatch"},
		{"over the size limit", start(w.bidder, opening.StartUploadRequest{Kind: "summary", Size: w.tender.MaxEnvelopeBytes + 1, SHA256: goodSum}), "bid.too_large"},
		{"unknown envelope kind", start(w.bidder, opening.StartUploadRequest{Kind: "commercial", Size: 10, SHA256: goodSum}), "bid.kind"},
		{"bad digest syntax", start(w.bidder, opening.StartUploadRequest{Kind: "summary", Size: 10, SHA256: "xyz"}), "bid.sha256"},
		{"SM3 declared for a tender not in national mode", start(w.bidder, opening.StartUploadRequest{Kind: "summary", Size: 10, SHA256: goodSum, SM3: goodSum}), "bid.sm3_unexpected"},
		{"a host cannot submit", start(w.ta.mustLogin(t, w.ta.setup.Admin), opening.StartUploadRequest{Kind: "summary", Size: 10, SHA256: goodSum}), "auth.role_forbidden"},
	}
	for _, tt := range tests {
		if got := apiCode(tt.err); got != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, tt.err, tt.code)
		}
	}
	// Refused envelopes are gone from storage and no envelope row exists.
	var envelopes int
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM bid_envelopes`).Scan(&envelopes); err != nil || envelopes != 0 {
		t.Errorf("%d envelope rows after refusals, %v", envelopes, err)
	}
	var leftover int
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM bid_uploads WHERE state = 'open'`).Scan(&leftover); err != nil || leftover != 0 {
		t.Errorf("%d uploads left open after refusals, %v", leftover, err)
	}

	// Another bidder cannot see or complete my upload.
	var tk opening.UploadTicket
	if err := w.bidder.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(w.tender.ID)+"/sections/BD1/uploads",
		opening.StartUploadRequest{Kind: "summary", Size: int64(len(good)), SHA256: goodSum}, &tk); err != nil {
		t.Fatal(err)
	}
	if err := w.otherBidder.Do(ctx, http.MethodGet, "/api/v1/uploads/"+string(tk.Upload.ID), nil, nil); apiCode(err) != "upload.not_found" {
		t.Errorf("another bidder resumed my upload: %v", err)
	}
	if err := w.otherBidder.Do(ctx, http.MethodPost, "/api/v1/uploads/"+string(tk.Upload.ID)+"/complete", opening.CompleteRequest{}, nil); apiCode(err) != "upload.not_found" {
		t.Errorf("another bidder completed my upload: %v", err)
	}
}

// TestDeadlineBoundary: an upload started well before the deadline and completed one
// nanosecond before it is accepted; the same completed exactly at the deadline is refused,
// and its parts are aborted.
func TestDeadlineBoundary(t *testing.T) {
	w := mustSubmissionWorld(t)
	ctx := context.Background()
	file := mustSeal(t, w.binding(seal.Summary), []byte("报价"), w.bidderCert)
	sum := sha256Hex(file)
	startAndPut := func() opening.UploadTicket {
		var tk opening.UploadTicket
		if err := w.bidder.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(w.tender.ID)+"/sections/BD1/uploads",
			opening.StartUploadRequest{Kind: "summary", Size: int64(len(file)), SHA256: sum}, &tk); err != nil {
			t.Fatal(err)
		}
		return tk
	}
	early, late := startAndPut(), startAndPut()

	w.ta.clock.Set(w.deadline.Add(-time.Nanosecond))
	if _, err := bidder.NewSubmitter(w.bidder).Finish(ctx, early, bytes.NewReader(file), mustChecked(t, file, w.bidderCert)); err != nil {
		t.Fatalf("completed 1ns before the deadline: %v", err)
	}
	w.ta.clock.Set(w.deadline)
	_, err := bidder.NewSubmitter(w.bidder).Finish(ctx, late, bytes.NewReader(file), mustChecked(t, file, w.bidderCert))
	if apiCode(err) != "bid.deadline_passed" {
		t.Fatalf("completed at the deadline: %v, want bid.deadline_passed", err)
	}
	incomplete, err := w.ta.Blob.ListIncomplete(ctx, w.ta.setup.Config.Blob.BidsBucket, "")
	if err != nil || len(incomplete) != 0 {
		t.Errorf("incomplete uploads after the late refusal: %v, %v", incomplete, err)
	}
	if err := w.bidder.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(w.tender.ID)+"/sections/BD1/uploads",
		opening.StartUploadRequest{Kind: "summary", Size: 10, SHA256: sum}, nil); apiCode(err) != "bid.deadline_passed" {
		t.Errorf("starting an upload after the deadline: %v", err)
	}
}

// mustChecked is bidder.Check of an in-memory file with the key of cert, as the bidder's
// tool checks it before sending anything.
func mustChecked(tb testing.TB, file []byte, cert *devpki.Issued) bidder.FileDigest {
	tb.Helper()
	id, err := seal.NewCertIdentity(cert.Cert, cert.Key)
	if err != nil {
		tb.Fatal(err)
	}
	d, err := bidder.Check(bytes.NewReader(file), id)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// second returns the error of a (value, error) pair.
func second[T any](_ T, err error) error { return err }

// TestResumeAfterCrash: the tool stores a part, "crashes", and a resume sends only what is
// missing and completes; a completed upload cannot be resumed again.
func TestResumeAfterCrash(t *testing.T) {
	w := mustSubmissionWorld(t)
	ctx := context.Background()
	file := mustSeal(t, w.binding(seal.Summary), []byte("报价"), w.bidderCert)
	sum := sha256Hex(file)
	var tk opening.UploadTicket
	if err := w.bidder.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(w.tender.ID)+"/sections/BD1/uploads",
		opening.StartUploadRequest{Kind: "summary", Size: int64(len(file)), SHA256: sum}, &tk); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, tk.PartURLs[1], bytes.NewReader(file))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("part PUT: %v %v", resp, err)
	}
	resp.Body.Close()

	var resumed opening.UploadTicket
	if err := w.bidder.Do(ctx, http.MethodGet, "/api/v1/uploads/"+string(tk.Upload.ID), nil, &resumed); err != nil {
		t.Fatal(err)
	}
	if len(resumed.Done) != 1 || resumed.Done[0].Number != 1 || len(resumed.PartURLs) != 0 {
		t.Fatalf("resume ticket: done %v, urls %v; want part 1 done and nothing to send", resumed.Done, resumed.PartURLs)
	}
	rc, err := bidder.NewSubmitter(w.bidder).Resume(ctx, string(tk.Upload.ID), bytes.NewReader(file), mustChecked(t, file, w.bidderCert))
	if err != nil || rc.Envelopes[0].SHA256 != sum {
		t.Fatalf("resume: %+v, %v", rc, err)
	}
	if err := w.bidder.Do(ctx, http.MethodGet, "/api/v1/uploads/"+string(tk.Upload.ID), nil, nil); apiCode(err) != "upload.closed" {
		t.Errorf("resuming a completed upload: %v, want upload.closed", err)
	}
}
