package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
	"github.com/kaiping/kaiping/pdfdoc"
	"github.com/kaiping/kaiping/storage/blob"
	"github.com/kaiping/kaiping/storage/postgres"
)

// mustDecryptRound checks in the bidders given, opens the decrypt window, has the first
// `unlocking` of them hand in their keys and waits until those are verified.
func (w *hallWorld) mustDecryptRound(t *testing.T, checkIn []*hallBidder, unlocking int) opening.HallStatus {
	t.Helper()
	w.mustMove(t, opening.HallCheckingIn, 0)
	for _, b := range checkIn {
		if err := w.checkIn(b); err != nil {
			t.Fatalf("%s checks in: %v", b.name, err)
		}
	}
	st := w.mustMove(t, opening.HallDecrypting, 0)
	for _, b := range checkIn[:unlocking] {
		w.mustUnlockAll(t, b)
	}
	for _, b := range checkIn[:unlocking] {
		w.waitVerified(t, b)
	}
	return st
}

// waitExports waits until the section has n ledgered exports.
func (w *hallWorld) waitExports(t *testing.T, n int) []opening.RecordExport {
	t.Helper()
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		var out struct{ Exports []opening.RecordExport }
		if err := w.host.Do(context.Background(), http.MethodGet, w.hallPath("/record/exports"), nil, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Exports) >= n {
			return out.Exports
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("%d exports after 30s, want %d", len(out.Exports), n)
		}
	}
}

// download GETs path with c's session and returns the body, or the error code.
func download(t *testing.T, c *apiclient.Client, path string) ([]byte, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.BaseURL+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		var eb struct{ Error struct{ Code string } }
		_ = json.Unmarshal(body, &eb)
		return nil, resp.Header, eb.Error.Code
	}
	return body, resp.Header, ""
}

var pdfPages = regexp.MustCompile(`(?s)/Type /Pages\n.*?/Count (\d+)`)

// mustPDF checks that b is a PDF and returns its page count.
func mustPDF(t *testing.T, b []byte) int {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("%PDF-")) || !bytes.Contains(b[max(0, len(b)-1024):], []byte("%%EOF")) {
		t.Fatalf("not a PDF: %q…", b[:min(len(b), 16)])
	}
	m := pdfPages.FindSubmatch(b)
	if m == nil {
		t.Fatal("the PDF has no page tree")
	}
	n, _ := strconv.Atoi(string(m[1]))
	if objs := len(regexp.MustCompile(`/Type /Page\n`).FindAll(b, -1)); objs != n {
		t.Errorf("the page tree counts %d pages, the file holds %d", n, objs)
	}
	return n
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestRecordExport: the published record (three bids opened, one 撤销) is archived as PDF
// and canonical JSON under a 15-year compliance lock, with both digests in the ledger; the
// bidders of the section, hosts and supervisors download exactly what was ledgered; a bidder
// of another tender, an administrator and anyone before publication cannot.
func TestRecordExport(t *testing.T) {
	w := mustHallWorld(t, 4, nil)
	ctx := context.Background()
	for i, b := range w.bidders {
		w.mustSubmit(t, b, seal.Summary, summaryJSON(strconv.Itoa(9800000+i*1000), 180+i))
	}
	// A bidder of another tender.
	outsiderCert := w.ta.mustRegister(t, w.admin, devpki.ECDSA, "外标段投标人", kaiping.RoleBidder)
	outsider := w.ta.mustLogin(t, outsiderCert)
	other := demoTender(w.ta.clock.Now().Add(20 * time.Minute))
	other.Code = "KP-2026-OTHER"
	var otherTender opening.Tender
	if err := w.host.Do(ctx, http.MethodPost, "/api/v1/tenders", other, &otherTender); err != nil {
		t.Fatal(err)
	}
	if err := outsider.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(otherTender.ID)+"/sections/BD1/registrations",
		opening.RegisterRequest{Certificate: identity.Fingerprint(outsiderCert.Cert.Raw)}, nil); err != nil {
		t.Fatal(err)
	}

	supervisorCert := w.ta.mustRegister(t, w.admin, devpki.SM2, "监督员", kaiping.RoleSupervisor)
	w.sealNow(t)
	if _, _, code := download(t, w.bidders[0].c, w.hallPath("/record.json")); code != "hall.no_record" {
		t.Errorf("download before publication: %q, want hall.no_record", code)
	}
	st := w.mustDecryptRound(t, w.bidders, 3)
	w.ta.clock.Set(*st.WindowClosesAt)
	if err := w.ta.Hall.Due(ctx); err != nil {
		t.Fatal(err)
	}
	w.relogin(t)
	outsider, supervisor := w.ta.mustLogin(t, outsiderCert), w.mustAssignSupervisor(t, w.ta.mustLogin(t, supervisorCert))
	w.admin = w.ta.mustLogin(t, w.ta.setup.Admin)
	pr, rec := w.record(t, w.host)
	for _, b := range rec.Bids {
		if (b.Status == opening.OutcomeRevoked) != (b.Bidder == w.bidders[3].id) {
			t.Fatalf("record line %+v", b)
		}
	}

	exports := w.waitExports(t, 2)
	byFormat := map[string]opening.RecordExport{}
	for _, e := range exports {
		byFormat[e.Format] = e
		if e.Round != 1 || e.ObjectVersion == "" || e.LedgerSeq == 0 {
			t.Errorf("export %+v", e)
		}
	}
	if byFormat["json"].SHA256 != pr.Digest {
		t.Errorf("the JSON export's SHA-256 %s is not the record's digest %s", byFormat["json"].SHA256, pr.Digest)
	}

	// The ledger holds both digests, in the entry the exports name.
	var detail []byte
	var seq int64
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT seq, detail FROM ledger_entries WHERE action = 'hall.record_export'`).Scan(&seq, &detail); err != nil {
		t.Fatal(err)
	}
	var ledgered struct {
		Record  string
		Objects []struct{ Format, Key, Version, SHA256 string }
	}
	if err := json.Unmarshal(detail, &ledgered); err != nil {
		t.Fatal(err)
	}
	if ledgered.Record != pr.Digest || len(ledgered.Objects) != 2 {
		t.Errorf("ledger entry %s", detail)
	}
	for _, o := range ledgered.Objects {
		e := byFormat[o.Format]
		if o.SHA256 != e.SHA256 || o.Key != e.ObjectKey || o.Version != e.ObjectVersion || e.LedgerSeq != seq {
			t.Errorf("ledgered %+v, exported %+v (seq %d)", o, e, seq)
		}
	}

	// Everyone entitled downloads exactly what was ledgered.
	for _, c := range []*apiclient.Client{w.bidders[1].c, w.bidders[3].c, w.host, supervisor} {
		body, h, code := download(t, c, w.hallPath("/record.json"))
		if code != "" || !bytes.Equal(body, pr.Record) || h.Get("X-Kaiping-SHA256") != pr.Digest {
			t.Fatalf("JSON download: %q, %d bytes", code, len(body))
		}
		pdf, h, code := download(t, c, w.hallPath("/record.pdf?round=1"))
		if code != "" || sha256Hex(pdf) != byFormat["pdf"].SHA256 || h.Get("Content-Type") != "application/pdf" {
			t.Fatalf("PDF download: %q, %d bytes", code, len(pdf))
		}
		if n := mustPDF(t, pdf); n != 1 {
			t.Errorf("the record of four bids has %d pages, want 1", n)
		}
	}
	refusals := []struct {
		name string
		c    *apiclient.Client
		path string
		code string
	}{
		{"a bidder of another tender", outsider, "/record.pdf", "hall.not_bidder"},
		{"a bidder of another tender, the list", outsider, "/record/exports", "hall.not_bidder"},
		{"an administrator", w.admin, "/record.json", "auth.role_forbidden"},
		{"a round that does not exist", w.host, "/record.pdf?round=3", "hall.record_round"},
		{"a second round of a single-envelope tender", w.host, "/record.pdf?round=2", "hall.no_record"},
	}
	for _, r := range refusals {
		if _, _, code := download(t, r.c, w.hallPath(r.path)); code != r.code {
			t.Errorf("%s: %q, want %s", r.name, code, r.code)
		}
	}

	w.mustMove(t, opening.HallConfirming, 0)
	w.mustMove(t, opening.HallClosed, 0)
	w.refused(t, "technical results for a single-envelope tender", "hall.not_two_envelope", func() error {
		return second(w.qualify(w.host, pass(w.bidders[0]), pass(w.bidders[1]), pass(w.bidders[2])))
	})

	// Both objects are under a 15-year compliance lock: nobody can delete them.
	bucket := w.ta.setup.Config.Blob.ArchiveBucket
	for _, e := range exports {
		info, err := w.ta.Blob.StatVersion(ctx, bucket, e.ObjectKey, e.ObjectVersion)
		if err != nil {
			t.Fatal(err)
		}
		want := e.ExportedAt.AddDate(15, 0, 0)
		if info.Retention.Mode != blob.Compliance || info.Retention.RetainUntil.Before(want.Add(-time.Second)) || info.Retention.RetainUntil.After(want.Add(time.Second)) {
			t.Errorf("%s retention %+v, want COMPLIANCE until %v", e.Format, info.Retention, want)
		}
		if err := w.ta.Blob.Delete(ctx, bucket, e.ObjectKey, e.ObjectVersion); kaiping.CodeOf(err) != blob.CodeLocked {
			t.Errorf("deleting the %s export: %v, want %s", e.Format, err, blob.CodeLocked)
		}
	}
	w.ta.ledgerSize(t)
}

// crashingStore ledgers nothing: the process "dies" after storing the objects.
type crashingStore struct{ *postgres.OpeningStore }

func (crashingStore) AddRecordExports(context.Context, kaiping.Actor, opening.RecordRef, []opening.RecordExport) error {
	return errors.New("the exporter died before the ledger")
}

// strangerArchive finds another object under every key: never ours.
type strangerArchive struct{ archiveObjects }

func (a strangerArchive) PutLocked(context.Context, string, string, []byte, time.Time) (opening.ArchivedObject, error) {
	return opening.ArchivedObject{}, kaiping.E(kaiping.KindConflict, blob.CodeExists, "文件已存在，不能覆盖")
}

func (a strangerArchive) Stat(_ context.Context, key string) (opening.ArchivedObject, error) {
	return opening.ArchivedObject{Key: key, Version: "v", SHA256: sha256Hex([]byte("forged")), RetainUntil: time.Now().AddDate(15, 0, 0)}, nil
}

// TestRecordExportResumes: the record waits, queued, from its publication until its export
// is ledgered, and nobody can download it meanwhile. An exporter that stored the objects and
// died before the ledger leaves it queued; the next one finds the locked objects under their
// keys and ledgers them, once. Objects that are not what the record renders to are never
// ledgered: the record stays queued and the failure is reported.
func TestRecordExportResumes(t *testing.T) {
	w := mustHallWorld(t, 3, nil)
	ctx := context.Background()
	for i, b := range w.bidders {
		w.mustSubmit(t, b, seal.Summary, summaryJSON(strconv.Itoa(500000+i), 30))
	}
	w.sealNow(t)
	w.mustDecryptRound(t, w.bidders, 3)
	// Stop the app's exporter (and its other background jobs), and publish with a hall that
	// archives nothing, as a process that dies right after publishing: this test exports.
	w.ta.stop()
	w.ta.jobs.Wait()
	store := postgres.NewOpeningStore(w.ta.DB, w.ta.Ledger)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	hall := opening.NewHall(store, nil, w.ta.KEK, w.ta.clock, quiet, opening.DefaultHallConfig)
	host := kaiping.ActorAt(w.hostID(t), netip.MustParseAddr("127.0.0.1"), w.ta.clock.Now())
	if _, err := hall.Move(ctx, host, w.tender.ID, "BD1", opening.TransitionRequest{To: opening.HallPublished}); err != nil {
		t.Fatal(err)
	}
	queued := func() int {
		var n int
		if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM hall_record_export_queue`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if queued() != 1 {
		t.Fatal("the published record is not queued for export")
	}
	if _, _, code := download(t, w.bidders[0].c, w.hallPath("/record.pdf")); code != "hall.record_archiving" {
		t.Errorf("download before the export: %q, want hall.record_archiving", code)
	}

	fonts, err := pdfdoc.LoadFonts(pdfdoc.DefaultCJKFont, pdfdoc.DefaultLatinFont)
	if err != nil {
		t.Fatal(err)
	}
	archive := archiveObjects{store: w.ta.Blob, bucket: w.ta.setup.Config.Blob.ArchiveBucket, period: blob.DefaultArchiveRetention}
	exporter := func(s opening.RecordExportStore, a opening.RecordArchive) *opening.RecordExporter {
		return opening.NewRecordExporter(s, a, fonts, w.ta.clock, quiet)
	}
	exportEntries := func() int {
		var n int
		if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE action = 'hall.record_export'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	if n, err := exporter(store, strangerArchive{archive}).ExportPending(ctx); n != 0 || kaiping.CodeOf(err) != "internal" {
		t.Errorf("export over objects that are not ours: %d, %v; want an internal error", n, err)
	}
	if queued() != 1 || exportEntries() != 0 {
		t.Fatal("an export over foreign objects was ledgered")
	}
	if n, err := exporter(crashingStore{store}, archive).ExportPending(ctx); n != 0 || err == nil {
		t.Fatalf("the crashing exporter: %d, %v", n, err)
	}
	if queued() != 1 || exportEntries() != 0 {
		t.Fatal("the interrupted export left no trace in the queue")
	}
	n, err := exporter(store, archive).ExportPending(ctx)
	if n != 1 || err != nil {
		t.Fatalf("the export after the crash: %d, %v", n, err)
	}
	if n, err := exporter(store, archive).ExportPending(ctx); n != 0 || err != nil {
		t.Errorf("a second pass: %d, %v; want nothing to do", n, err)
	}
	if queued() != 0 || exportEntries() != 1 {
		t.Errorf("after the export: %d queued, %d ledger entries; want 0 and 1", queued(), exportEntries())
	}
	exports := w.waitExports(t, 2)
	pr, _ := w.record(t, w.host)
	body, _, code := download(t, w.bidders[2].c, w.hallPath("/record.json"))
	if code != "" || !bytes.Equal(body, pr.Record) || len(exports) != 2 {
		t.Errorf("download after the export: %q", code)
	}
	w.ta.ledgerSize(t)
}

// hostID is the host's principal ID.
func (w *hallWorld) hostID(t *testing.T) kaiping.ID {
	t.Helper()
	var me kaiping.Principal
	if err := w.host.Do(context.Background(), http.MethodGet, "/api/v1/me", nil, &me); err != nil {
		t.Fatal(err)
	}
	return me.ID
}
