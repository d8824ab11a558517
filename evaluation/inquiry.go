package evaluation

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/kaiping/kaiping"
)

// InquiryKind is what the committee asks a bidder in writing during review (条例 Art. 52,
// 评标委员会和评标方法暂行规定 Art. 19 and 21).
type InquiryKind string

// The inquiry kinds.
const (
	// InquiryClarification is a 澄清、说明或者补正 request: a written question on unclear
	// content or an obvious error, answered in writing without changing the substance.
	InquiryClarification InquiryKind = "clarification"
	// InquiryCorrection is an arithmetic correction (算术错误修正): the committee states the
	// corrected price and the reason (大写优先于小写, …); it binds only once the bidder
	// confirms it, and a bidder who refuses has an invalid bid.
	InquiryCorrection InquiryKind = "correction"
	// InquiryBelowCost asks a bidder whose price appears below cost to explain in writing with
	// evidence (低于成本价说明); what the committee then decides is the review's.
	InquiryBelowCost InquiryKind = "below_cost"
)

// Label is the kind as pages and the report name it.
func (k InquiryKind) Label() string {
	switch k {
	case InquiryClarification:
		return "澄清、说明或补正"
	case InquiryCorrection:
		return "算术错误修正确认"
	case InquiryBelowCost:
		return "低于成本价说明"
	}
	return string(k)
}

func (k InquiryKind) valid() bool {
	return k == InquiryClarification || k == InquiryCorrection || k == InquiryBelowCost
}

// InquiryState is where an inquiry stands. Pending waits for a supervisor's approval where
// the centre requires one; an approved request is sent at once (so "approved" is never a
// state of its own: the approval is recorded on the inquiry). Withdrawn is a request that
// never went out: a supervisor refused it, or its deadline passed before approval. Expired
// is never stored: a sent inquiry is expired once its deadline passed unanswered (StateAt).
type InquiryState string

// The inquiry states.
const (
	InquiryPending   InquiryState = "pending"   // 待监督人员审核
	InquirySent      InquiryState = "sent"      // 已发送，待投标人书面答复
	InquiryAnswered  InquiryState = "answered"  // 已答复（修正：已确认）
	InquiryRefused   InquiryState = "refused"   // 投标人不接受修正：投标无效
	InquiryExpired   InquiryState = "expired"   // 逾期未答复（修正：视为不接受）
	InquiryWithdrawn InquiryState = "withdrawn" // 未发出（监督人员未同意或审核前已过期限）
)

// Label is the state as pages name it.
func (s InquiryState) Label() string {
	switch s {
	case InquiryPending:
		return "待监督人员审核"
	case InquirySent:
		return "待答复"
	case InquiryAnswered:
		return "已答复"
	case InquiryRefused:
		return "不接受修正"
	case InquiryExpired:
		return "逾期未答复"
	case InquiryWithdrawn:
		return "未发出"
	}
	return string(s)
}

// InquiryDecision is the bidder's decision on a correction; other kinds are answered.
type InquiryDecision string

// The decisions an answer signs.
const (
	DecisionAnswer  InquiryDecision = "answer"  // a clarification or below-cost explanation
	DecisionConfirm InquiryDecision = "confirm" // the correction is accepted
	DecisionRefuse  InquiryDecision = "refuse"  // the correction is refused: the bid is invalid
)

// InquiryFrom is who a bidder sees the question from: the committee, never a member.
const InquiryFrom = "评标委员会"

// Inquiry is one written request of the committee to a bidder, with the bidder's answer.
type Inquiry struct {
	ID          kaiping.ID  `json:"id"`
	Session     kaiping.ID  `json:"session_id"`
	Tender      kaiping.ID  `json:"tender_id"`
	TenderCode  string      `json:"tender_code"`
	TenderTitle string      `json:"tender_title"`
	Group       string      `json:"group"`
	Section     kaiping.ID  `json:"section_id"`
	SectionCode string      `json:"section_code"`
	SectionName string      `json:"section_name"`
	Bidder      kaiping.ID  `json:"bidder_id"`
	BidderName  string      `json:"bidder_name"`
	Kind        InquiryKind `json:"kind"`
	// Question is the committee's written question; for a correction, the correction and its
	// reason.
	Question string `json:"question"`
	// CorrectedPrice is the corrected price in fen (分), for a correction only.
	CorrectedPrice int64     `json:"corrected_price,omitempty"`
	Deadline       time.Time `json:"deadline"`
	// State is the stored state; StateAt says whether a sent inquiry has expired.
	State InquiryState `json:"state"`
	// AskedBy is the chair (member ID) who sent it on the committee's behalf: the committee
	// and the overseers see it, the bidder never does.
	AskedBy   kaiping.ID `json:"asked_by"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
	// Review is the supervisor's approval or refusal, where the centre requires one.
	Review *InquiryReview `json:"review,omitempty"`
	Answer *InquiryAnswer `json:"answer,omitempty"`
}

// InquiryReview is a supervisor's decision on a request before it is sent.
type InquiryReview struct {
	Approved bool       `json:"approved"`
	Reason   string     `json:"reason,omitempty"`
	By       kaiping.ID `json:"by"`
	At       time.Time  `json:"at"`
}

// InquiryAnswer is the bidder's written answer, signed with its registered certificate.
type InquiryAnswer struct {
	Text     string          `json:"text"`
	Decision InquiryDecision `json:"decision"`
	// Digest is the SHA-256 (hex) of Text, which the signature covers.
	Digest      string    `json:"digest"`
	Certificate string    `json:"certificate_fingerprint"`
	Signature   []byte    `json:"signature"`
	At          time.Time `json:"at"`
}

// StateAt is the inquiry's state at now: a sent inquiry past its deadline is expired, and a
// pending one can no longer be sent, so it never went out.
func (q *Inquiry) StateAt(now time.Time) InquiryState {
	if !now.Before(q.Deadline) {
		switch q.State {
		case InquirySent:
			return InquiryExpired
		case InquiryPending:
			return InquiryWithdrawn
		}
	}
	return q.State
}

// wentOut reports whether the bidder was ever sent q.
func (q *Inquiry) wentOut() bool { return q.SentAt != nil }

// TextDigest is the SHA-256 (hex) of a text (UTF-8, as written): of an answer, as
// InquiryAnswerMessage takes it; of a question, as the ledger records it.
func TextDigest(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// InquiryAnswerMessage is what a bidder's certificate key signs to answer an inquiry: a
// domain string, the inquiry, the digest of the answer's text and the decision, so that a
// signature is good for this answer only (never a pledge, a record confirmation, another
// inquiry, or the other decision).
func InquiryAnswerMessage(inquiry kaiping.ID, digest string, decision InquiryDecision) []byte {
	return []byte("KAIPING-INQUIRY-ANSWER-V1\n" + string(inquiry) + "\n" + digest + "\n" + string(decision) + "\n")
}

// InquiryOutcome is an inquiry as the review reads it, per section.
type InquiryOutcome struct {
	Inquiry kaiping.ID `json:"inquiry_id"`
	Bidder  kaiping.ID `json:"bidder_id"`
	// Kind is clarification, correction or below_cost.
	Kind string `json:"kind"`
	// State is pending, sent, answered, refused, expired or withdrawn (InquiryState): a
	// refused or expired correction makes the bid invalid.
	State string `json:"state"`
	// CorrectedPrice is in fen, for a correction only.
	CorrectedPrice int64      `json:"corrected_price,omitempty"`
	Answered       *time.Time `json:"answered,omitempty"`
}
