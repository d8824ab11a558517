package opening

import (
	"testing"
	"time"

	"github.com/kaiping/kaiping"
)

var testFields = []SummaryField{
	{Key: "price", Label: "投标报价（元）", Type: FieldMoney, Required: true},
	{Key: "duration", Label: "工期", Type: FieldDays, Required: true},
	{Key: "rate", Label: "下浮率", Type: FieldPercent},
	{Key: "quality", Label: "质量标准", Type: FieldText},
}

func TestParseSummary(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
		code string
	}{
		{`{"price":"12345678.9","duration":365,"rate":"3.5","quality":" 合格 "}`,
			map[string]string{"price": "12345678.90", "duration": "365", "rate": "3.5", "quality": "合格"}, ""},
		{`{"price":100,"duration":"30"}`, map[string]string{"price": "100.00", "duration": "30"}, ""},
		{`{"price":"0.05","duration":1,"extra":"ignored"}`, map[string]string{"price": "0.05", "duration": "1"}, ""},
		{`{"price":"1","duration":1,"rate":null}`, map[string]string{"price": "1.00", "duration": "1"}, ""},
		{`{"duration":1}`, nil, "hall.summary_field_missing"},
		{`{"price":"一百万","duration":1}`, nil, "hall.summary_field_invalid"},
		{`{"price":"1.234","duration":1}`, nil, "hall.summary_field_invalid"},
		{`{"price":"-1","duration":1}`, nil, "hall.summary_field_invalid"},
		{`{"price":"01","duration":1}`, nil, "hall.summary_field_invalid"},
		{`{"price":"1","duration":0}`, nil, "hall.summary_field_invalid"},
		{`{"price":"1","duration":1.5}`, nil, "hall.summary_field_invalid"},
		{`{"price":"1","duration":100001}`, nil, "hall.summary_field_invalid"},
		{`{"price":"1","duration":1,"rate":"101"}`, nil, "hall.summary_field_invalid"},
		{`{"price":"1","duration":1,"quality":5}`, nil, "hall.summary_field_invalid"},
		{`{"price":"1","duration":1,"quality":"\u202e格合"}`, nil, "hall.summary_field_invalid"},
		{`{"price":"1","duration":1,"quality":"合\u0008格"}`, nil, "hall.summary_field_invalid"},
		{`{"price":"1","duration":1,"quality":"合格\n（附说明）"}`, map[string]string{"price": "1.00", "duration": "1", "quality": "合格\n（附说明）"}, ""},
		{`{"price":"1","duration":1} {}`, nil, "hall.summary_malformed"},
		{`[1,2]`, nil, "hall.summary_malformed"},
		{`null`, nil, "hall.summary_malformed"},
		{"\x00binary", nil, "hall.summary_malformed"},
	}
	for _, tt := range tests {
		got, err := ParseSummary(testFields, []byte(tt.in))
		if codeOrEmpty(err) != tt.code {
			t.Errorf("%s: %v, want %q", tt.in, err, tt.code)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: %v, want %v", tt.in, got, tt.want)
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", tt.in, k, got[k], v)
			}
		}
	}
}

// TestBuildRecord: a bid is opened only when every envelope of the round decrypted and its
// summary was read; the bidder's cause outweighs ours; an envelope of another round is left
// out; too few opened bids fail the opening.
func TestBuildRecord(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	ok := func(bidder kaiping.ID, name, kind string) HallEnvelope {
		e := HallEnvelope{ID: kaiping.NewID(), Bidder: bidder, BidderName: name, Kind: kind, State: EnvDecrypted, PlaintextDigest: "ab"}
		if kind == "summary" {
			e.Summary = map[string]string{"price": "100.00"}
		}
		return e
	}
	x, y, z, u := kaiping.NewID(), kaiping.NewID(), kaiping.NewID(), kaiping.NewID()
	corrupt := ok(y, "乙", "technical")
	corrupt.State, corrupt.ErrorCode = EnvCorrupt, "seal.truncated"
	failed := ok(y, "乙", "summary")
	failed.State, failed.ErrorCode = EnvError, ReasonPlatformError
	busy := ok(z, "丙", "summary")
	busy.State, busy.BusyRefusals = EnvSealed, 1
	commercial := ok(x, "甲", "commercial")
	commercial.State = EnvSealed
	envs := []HallEnvelope{ok(x, "甲", "summary"), ok(x, "甲", "technical"), commercial, failed, corrupt, busy, ok(u, "丁", "technical")}
	tender := Tender{ID: kaiping.NewID(), Plan: SingleEnvelope, MinBids: 3, SummaryFields: testFields, Deadline: at}
	rec, outcomes := buildRecord(recordInput{tender: tender, hall: HallStatus{}, envelopes: envs, closedAt: at, at: at})
	want := map[kaiping.ID][2]string{
		x: {BidOpened, ""}, y: {OutcomeRevoked, "seal.truncated"}, z: {OutcomeWithdrawn, ReasonBusy}, u: {OutcomeRevoked, ReasonNoSummary},
	}
	for _, b := range rec.Bids {
		if got := [2]string{b.Status, b.Reason}; got != want[b.Bidder] {
			t.Errorf("%s: %v, want %v", b.BidderName, got, want[b.Bidder])
		}
		if (b.Values != nil) != (b.Status == BidOpened) {
			t.Errorf("%s: values %v with status %s", b.BidderName, b.Values, b.Status)
		}
	}
	if len(outcomes) != 3 {
		t.Errorf("outcomes %+v: want the platform error, the corrupt file and the busy refusal (not the commercial envelope)", outcomes)
	}
	if rec.Outcome != string(HallFailed) || rec.ValidBids != 1 || rec.Bids[0].No != 1 {
		t.Errorf("outcome %s with %d valid", rec.Outcome, rec.ValidBids)
	}
	b1, d1, err := rec.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	b2, d2, _ := rec.Canonical()
	if d1 != d2 || string(b1) != string(b2) || d1 != RecordDigest(b1) || contains(string(b1), "\\u003c") {
		t.Errorf("canonical form is not stable: %s %s", d1, d2)
	}

	// A two-envelope tender's first round opens the technical envelopes alone: no fields,
	// no values, no summary needed, and a summary handed in anyway is left out.
	tender.Plan, tender.MinBids = TwoEnvelope, 1
	rec, outcomes = buildRecord(recordInput{tender: tender, envelopes: []HallEnvelope{ok(x, "甲", "summary"), ok(x, "甲", "technical"), ok(u, "丁", "technical")}, closedAt: at, at: at})
	if rec.ValidBids != 2 || len(rec.Fields) != 0 || len(outcomes) != 0 {
		t.Fatalf("two-envelope round 1: %d valid, fields %+v, outcomes %+v", rec.ValidBids, rec.Fields, outcomes)
	}
	for _, b := range rec.Bids {
		if b.Status != BidOpened || b.Values != nil || len(b.Envelopes) != 1 || b.Envelopes[0].Kind != "technical" {
			t.Errorf("two-envelope round 1, %s: %+v", b.BidderName, b)
		}
	}
}
