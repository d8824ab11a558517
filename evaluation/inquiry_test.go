package evaluation

import (
	"bytes"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
)

// TestInquiryStateAt: a sent inquiry expires at its deadline, not a second before; a pending
// one can no longer go out then; what was answered or refused stays so.
func TestInquiryStateAt(t *testing.T) {
	deadline := time.Date(2026, 6, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		stored InquiryState
		at     time.Time
		want   InquiryState
	}{
		{InquirySent, deadline.Add(-time.Second), InquirySent},
		{InquirySent, deadline, InquiryExpired},
		{InquiryPending, deadline.Add(-time.Second), InquiryPending},
		{InquiryPending, deadline, InquiryWithdrawn},
		{InquiryAnswered, deadline.Add(time.Hour), InquiryAnswered},
		{InquiryRefused, deadline.Add(time.Hour), InquiryRefused},
		{InquiryWithdrawn, deadline.Add(-time.Hour), InquiryWithdrawn},
	} {
		q := Inquiry{State: tc.stored, Deadline: deadline}
		if got := q.StateAt(tc.at); got != tc.want {
			t.Errorf("%s at deadline%+v: %s, want %s", tc.stored, tc.at.Sub(deadline), got, tc.want)
		}
	}
}

// TestInquiryAnswerMessage: the signed message names the inquiry, the answer's digest and the
// decision, under its own domain string, so that no other signature stands for it.
func TestInquiryAnswerMessage(t *testing.T) {
	id := kaiping.ID("7b0f3c1e-0000-4000-8000-000000000001")
	d := TextDigest("说明")
	msg := InquiryAnswerMessage(id, d, DecisionConfirm)
	want := "KAIPING-INQUIRY-ANSWER-V1\n" + string(id) + "\n" + d + "\nconfirm\n"
	if string(msg) != want {
		t.Fatalf("message %q, want %q", msg, want)
	}
	if bytes.Equal(msg, InquiryAnswerMessage(id, d, DecisionRefuse)) ||
		bytes.Equal(msg, InquiryAnswerMessage(id, TextDigest("说明 "), DecisionConfirm)) ||
		bytes.Equal(msg, PledgeMessage(id, id, d)) {
		t.Error("two different answers sign the same message")
	}
}

// TestGroupAudience: an event for a group is read by its members and the overseers only.
func TestGroupAudience(t *testing.T) {
	e := SessionEvent{Audience: AudienceGroup, Group: "G1"}
	for _, tc := range []struct {
		r    SessionReader
		want bool
	}{
		{SessionReader{Overseer: true}, true},
		{SessionReader{Member: "m", Group: "G1"}, true},
		{SessionReader{Member: "m", Group: "G2"}, false},
		{SessionReader{Member: "m"}, false},
		{SessionReader{Venues: []kaiping.ID{"v"}}, false},
	} {
		if got := tc.r.Sees(e); got != tc.want {
			t.Errorf("%+v sees a G1 event: %v", tc.r, got)
		}
	}
	if (SessionReader{Group: ""}).Sees(SessionEvent{Audience: AudienceGroup}) {
		t.Error("a reader of no group reads an event of no group")
	}
}
