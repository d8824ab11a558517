package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// publicRecord GETs the public record of a tender's section without any session and
// returns the status, the body and the error code.
func publicRecord(t *testing.T, base string, tender kaiping.ID, section string) (int, []byte, string) {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/public/tenders/" + string(tender) + "/sections/" + section + "/record")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var eb struct{ Error struct{ Code string } }
	_ = json.Unmarshal(body, &eb)
	return resp.StatusCode, body, eb.Error.Code
}

// TestFinalRecordArchivedAndPublic: when the hall closes, the final record — the published
// record with every bidder's confirmation or its absence (视为认可, as this tender says),
// the objections with their answers and each bid's outcome — is archived as PDF and JSON
// under the lock beside the published record (which stays), and ledgered; the closing entry
// names its digest. The published record is readable by anyone without a login, on the
// JSON route and the page, showing the names, prices, outcomes, times, digests and ledger
// references and nothing else: no IDs, certificates, addresses, staff, bidders who did not
// bid; before publication, and for a tender not published, it answers only "not published".
func TestFinalRecordArchivedAndPublic(t *testing.T) {
	w := mustHallWorld(t, 4, func(_ *submissionWorld, tender *opening.Tender) { tender.SilenceConsents = true })
	ctx := context.Background()
	prices := []string{"8800000", "9100000.5", "8650000", "9900000"}
	for i, b := range w.bidders {
		w.mustSubmit(t, b, seal.Summary, summaryJSON(prices[i], 200+i))
	}
	a, b, c, d := w.bidders[0], w.bidders[1], w.bidders[2], w.bidders[3]
	const absentName = "只报名未投标公司"
	w.mustBidder(t, devpki.ECDSA, absentName)
	other := mustHallWorldIn(t, w.ta, 3, func(_ *submissionWorld, tender *opening.Tender) { tender.Code = "KP-2026-UNPUBLISHED" })
	for i, x := range other.bidders {
		other.mustSubmit(t, x, seal.Summary, summaryJSON(prices[i], 100+i))
	}

	notPublished := func(name string, tender kaiping.ID, section string) {
		t.Helper()
		if status, body, code := publicRecord(t, w.ta.base, tender, section); status != http.StatusNotFound || code != "record.not_published" {
			t.Errorf("%s: %d %s, want 404 record.not_published", name, status, body)
		}
	}
	notPublished("before the deadline", w.tender.ID, "BD1")
	w.sealNow(t)
	st := w.mustDecryptRound(t, []*hallBidder{a, b, c, d}, 3)
	notPublished("while decrypting", w.tender.ID, "BD1")
	notPublished("an unknown tender", kaiping.NewID(), "BD1")
	notPublished("not an ID", "x'--", "BD1")
	notPublished("an unknown section", w.tender.ID, "BD9")
	w.ta.clock.Set(*st.WindowClosesAt)
	if err := w.ta.Hall.Due(ctx); err != nil {
		t.Fatal(err)
	}
	w.relogin(t)
	notPublished("another tender, not published", other.tender.ID, "BD1")
	pr, _ := w.record(t, w.host)

	// Public, without a login: what the law makes public, and nothing more.
	status, body, _ := publicRecord(t, w.ta.base, w.tender.ID, "BD1")
	if status != http.StatusOK {
		t.Fatalf("the published record without a login: %d %s", status, body)
	}
	var pub opening.PublicRecord
	if err := json.Unmarshal(body, &pub); err != nil {
		t.Fatal(err)
	}
	if pub.TenderTitle != w.tender.Title || len(pub.Rounds) != 1 || pub.Rounds[0].Digest != pr.Digest || pub.Rounds[0].LedgerSeq != pr.LedgerSeq ||
		len(pub.Rounds[0].Bids) != 4 || !pub.OpeningAt.Equal(w.tender.Deadline) {
		t.Fatalf("public record: %s", body)
	}
	text := string(body)
	for i, x := range w.bidders {
		if !strings.Contains(text, x.name) {
			t.Errorf("the public record lacks %s", x.name)
		}
		if i < 3 && !strings.Contains(text, `"`+prices[i]) {
			t.Errorf("the public record lacks %s's price %s", x.name, prices[i])
		}
	}
	if !strings.Contains(text, opening.OutcomeLabel(opening.OutcomeRevoked)) {
		t.Errorf("the public record does not say the fourth bid was revoked: %s", body)
	}
	mustNotLeak := func(when string, text string) {
		t.Helper()
		leaks := []string{absentName, "开标主持人", "127.0.0.1", string(w.hostID(t)), "certificate", "signature", "sha256\":\"" + w.envelopeDigest(t)}
		for _, x := range w.bidders {
			leaks = append(leaks, string(x.id))
		}
		for _, l := range leaks {
			if strings.Contains(text, l) {
				t.Errorf("%s: the public record shows %q:\n%s", when, l, text)
			}
		}
	}
	mustNotLeak("published", text)

	// Confirmation: A and B confirm, C objects and is answered, D (revoked) says nothing.
	w.mustMove(t, opening.HallConfirming, 0)
	var objection opening.Objection
	if err := c.c.Do(ctx, http.MethodPost, w.hallPath("/objections"), opening.ObjectionRequest{Text: "丙公司对唱标顺序有异议"}, &objection); err != nil {
		t.Fatal(err)
	}
	if err := w.host.Do(ctx, http.MethodPost, w.hallPath("/objections/"+string(objection.ID)+"/answer"),
		opening.AnswerRequest{Answer: "按投标人名称排序，符合规定"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*hallBidder{a, b} {
		if err := w.confirm(x, pr.Digest, x.cert); err != nil {
			t.Fatal(err)
		}
	}
	published := w.waitExports(t, 2)
	if _, _, code := download(t, a.c, w.hallPath("/record.json?stage=final")); code != "hall.no_final_record" {
		t.Errorf("the final record before the close: %q, want hall.no_final_record", code)
	}
	if _, err := w.move(w.host, opening.HallClosed, 0); apiCode(err) != "hall.confirm_period" {
		t.Fatalf("closed with D silent before the period ends: %v", err)
	}
	w.ta.clock.Set(w.confirmEnds)
	if err := w.ta.Hall.Due(ctx); err != nil {
		t.Fatal(err)
	}
	w.relogin(t)

	// The final record, archived beside the published one.
	exports := w.waitExports(t, 4)
	var final []opening.RecordExport
	for _, e := range exports {
		if e.Stage == opening.StageFinal {
			final = append(final, e)
		}
	}
	if len(final) != 2 || len(exports) != 4 {
		t.Fatalf("exports after the close: %+v", exports)
	}
	for _, e := range published {
		if !containsExport(exports, e) {
			t.Errorf("the published record's export %+v is gone", e)
		}
	}
	for _, e := range final {
		if e.RetainUntil.Before(w.ta.clock.Now().AddDate(14, 0, 0)) || e.LedgerSeq <= pr.LedgerSeq || e.ObjectVersion == "" {
			t.Errorf("final export %+v", e)
		}
	}
	raw, hdr, code := download(t, a.c, w.hallPath("/record.json?stage=final"))
	if code != "" || hdr.Get("X-Kaiping-SHA256") != sha256Hex(raw) {
		t.Fatalf("the final record's JSON: %q, %v", code, hdr)
	}
	pdf, _, code := download(t, b.c, w.hallPath("/record.pdf?stage=final"))
	if code != "" || mustPDF(t, pdf) < 1 {
		t.Fatalf("the final record's PDF: %q", code)
	}
	f, err := opening.DecodeFinalRecord(raw)
	if err != nil {
		t.Fatal(err)
	}
	if f.RecordDigest != pr.Digest || string(f.Record) != string(pr.Record) || f.ClosedBy != opening.BySystem || !f.SilenceConsents {
		t.Errorf("final record head: %+v", f)
	}
	answers := map[kaiping.ID]opening.FinalBid{}
	for _, fb := range f.Bids {
		answers[fb.Bidder] = fb
	}
	for _, want := range []struct {
		x              *hallBidder
		answer, status string
	}{
		{a, opening.AnswerConfirmed, opening.BidOpened}, {b, opening.AnswerConfirmed, opening.BidOpened},
		{c, opening.AnswerObjected, opening.BidOpened}, {d, opening.AnswerDeemedConfirmed, opening.OutcomeRevoked},
	} {
		got := answers[want.x.id]
		if got.Answer != want.answer || got.Status != want.status || (want.answer == opening.AnswerConfirmed) != (got.Signature != nil) {
			t.Errorf("%s in the final record: %+v, want %s and %s", want.x.name, got, want.answer, want.status)
		}
	}
	if len(f.Objections) != 1 || f.Objections[0].Answer == "" || f.Objections[0].AnsweredAt == nil {
		t.Errorf("objections in the final record: %+v", f.Objections)
	}
	// The closing transition's ledger entry names the final record; its export is ledgered.
	var closing, exported int
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM ledger_entries WHERE action = 'hall.transition' AND convert_from(detail, 'UTF8')::jsonb->>'to' = 'closed' AND convert_from(detail, 'UTF8')::jsonb->>'final_record' = $1),
		(SELECT count(*) FROM ledger_entries WHERE action = 'hall.record_export' AND convert_from(detail, 'UTF8')::jsonb->>'stage' = 'final' AND convert_from(detail, 'UTF8')::jsonb->>'record' = $1)`,
		opening.RecordDigest(raw)).Scan(&closing, &exported); err != nil {
		t.Fatal(err)
	}
	if closing != 1 || exported != 1 {
		t.Errorf("ledger: %d closing entries and %d export entries name the final record, want 1 and 1", closing, exported)
	}
	w.ta.ledgerSize(t) // verifies

	// The public record now says the opening ended, and still shows nothing more.
	_, body, _ = publicRecord(t, w.ta.base, w.tender.ID, "BD1")
	if err := json.Unmarshal(body, &pub); err != nil {
		t.Fatal(err)
	}
	if fin := pub.Rounds[0].Final; fin == nil || fin.Digest != opening.RecordDigest(raw) || len(pub.Rounds[0].Archived) != 4 {
		t.Errorf("public record after the close: %s", body)
	}
	mustNotLeak("closed", string(body))
	for _, s := range []string{"丙公司对唱标顺序有异议", "按投标人名称排序"} {
		if strings.Contains(string(body), s) {
			t.Errorf("the public record shows the objection's words %q", s)
		}
	}

	// The page, without a login.
	br := mustBrowser(t)
	pg := br.open(t, w.ta.base+"/record/?tender="+string(w.tender.ID)+"&section=BD1")
	// The digest waits, folded, on the 核验 panel.
	if main := pg.waitText("#record", w.tender.Title, a.name, "8800000", opening.OutcomeLabel(opening.OutcomeRevoked), "核验"); strings.Contains(main, pr.Digest) {
		t.Errorf("the record's digest shows outside the closed 核验 panel:\n%s", main)
	}
	pg.click(".round details.verify summary")
	pg.waitText(".round details.verify", pr.Digest, "审计日志")
	mustNotLeak("the page", pg.text("main"))
	if strings.Contains(pg.text("main"), "请先登录") {
		t.Error("the public page asks to log in")
	}
	un := br.open(t, w.ta.base+"/record/?tender="+string(other.tender.ID)+"&section=BD1")
	un.waitText("#record", "尚未公布")
	if strings.Contains(un.text("main"), other.tender.Title) {
		t.Errorf("the page shows an unpublished tender: %s", un.text("main"))
	}

	// A hall that fails at publication (流标: two of three bids opened) ends there: its final
	// record is archived with the published one, nobody being asked to confirm.
	if _, err := w.ta.Submit.SealDue(ctx); err != nil {
		t.Fatal(err)
	}
	other.relogin(t)
	st = other.mustDecryptRound(t, other.bidders, 2)
	w.ta.clock.Set(*st.WindowClosesAt)
	if err := w.ta.Hall.Due(ctx); err != nil {
		t.Fatal(err)
	}
	other.relogin(t)
	if exports := other.waitExports(t, 4); len(exports) != 4 {
		t.Fatalf("exports of the failed hall: %+v", exports)
	}
	raw, _, code = download(t, other.bidders[0].c, other.hallPath("/record.json?stage=final"))
	if code != "" {
		t.Fatalf("the failed hall's final record: %s", code)
	}
	if f, err = opening.DecodeFinalRecord(raw); err != nil {
		t.Fatal(err)
	}
	for _, fb := range f.Bids {
		if fb.Answer != opening.AnswerNone {
			t.Errorf("%s in a failed hall's final record: %s, want %s", fb.BidderName, fb.Answer, opening.AnswerNone)
		}
	}
	if _, body, _ := publicRecord(t, w.ta.base, other.tender.ID, "BD1"); !strings.Contains(string(body), opening.HallFailed.Label()) {
		t.Errorf("the failed hall's public record: %s", body)
	}
	w.ta.ledgerSize(t)
}

func containsExport(es []opening.RecordExport, e opening.RecordExport) bool {
	for _, x := range es {
		if x.Stage == e.Stage && x.Format == e.Format && x.SHA256 == e.SHA256 && x.LedgerSeq == e.LedgerSeq {
			return true
		}
	}
	return false
}

// envelopeDigest is the SHA-256 of one sealed envelope of the section (in the record, not
// public).
func (w *hallWorld) envelopeDigest(t *testing.T) string {
	t.Helper()
	var d string
	if err := w.ta.DB.Pool.QueryRow(context.Background(), `SELECT sha256 FROM bid_envelopes WHERE section_id = $1 LIMIT 1`,
		w.section.ID).Scan(&d); err != nil {
		t.Fatal(err)
	}
	return d
}
