package opening

import (
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
)

// TestQualification: the technical stage's results are checked against the first round's
// record (甲, 乙, 丙 opened; 丁 revoked) and completed with the bidders that do not proceed.
func TestQualification(t *testing.T) {
	x, y, z, u := kaiping.NewID(), kaiping.NewID(), kaiping.NewID(), kaiping.NewID()
	first := RoundRecord{OpeningRecord: OpeningRecord{Bids: []RecordBid{
		{Bidder: x, BidderName: "甲", Status: BidOpened}, {Bidder: y, BidderName: "乙", Status: BidOpened},
		{Bidder: z, BidderName: "丙", Status: BidOpened}, {Bidder: u, BidderName: "丁", Status: OutcomeRevoked, StatusLabel: "撤销"},
	}}}
	ok := func(id kaiping.ID) QualificationResult { return QualificationResult{Bidder: id, Passed: true} }
	no := func(id kaiping.ID, reason string) QualificationResult {
		return QualificationResult{Bidder: id, Reason: reason}
	}
	tests := []struct {
		name    string
		results []QualificationResult
		code    string
		to      HallState
		passed  int
	}{
		{"all three pass", []QualificationResult{ok(x), ok(y), ok(z)}, "", HallQualified, 3},
		{"one fails: too few", []QualificationResult{ok(x), ok(y), no(z, "业绩不符")}, "", HallFailed, 2},
		{"the revoked bidder listed as failing", []QualificationResult{ok(x), ok(y), ok(z), no(u, "未解密")}, "", HallQualified, 3},
		{"nobody", nil, "hall.qualify_missing", "", 0},
		{"one left out", []QualificationResult{ok(x), ok(y)}, "hall.qualify_missing", "", 0},
		{"the revoked bidder passes", []QualificationResult{ok(x), ok(y), ok(z), ok(u)}, "hall.qualify_not_opened", "", 0},
		{"a failure without a reason", []QualificationResult{ok(x), ok(y), no(z, "  ")}, "hall.qualify_reason", "", 0},
		{"a reason too long", []QualificationResult{ok(x), ok(y), no(z, strings.Repeat("长", 501))}, "hall.qualify_reason", "", 0},
		{"a stranger", []QualificationResult{ok(x), ok(y), ok(z), ok(kaiping.NewID())}, "hall.qualify_unknown_bidder", "", 0},
		{"twice", []QualificationResult{ok(x), ok(y), ok(z), no(x, "重复")}, "hall.qualify_duplicate", "", 0},
	}
	for _, tt := range tests {
		q, err := qualification(first, QualificationRequest{Results: tt.results}, 3)
		if codeOrEmpty(err) != tt.code {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.code)
			continue
		}
		if err != nil {
			continue
		}
		if q.To != tt.to || len(q.Passed()) != tt.passed || len(q.Results) != 4 || (q.To == HallFailed) != (q.Reason != "") {
			t.Errorf("%s: to %s, %d passed of %d, reason %q", tt.name, q.To, len(q.Passed()), len(q.Results), q.Reason)
		}
		for _, r := range q.Results {
			if r.BidderName == "" || !r.Passed && r.Reason == "" {
				t.Errorf("%s: result %+v", tt.name, r)
			}
		}
	}
}

// TestBuildSecondRecord: the commercial round's record lists every bidder of the technical
// stage: those who passed opened (with the values of their summary, opened in this round) or
// classified like in the first round, those who did not with their reason and their envelopes
// never opened; a passed bidder without a commercial envelope or without a summary is
// revoked; too few opened bids fail.
func TestBuildSecondRecord(t *testing.T) {
	at := time.Date(2026, 3, 8, 2, 0, 0, 0, time.UTC)
	x, y, z, u, v := kaiping.NewID(), kaiping.NewID(), kaiping.NewID(), kaiping.NewID(), kaiping.NewID()
	env := func(bidder kaiping.ID, kind, state string) HallEnvelope {
		return HallEnvelope{ID: kaiping.NewID(), Bidder: bidder, Kind: kind, State: state, SHA256: "cd", PlaintextDigest: "ef"}
	}
	summary := func(bidder kaiping.ID, price string) HallEnvelope {
		e := env(bidder, "summary", EnvDecrypted)
		e.Summary = map[string]string{"price": price}
		return e
	}
	quals := []QualificationResult{{Bidder: x, BidderName: "甲", Passed: true}, {Bidder: y, BidderName: "乙", Passed: true},
		{Bidder: z, BidderName: "丙", Passed: true}, {Bidder: u, BidderName: "丁", Reason: "技术方案不满足要求"},
		{Bidder: v, BidderName: "戊", Passed: true}}
	envs := []HallEnvelope{summary(x, "100.00"), env(x, "commercial", EnvDecrypted), env(x, "technical", EnvDecrypted),
		summary(y, "90.00"), env(y, "commercial", EnvSealed), summary(z, "80.00"),
		env(u, "summary", EnvRetained), env(u, "commercial", EnvRetained), env(v, "commercial", EnvDecrypted)}
	tender := Tender{ID: kaiping.NewID(), Plan: TwoEnvelope, MinBids: 1, SummaryFields: testFields, Deadline: at}
	in := recordInput{tender: tender, hall: HallStatus{Round: 2}, envelopes: envs, closedAt: at, at: at}
	rec, outcomes := buildSecondRecord(in, "first-digest", quals)
	want := map[kaiping.ID][3]string{
		x: {BidOpened, "", "100.00"}, y: {OutcomeRevoked, ReasonNotUnlocked, ""},
		z: {OutcomeRevoked, ReasonNoCommercial, ""}, u: {BidNotPassed, ReasonNotPassed, ""},
		v: {OutcomeRevoked, ReasonNoSummary, ""},
	}
	if len(rec.Bids) != 5 || len(rec.Fields) != len(testFields) {
		t.Fatalf("%d bids, fields %+v", len(rec.Bids), rec.Fields)
	}
	for i, b := range rec.Bids {
		if got := [3]string{b.Status, b.Reason, b.Values["price"]}; got != want[b.Bidder] || b.No != i+1 || b.StatusLabel == "" {
			t.Errorf("%s: %v (no. %d, %q), want %v", b.BidderName, got, b.No, b.StatusLabel, want[b.Bidder])
		}
		if b.Bidder == u && (!strings.Contains(b.ReasonText, "技术方案不满足要求") || len(b.Envelopes) != 2 ||
			b.Envelopes[0].Outcome != EnvRetained || b.Envelopes[1].Outcome != EnvRetained) {
			t.Errorf("丁: %+v", b)
		}
		if b.Bidder == x && (len(b.Envelopes) != 2 || b.Envelopes[0].Kind != "summary" || b.Envelopes[1].Kind != "commercial") {
			t.Errorf("甲's envelopes in round 2: %+v", b.Envelopes)
		}
	}
	if len(outcomes) != 1 || outcomes[0].Outcome != OutcomeRevoked {
		t.Errorf("outcomes %+v: want only 乙's commercial envelope, revoked", outcomes)
	}
	if rec.Round != 2 || rec.FirstRecordDigest != "first-digest" || rec.ValidBids != 1 || rec.Outcome != BidOpened {
		t.Errorf("record: round %d, first %q, %d valid, %s", rec.Round, rec.FirstRecordDigest, rec.ValidBids, rec.Outcome)
	}
	in.tender.MinBids = 3
	if rec, _ := buildSecondRecord(in, "first-digest", quals); rec.Outcome != string(HallFailed) || !strings.Contains(rec.Reason, "不足 3 家（1 家）") {
		t.Errorf("too few opened: %s %q", rec.Outcome, rec.Reason)
	}
	canonical, digest, err := rec.Canonical()
	back, derr := DecodeRoundRecord(canonical)
	if err != nil || derr != nil || digest != RecordDigest(canonical) || back.Round != 2 || !strings.Contains(string(canonical), `"round":2`) {
		t.Errorf("canonical form of round 2: %s, %v %v", canonical, err, derr)
	}
	first := RoundRecord{OpeningRecord: OpeningRecord{Bids: []RecordBid{{Bidder: x, BidderName: "甲", Status: BidOpened}}}}
	first1, _, _ := first.Canonical()
	plain, _, _ := first.OpeningRecord.Canonical()
	if string(first1) != string(plain) {
		t.Error("a first-round record's canonical form is not OpeningRecord's")
	}
}

// TestOpensIn: a two-envelope bid's price (the summary) opens with the commercial envelope in
// the second round, never beside the technical envelope.
func TestOpensIn(t *testing.T) {
	tests := []struct {
		plan  EnvelopePlan
		round int
		kind  string
		want  bool
	}{
		{SingleEnvelope, 1, "summary", true}, {SingleEnvelope, 1, "technical", true}, {SingleEnvelope, 2, "commercial", false},
		{SingleEnvelope, 2, "summary", false},
		{TwoEnvelope, 1, "technical", true}, {TwoEnvelope, 1, "summary", false}, {TwoEnvelope, 1, "commercial", false},
		{TwoEnvelope, 2, "commercial", true}, {TwoEnvelope, 2, "summary", true}, {TwoEnvelope, 2, "technical", false},
	}
	for _, tt := range tests {
		if got := tt.plan.OpensIn(tt.round, tt.kind); got != tt.want {
			t.Errorf("%s.OpensIn(%d, %s) = %v", tt.plan, tt.round, tt.kind, got)
		}
	}
}

// TestRoundTransitions: the second round enters only from the first round's closed hall,
// by the host, and starts again at check-in; nothing leads back.
func TestRoundTransitions(t *testing.T) {
	tests := []struct {
		from, to HallState
		by       By
		code     string
	}{
		{HallClosed, HallQualified, ByHost, ""},
		{HallClosed, HallFailed, ByHost, ""},
		{HallClosed, HallQualified, BySystem, "hall.role"},
		{HallQualified, HallCheckingIn, ByHost, ""},
		{HallQualified, HallDecrypting, ByHost, "hall.state"},
		{HallQualified, HallClosed, ByHost, "hall.state"},
		{HallQualified, HallQualified, ByHost, "hall.state"},
		{HallConfirming, HallQualified, ByHost, "hall.state"},
		{HallFailed, HallQualified, ByHost, "hall.state"},
		{HallCheckingIn, HallQualified, ByHost, "hall.state"},
	}
	for _, tt := range tests {
		if got := codeOrEmpty(CheckTransition(tt.from, tt.to, tt.by)); got != tt.code {
			t.Errorf("%s → %s by %s: %q, want %q", tt.from, tt.to, tt.by, got, tt.code)
		}
	}
	if got := codeOrEmpty(HallStatus{State: HallQualified}.UnlockOpen(time.Now())); got != "hall.window_not_open" {
		t.Errorf("unlock while qualified: %q", got)
	}
	if HallQualified.Label() == string(HallQualified) {
		t.Error("the qualified state has no Chinese label")
	}
}
