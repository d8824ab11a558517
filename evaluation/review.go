package evaluation

import (
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/scoring"
)

// ReviewStage is where a section's review (评审) stands. It runs initial → detailed →
// summarized: the members judge every bid on the initial-review items and submit; the chair
// concludes the initial review, which fixes the valid bids; the members score the valid bids
// (综合评估法) and submit; the chair summarises (汇总), which fixes the ranking. Reopening a
// summary (to fix what a warning found) goes back to detailed.
type ReviewStage string

// The review stages.
const (
	ReviewInitial    ReviewStage = "initial"    // 初步评审
	ReviewDetailed   ReviewStage = "detailed"   // 详细评审
	ReviewSummarized ReviewStage = "summarized" // 已汇总
)

// Label is the stage as pages name it.
func (s ReviewStage) Label() string {
	switch s {
	case ReviewInitial:
		return "初步评审"
	case ReviewDetailed:
		return "详细评审"
	case ReviewSummarized:
		return "已汇总"
	}
	return string(s)
}

// Review is the committee's record of one section in a session: its stage, the facts the
// computation needs besides the members' marks, the committee's decisions, the notes on
// warnings and the chair's summary. It is changed under the session's lock, each change with
// its ledger entry and event (ReviewStore.ChangeReview).
type Review struct {
	Session kaiping.ID  `json:"session_id"`
	Section kaiping.ID  `json:"section_id"`
	Group   string      `json:"group"`
	Stage   ReviewStage `json:"stage"`
	// Ceiling is the 最高投标限价 in fen (0: none) and Downward the 下浮 rate drawn at the
	// opening, in basis points, as the evaluation host entered them from the tender's
	// documents and the opening's record.
	Ceiling  int64  `json:"ceiling"`
	Downward *int64 `json:"downward,omitempty"`
	// Decisions are the committee's decisions on single bids, in the order taken.
	Decisions []BidDecision `json:"decisions"`
	// Notes are the committee's written notes on soft warnings, by warning key.
	Notes []WarningNote `json:"notes"`
	// Summary is the chair's summary, once made; reopening clears it (the earlier ones stay
	// in the ledger).
	Summary *ReviewSummary `json:"summary,omitempty"`
	Version int64          `json:"version"`
}

// The kinds of a committee decision on one bid.
const (
	// DecisionReject is a 否决 on one of the grounds of 条例 Art 51 (RejectGrounds).
	DecisionReject = "reject"
	// DecisionRevoke withdraws an earlier 否决 the committee reconsidered before summary.
	DecisionRevoke = "revoke"
	// DecisionCostExplained accepts a below-cost explanation: the price stands.
	DecisionCostExplained = "cost_explained"
	// DecisionAdjust sets the amount of one of the method's commercial adjustments.
	DecisionAdjust = "adjust"
	// DecisionCorrect applies an arithmetic correction the bidder confirmed in writing:
	// Amount is the corrected price in fen.
	DecisionCorrect = "correct"
)

// BidDecision is one decision the committee took on a bid, entered by the chair.
type BidDecision struct {
	Kind   string     `json:"kind"`
	Bidder kaiping.ID `json:"bidder_id"`
	// Reason is the Art 51 ground of a reject; Adjustment the method's adjustment code and
	// Amount its amount in fen, of an adjust.
	Reason     string     `json:"reason,omitempty"`
	Adjustment string     `json:"adjustment,omitempty"`
	Amount     int64      `json:"amount,omitempty"`
	Text       string     `json:"text"`
	By         kaiping.ID `json:"by"`
	At         time.Time  `json:"at"`
}

// RejectGrounds are the grounds on which the committee rejects a bid, by code, with the words
// the report uses: those of 条例 Art 51 (否决投标), and a correction the bidder refused (87号令
// Art 59: the bid is invalid).
var RejectGrounds = map[string]string{
	"correction_refused": "投标人不接受对其投标报价的算术修正（或逾期未确认），投标无效",
	"no_seal":            "投标文件未经投标单位盖章和单位负责人签字",
	"consortium":         "投标联合体没有提交共同投标协议",
	"qualification":      "投标人不符合国家或者招标文件规定的资格条件",
	"two_bids":           "同一投标人提交两个以上不同的投标文件或者投标报价（招标文件要求提交备选投标的除外）",
	"price":              "投标报价低于成本或者高于招标文件设定的最高投标限价",
	"not_responsive":     "投标文件没有对招标文件的实质性要求和条件作出响应",
	"collusion":          "投标人有串通投标、弄虚作假、行贿等违法行为",
}

// WarningNote is the committee's written note on a soft warning (or on the fix of a hard one
// that the warning's key still names).
type WarningNote struct {
	Key  string     `json:"key"`
	Code string     `json:"code"`
	Text string     `json:"text"`
	By   kaiping.ID `json:"by"`
	At   time.Time  `json:"at"`
}

// ReviewSummary is the chair's summary: the computation's result over the submitted marks,
// frozen with the digest of its inputs so that the report and `kaiping evaluation verify`
// can show it was computed from exactly them.
type ReviewSummary struct {
	InputsDigest string          `json:"inputs_digest"`
	Result       scoring.Result  `json:"result"`
	Warnings     []ReviewWarning `json:"warnings"`
	By           kaiping.ID      `json:"by"`
	At           time.Time       `json:"at"`
}

// Mark is one member's verdict or score on one item of one bid. In the initial stage Value
// is 1 (合格) or 0 (不合格, with Reason); in the detailed stage it is the score in hundredths
// of a point. Page, when given, is the page of the bid the mark rests on.
type Mark struct {
	Bidder kaiping.ID `json:"bidder_id"`
	Item   string     `json:"item"`
	Value  int64      `json:"value"`
	Reason string     `json:"reason,omitempty"`
	Page   *int       `json:"page,omitempty"`
}

// Submission is a member's submission of one stage's marks of a section: ledgered with the
// digest of the marks as submitted.
type Submission struct {
	Member    kaiping.ID  `json:"member_id"`
	Stage     ReviewStage `json:"stage"`
	Digest    string      `json:"digest"`
	At        time.Time   `json:"submitted_at"`
	LedgerSeq int64       `json:"ledger_seq"`
}

// ReviewWarning is a warning before signing as the committee sees it: the computation's
// (scoring.Warning) or the review's own (review.*), with the key its note is filed under and
// the note, once written.
type ReviewWarning struct {
	scoring.Warning
	Key  string       `json:"key"`
	Note *WarningNote `json:"note,omitempty"`
}

// RecordedBid is one bid of a section's published opening record, as the review takes it.
type RecordedBid struct {
	Bidder kaiping.ID `json:"bidder_id"`
	Name   string     `json:"bidder_name"`
	// Opened says every envelope was decrypted; only opened bids are reviewed.
	Opened bool `json:"opened"`
	// Price is the bid price (投标报价) in fen as the record read it out.
	Price int64 `json:"price"`
}

// Origin is an address a bidder acted from, from the platform's own ledger: its
// submissions and its unlocks at the opening.
type Origin struct {
	Bidder  kaiping.ID `json:"bidder_id"`
	Action  string     `json:"action"`
	Address string     `json:"address"`
}
