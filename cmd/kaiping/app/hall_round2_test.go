package app

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/rescue"
	"github.com/kaiping/kaiping/opening/seal"
)

// twoEnvelopeWorld is a two-envelope tender (双信封) with n bidders, each submitting a
// summary, a technical and a commercial envelope, and (with holders > 0) a rescue plan of
// that many supervisors, every share needed; tune changes the tender further.
func mustTwoEnvelopeWorld(t *testing.T, n, holders int, tune ...func(*opening.Tender)) (*hallWorld, []*rescueHolder) {
	t.Helper()
	var hs []*rescueHolder
	w := mustHallWorld(t, n, func(w *submissionWorld, tender *opening.Tender) {
		tender.Plan = opening.TwoEnvelope
		for i := range holders {
			cert := w.ta.mustRegister(t, w.admin, devpki.SM2, "监督"+strconv.Itoa(i), kaiping.RoleSupervisor)
			h := &rescueHolder{cert: cert, c: w.ta.mustLogin(t, cert)}
			var me kaiping.Principal
			if err := h.c.Do(context.Background(), http.MethodGet, "/api/v1/me", nil, &me); err != nil {
				t.Fatal(err)
			}
			hs = append(hs, h)
			tender.Rescue.Holders = append(tender.Rescue.Holders, me.ID)
		}
		if holders > 0 {
			tender.Rescue.Enabled, tender.Rescue.Threshold = true, holders
		}
		for _, f := range tune {
			f(tender)
		}
	})
	var to []seal.Recipient
	if holders > 0 {
		pub, _ := ecdh.P256().NewPublicKey(w.tender.Rescue.PublicKey)
		r, err := seal.NewRescueRecipient(pub)
		if err != nil {
			t.Fatal(err)
		}
		to = append(to, r)
	}
	tech := make([]byte, 100<<10)
	rand.Read(tech)
	for i, b := range w.bidders {
		recipients := append([]seal.Recipient{certRecipient(t, b.cert)}, to...)
		w.mustSubmit(t, b, seal.Summary, summaryJSON(strconv.Itoa(7000000+i*10000), 200+i), recipients...)
		w.mustSubmit(t, b, seal.Technical, tech, recipients...)
		w.mustSubmit(t, b, seal.Commercial, []byte("商务标："+b.name), recipients...)
	}
	return w, hs
}

func (w *hallWorld) qualify(c *apiclient.Client, results ...opening.QualificationResult) (opening.HallStatus, error) {
	var st opening.HallStatus
	err := c.Do(context.Background(), http.MethodPost, w.hallPath("/qualification"), opening.QualificationRequest{Results: results}, &st)
	return st, err
}

func pass(b *hallBidder) opening.QualificationResult {
	return opening.QualificationResult{Bidder: b.id, Passed: true}
}

func fail(b *hallBidder, reason string) opening.QualificationResult {
	return opening.QualificationResult{Bidder: b.id, Reason: reason}
}

// mustCloseRound has the bidders given confirm the published record and closes the hall.
func (w *hallWorld) mustCloseRound(t *testing.T, confirming ...*hallBidder) opening.PublishedRecord {
	t.Helper()
	w.mustMove(t, opening.HallConfirming, 0)
	pr, _ := w.record(t, w.host)
	for _, b := range confirming {
		if err := w.confirm(b, pr.Digest, b.cert); err != nil {
			t.Fatalf("%s confirms: %v", b.name, err)
		}
	}
	w.mustMove(t, opening.HallClosed, 0)
	return pr
}

// envelopeOf reads one of b's envelopes in the hall: its ID, state and whether it has no key.
func (w *hallWorld) envelopeOf(t *testing.T, b *hallBidder, kind seal.EnvelopeKind) (id kaiping.ID, state string, keyless bool) {
	t.Helper()
	if err := w.ta.DB.Pool.QueryRow(context.Background(), `SELECT envelope_id, state, file_key_wrapped IS NULL FROM hall_envelopes
		WHERE bidder_id = $1 AND kind = $2`, b.id, string(kind)).Scan(&id, &state, &keyless); err != nil {
		t.Fatal(err)
	}
	return id, state, keyless
}

// TestHallSecondRound runs a two-envelope tender through both rounds. Round 1 opens the
// summaries and technical envelopes only (戊 never decrypts: 撤销). The host records the
// technical stage: 甲, 乙 and 丙 pass, 丁 does not; 戊 does not proceed. Round 2 opens the
// commercial envelopes of the three who passed (丙's by the rescue plan), publishes a record
// that follows the first, and closes confirmed. 丁's commercial envelope is never opened: its
// check-in, its key, the supervisors' shares and a write straight to the database are
// all refused, and it ends sealed with no key. Every refusal changes nothing.
func TestHallSecondRound(t *testing.T) {
	w, holders := mustTwoEnvelopeWorld(t, 5, 2)
	ctx := context.Background()
	a, b, c, d, e := w.bidders[0], w.bidders[1], w.bidders[2], w.bidders[3], w.bidders[4]
	shares := []rescue.Share{holders[0].mustShare(t, w), holders[1].mustShare(t, w)}
	w.refused(t, "qualify before the opening", "hall.state", func() error { return second(w.qualify(w.host, pass(a))) })
	w.sealNow(t)
	for _, h := range holders {
		h.c = w.ta.mustLogin(t, h.cert)
	}

	// Round 1: the technical envelopes only; the price (the summary) waits for round 2.
	for _, x := range w.bidders {
		if hs := w.headers(t, x); len(hs) != 1 || hs[0].Kind != "technical" {
			t.Fatalf("%s's envelopes in round 1: %+v", x.name, hs)
		}
	}
	st := w.mustDecryptRound(t, w.bidders, 4)
	aCommercial, _, _ := w.envelopeOf(t, a, seal.Commercial)
	aSummary, _, _ := w.envelopeOf(t, a, seal.Summary)
	w.refused(t, "a commercial envelope in round 1", "hall.not_this_round", func() error {
		return second(w.unlock(a, aCommercial, make([]byte, 32)))
	})
	w.refused(t, "a summary (the price) in round 1", "hall.not_this_round", func() error {
		return second(w.unlock(a, aSummary, make([]byte, 32)))
	})
	w.ta.clock.Set(*st.WindowClosesAt)
	if err := w.ta.Hall.Due(ctx); err != nil {
		t.Fatal(err)
	}
	w.relogin(t)
	for _, h := range holders {
		h.c = w.ta.mustLogin(t, h.cert)
	}
	first := w.mustCloseRound(t, a, b, c, d)
	w.waitExports(t, 4) // the published and the final record, each as PDF and JSON; then nothing moves the closed hall
	_, rec1 := w.record(t, w.host)
	if rec1.ValidBids != 4 || rec1.Outcome != opening.BidOpened || len(rec1.Fields) != 0 {
		t.Fatalf("round 1: %d valid, %s, fields %+v", rec1.ValidBids, rec1.Outcome, rec1.Fields)
	}
	for _, x := range rec1.Bids {
		if x.Values != nil {
			t.Fatalf("round 1's record shows %s's summary: %+v", x.BidderName, x.Values)
		}
	}
	if strings.Contains(string(first.Record), "7000000") {
		t.Fatalf("round 1's record holds 甲's price: %s", first.Record)
	}

	// The technical stage's results, checked against round 1's record.
	const reason = "技术方案不满足招标文件第三章的实质性要求"
	refusals := []struct {
		name    string
		c       *apiclient.Client
		results []opening.QualificationResult
		code    string
	}{
		{"a bidder records the results", a.c, []opening.QualificationResult{pass(a), pass(b), pass(c), fail(d, reason)}, "auth.role_forbidden"},
		{"a bidder left out", w.host, []opening.QualificationResult{pass(a), pass(b), pass(c)}, "hall.qualify_missing"},
		{"a bidder not opened in round 1 passes", w.host, []opening.QualificationResult{pass(a), pass(b), pass(c), fail(d, reason), pass(e)}, "hall.qualify_not_opened"},
		{"a failure without a reason", w.host, []opening.QualificationResult{pass(a), pass(b), pass(c), fail(d, " ")}, "hall.qualify_reason"},
		{"a bidder not in the set", w.host, []opening.QualificationResult{pass(a), pass(b), pass(c), fail(d, reason), {Bidder: kaiping.NewID(), Passed: true}}, "hall.qualify_unknown_bidder"},
		{"a bidder twice", w.host, []opening.QualificationResult{pass(a), pass(b), pass(c), fail(d, reason), pass(a)}, "hall.qualify_duplicate"},
	}
	for _, r := range refusals {
		w.refused(t, r.name, r.code, func() error { return second(w.qualify(r.c, r.results...)) })
	}
	w.refused(t, "qualified through the transitions", "hall.transition", func() error { return second(w.move(w.host, opening.HallQualified, 0)) })
	st, err := w.qualify(w.host, fail(d, reason), pass(c), pass(b), pass(a))
	if err != nil || st.State != opening.HallQualified || st.Round != 2 || st.RecordDigest != "" || st.WindowOpensAt != nil {
		t.Fatalf("qualify: %+v, %v", st, err)
	}
	w.refused(t, "qualify twice", "hall.state", func() error { return second(w.qualify(w.host, pass(a), pass(b), pass(c), fail(d, reason))) })
	var results struct{ Results []opening.QualificationResult }
	if err := e.c.Do(ctx, http.MethodGet, w.hallPath("/qualification"), nil, &results); err != nil || len(results.Results) != 5 {
		t.Fatalf("the results as 戊 reads them: %+v, %v", results, err)
	}
	for _, r := range results.Results {
		if r.Passed != (r.Bidder == a.id || r.Bidder == b.id || r.Bidder == c.id) || r.Bidder == e.id && r.Reason != opening.ReasonFirstRoundNotOpened {
			t.Errorf("result %+v", r)
		}
	}
	dCommercial, state, _ := w.envelopeOf(t, d, seal.Commercial)
	if state != opening.EnvRetained {
		t.Fatalf("丁's commercial envelope is %s, want retained", state)
	}
	if _, state, _ := w.envelopeOf(t, d, seal.Summary); state != opening.EnvRetained {
		t.Fatalf("丁's summary is %s, want retained", state)
	}
	if v := w.view(t, d); len(v.Envelopes) != 2 || v.Envelopes[0].State != opening.EnvRetained || v.Envelopes[1].State != opening.EnvRetained || v.Round != 2 {
		t.Errorf("丁's view of round 2: round %d, %+v", v.Round, v.Envelopes)
	}

	// Round 2: the commercial envelopes of those who passed.
	w.refused(t, "a commercial envelope before round 2's window", "hall.window_not_open", func() error {
		return second(w.unlock(a, aCommercial, make([]byte, 32)))
	})
	w.mustMove(t, opening.HallCheckingIn, 0)
	w.refused(t, "丁 checks in to round 2", "hall.not_passed", func() error { return w.checkIn(d) })
	for _, x := range []*hallBidder{a, b, c} {
		if err := w.checkIn(x); err != nil {
			t.Fatalf("%s checks in to round 2: %v", x.name, err)
		}
	}
	w.mustMove(t, opening.HallDecrypting, 0)
	var dKey []byte
	for _, h := range w.headers(t, d) {
		if h.Kind == "commercial" {
			dKey = fileKey(t, d, h)
		}
	}
	w.refused(t, "丁 hands in its commercial key", "hall.not_passed", func() error {
		return second(w.unlock(d, dCommercial, dKey))
	})
	w.refused(t, "the supervisors open 丁's commercial envelope", "hall.not_passed", func() error {
		return second(w.stanzas(holders[0].c, d.id))
	})
	w.refused(t, "the supervisors hand in partials for 丁's commercial envelope", "hall.not_passed", func() error {
		return second(w.submitPartials(holders[0].c, opening.RescuePartialsRequest{Bidder: d.id,
			Partials: []rescue.Partial{{Envelope: dCommercial, Index: shares[0].Index, Point: make([]byte, 65), Proof: make([]byte, 64)}}}))
	})
	if _, err := w.ta.DB.Pool.Exec(ctx, `UPDATE hall_envelopes SET state = 'queued', queued_at = now(), via = 'bidder',
		file_key_wrapped = $2 WHERE envelope_id = $1`, dCommercial, dKey); err == nil || !strings.Contains(err.Error(), "stays sealed") {
		t.Errorf("writing a key for 丁's commercial envelope in the database: %v", err)
	}
	aTechnical, _, _ := w.envelopeOf(t, a, seal.Technical)
	w.refused(t, "a round 1 envelope in round 2", "hall.not_this_round", func() error {
		return second(w.unlock(a, aTechnical, make([]byte, 32)))
	})
	for _, x := range []*hallBidder{a, b} {
		w.mustUnlockAll(t, x)
	}
	// 丙 lost its key: the two supervisors rescue its summary and commercial envelope.
	for i, h := range holders {
		if _, err := w.submitPartials(h.c, w.mustPartials(t, h, c.id, shares[i])); err != nil {
			t.Fatalf("share %d for 丙: %v", i, err)
		}
	}
	for _, x := range []*hallBidder{a, b, c} {
		v := w.waitVerified(t, x)
		if len(v.Envelopes) != 2 {
			t.Fatalf("%s's round 2: %+v", x.name, v.Envelopes)
		}
		for _, e := range v.Envelopes {
			if e.State != opening.EnvDecrypted || e.Kind != "commercial" && e.Kind != "summary" {
				t.Fatalf("%s's round 2: %+v", x.name, v.Envelopes)
			}
		}
	}
	w.mustMove(t, opening.HallPublished, 0) // every envelope of the round decrypted; 丁's does not count
	second2, rec2 := w.record(t, w.host)
	var full opening.RoundRecord
	if full, err = opening.DecodeRoundRecord(second2.Record); err != nil || full.Round != 2 || full.FirstRecordDigest != first.Digest {
		t.Fatalf("round 2 record: round %d, first %s (want %s), %v", full.Round, full.FirstRecordDigest, first.Digest, err)
	}
	prices := map[kaiping.ID]string{} // as mustTwoEnvelopeWorld sealed them
	for i, x := range w.bidders {
		prices[x.id] = strconv.Itoa(7000000+i*10000) + ".00" // the record normalises amounts
	}
	if len(rec2.Fields) == 0 {
		t.Errorf("round 2's record names no fields")
	}
	for _, x := range rec2.Bids {
		switch x.Bidder {
		case a.id, b.id, c.id:
			if x.Status != opening.BidOpened || x.Values["price"] != prices[x.Bidder] || len(x.Envelopes) != 2 {
				t.Errorf("round 2 line of %s: %+v", x.BidderName, x)
			}
			for _, e := range x.Envelopes {
				if x.Bidder == c.id && e.Via != "rescue" || e.Kind != "commercial" && e.Kind != "summary" {
					t.Errorf("round 2 line of %s: %+v", x.BidderName, x)
				}
			}
		case d.id:
			if x.Status != opening.BidNotPassed || !strings.Contains(x.ReasonText, reason) || x.Values != nil || len(x.Envelopes) != 2 ||
				x.Envelopes[0].Outcome != opening.EnvRetained || x.Envelopes[1].Outcome != opening.EnvRetained {
				t.Errorf("round 2 line of 丁: %+v", x)
			}
		case e.id:
			if x.Status != opening.BidNotPassed || len(x.Envelopes) != 2 {
				t.Errorf("round 2 line of 戊: %+v", x)
			}
		}
	}
	if rec2.ValidBids != 3 || rec2.Outcome != opening.BidOpened || len(rec2.Bids) != 5 {
		t.Errorf("round 2 record: %d valid of %d, %s", rec2.ValidBids, len(rec2.Bids), rec2.Outcome)
	}

	// Both rounds' records are archived; round 1's stays downloadable.
	w.waitExports(t, 6) // round 1 published and final, round 2 published
	if body, _, code := download(t, e.c, w.hallPath("/record.json?round=1")); code != "" || string(body) != string(first.Record) {
		t.Errorf("round 1's record after round 2: %q", code)
	}
	if body, _, code := download(t, d.c, w.hallPath("/record.json")); code != "" || string(body) != string(second2.Record) {
		t.Errorf("round 2's record as 丁 reads it: %q", code)
	}

	w.mustMove(t, opening.HallConfirming, 0)
	w.refused(t, "丁 confirms round 2", "hall.not_passed", func() error { return w.confirm(d, second2.Digest, d.cert) })
	w.refused(t, "丁 objects in round 2", "hall.not_passed", func() error {
		return d.c.Do(ctx, http.MethodPost, w.hallPath("/objections"), opening.ObjectionRequest{Text: "异议"}, nil)
	})
	w.refused(t, "confirm round 1's record in round 2", "hall.record_changed", func() error { return w.confirm(a, first.Digest, a.cert) })
	for _, x := range []*hallBidder{a, b, c} {
		if err := w.confirm(x, second2.Digest, x.cert); err != nil {
			t.Fatalf("%s confirms round 2: %v", x.name, err)
		}
	}
	st = w.mustMove(t, opening.HallClosed, 0)
	if st.Round != 2 {
		t.Errorf("closed in round %d", st.Round)
	}
	w.refused(t, "qualify after round 2", "hall.already_qualified", func() error {
		return second(w.qualify(w.host, pass(a), pass(b), pass(c), fail(d, reason)))
	})
	if _, state, keyless := w.envelopeOf(t, d, seal.Commercial); state != opening.EnvRetained || !keyless {
		t.Errorf("丁's commercial envelope at the end: %s, no key %v", state, keyless)
	}
	unlocks := func(envelope kaiping.ID) int {
		var n int
		if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE action IN ('hall.unlock', 'hall.unlock_failed')
			AND position($1::bytea in detail) > 0`, []byte(envelope)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if unlocks(dCommercial) != 0 || unlocks(aCommercial) != 1 {
		t.Errorf("unlocks in the ledger: %d of 丁's commercial envelope, %d of 甲's; want 0 and 1", unlocks(dCommercial), unlocks(aCommercial))
	}
	var confirmations int
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM hall_confirmations WHERE section_id = $1`, w.section.ID).Scan(&confirmations); err != nil || confirmations != 7 {
		t.Errorf("%d confirmations over both rounds, %v; want 4 + 3", confirmations, err)
	}
	// Both rounds' events, the technical stage's among them, reach exactly their audience;
	// 丁, who did not pass, and 戊, who did not go on, are still bidders of the set.
	w.relogin(t)
	holders[0].c = w.ta.mustLogin(t, holders[0].cert)
	readers := []hallReader{{"主持人", w.host, "host", ""}, {"监督", holders[0].c, "supervisor", ""}}
	for _, x := range w.bidders {
		readers = append(readers, hallReader{x.name, x.c, "bidder", x.id})
	}
	if kinds := w.mustEventAudiences(t, readers); !kinds["hall.qualify"] {
		t.Errorf("no hall.qualify event among %v", kinds)
	}
	w.ta.ledgerSize(t)
}

// TestHallSecondRoundTooFewPass: when fewer bidders pass the technical stage than the
// tender's minimum, no commercial envelope is opened: the hall fails (流标) with the reason,
// every commercial envelope of those who did not pass is retained, and nothing moves after.
func TestHallSecondRoundTooFewPass(t *testing.T) {
	w, _ := mustTwoEnvelopeWorld(t, 3, 0)
	a, b, c := w.bidders[0], w.bidders[1], w.bidders[2]
	w.sealNow(t)
	w.mustDecryptRound(t, w.bidders, 3)
	w.mustMove(t, opening.HallPublished, 0)
	w.mustCloseRound(t, a, b, c)
	st, err := w.qualify(w.host, pass(a), pass(b), fail(c, "业绩不满足要求"))
	if err != nil || st.State != opening.HallFailed || !strings.Contains(st.Reason, "不足 3 家（2 家）") || st.Round != 2 {
		t.Fatalf("qualify with two passing: %+v, %v", st, err)
	}
	for _, k := range []seal.EnvelopeKind{seal.Commercial, seal.Summary} {
		if _, state, _ := w.envelopeOf(t, c, k); state != opening.EnvRetained {
			t.Errorf("丙's %s envelope: %s", k, state)
		}
	}
	if _, state, _ := w.envelopeOf(t, a, seal.Commercial); state != opening.EnvSealed {
		t.Errorf("甲's commercial envelope: %s", state)
	}
	w.refused(t, "check-in after the failure", "hall.state", func() error { return second(w.move(w.host, opening.HallCheckingIn, 0)) })
	if v := w.view(t, a); v.State != opening.HallFailed || v.StateLabel != "流标" {
		t.Errorf("甲's view: %s", v.State)
	}
	w.ta.ledgerSize(t)
}
