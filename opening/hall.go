package opening

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
)

// HallState is where a section's online opening hall (不见面开标大厅) stands. It only moves
// forward, along HallTransitions: a section is bidding until its bid set is sealed, then
// sealed (or failed at once, 流标, with too few bidders), checking in (签到), decrypting
// (the decrypt window is open), published (the opening record is out, 唱标), confirming
// (bidders confirm or object) and closed; or failed when too few bids could be opened.
// A two-envelope tender (双信封) goes on from the first round's closed hall: the host
// records who passed the technical stage (qualified, round 2), and the second round runs
// check-in to closed again for the commercial envelopes (hall_round.go).
type HallState string

// The hall states.
const (
	HallBidding    HallState = "bidding"
	HallSealed     HallState = "sealed"
	HallCheckingIn HallState = "checking_in"
	HallDecrypting HallState = "decrypting"
	HallPublished  HallState = "published"
	HallConfirming HallState = "confirming"
	HallClosed     HallState = "closed"
	HallQualified  HallState = "qualified"
	HallFailed     HallState = "failed"
)

// Label is the state's Simplified Chinese name as the hall shows it.
func (s HallState) Label() string {
	switch s {
	case HallBidding:
		return "投标中"
	case HallSealed:
		return "已截标封存"
	case HallCheckingIn:
		return "签到中"
	case HallDecrypting:
		return "解密中"
	case HallPublished:
		return "已公布开标记录"
	case HallConfirming:
		return "开标记录确认中"
	case HallClosed:
		return "开标结束"
	case HallQualified:
		return "技术评审结果已公布"
	case HallFailed:
		return "流标"
	}
	return string(s)
}

// By is who moves a hall: the host (主持人) by an action, or the platform itself when a time
// comes (the bid set sealed, the decrypt window ended, the confirmation period ended).
type By string

// Who moves a hall.
const (
	ByHost   By = "host"
	BySystem By = "system"
)

// HallTransition is one allowed move of a hall and who may make it.
type HallTransition struct {
	From, To HallState
	By       []By
}

// HallTransitions is the whole state machine. Nothing goes back, nothing skips a step.
var HallTransitions = []HallTransition{
	{HallBidding, HallSealed, []By{BySystem}},
	{HallBidding, HallFailed, []By{BySystem}}, // fewer bidders than the tender's minimum
	{HallSealed, HallCheckingIn, []By{ByHost}},
	{HallCheckingIn, HallDecrypting, []By{ByHost}},
	{HallDecrypting, HallPublished, []By{ByHost, BySystem}},
	{HallDecrypting, HallFailed, []By{ByHost, BySystem}}, // fewer valid bids than the minimum
	{HallPublished, HallConfirming, []By{ByHost}},
	{HallConfirming, HallClosed, []By{ByHost, BySystem}},
	// Two-envelope tenders only, from the first round's end (checked with the round).
	{HallClosed, HallQualified, []By{ByHost}},
	{HallClosed, HallFailed, []By{ByHost}}, // fewer bidders passed than the minimum
	{HallQualified, HallCheckingIn, []By{ByHost}},
}

// CheckTransition says whether by may move a hall from from to to: out of order is
// KindConflict "hall.state" naming both states, the wrong mover KindForbidden "hall.role".
func CheckTransition(from, to HallState, by By) error {
	for _, t := range HallTransitions {
		if t.From != from || t.To != to {
			continue
		}
		if !slices.Contains(t.By, by) {
			if by == ByHost {
				return kaiping.Errorf(kaiping.KindForbidden, "hall.role", "「%s」由平台在规定时间自动进入，主持人不能操作", to.Label())
			}
			return kaiping.Errorf(kaiping.KindForbidden, "hall.role", "「%s」须由主持人操作", to.Label())
		}
		return nil
	}
	return stateError(from, to)
}

func stateError(current HallState, wanted ...HallState) error {
	labels := make([]string, len(wanted))
	for i, w := range wanted {
		labels[i] = "「" + w.Label() + "」"
	}
	return kaiping.Errorf(kaiping.KindConflict, "hall.state", "开标大厅当前为「%s」，此操作需要%s（current %s, wanted %s）",
		current.Label(), strings.Join(labels, "或"), current, joinStates(wanted))
}

func joinStates(ss []HallState) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return strings.Join(out, "|")
}

// HallStatus is a section's opening hall as stored: its state, the version every change bumps
// (events carry it, so a client knows whether it missed one), and its times.
type HallStatus struct {
	Tender  kaiping.ID `json:"tender_id"`
	Section kaiping.ID `json:"section_id"`
	State   HallState  `json:"state"`
	Version int64      `json:"version"`
	// Round is 1, or 2 for the commercial round of a two-envelope tender (双信封).
	Round int `json:"round"`
	// Reason says why the hall failed (流标), in Chinese.
	Reason string `json:"reason,omitempty"`
	// Bidders is how many bidders have a current envelope in the sealed bid set.
	Bidders int `json:"bidders"`
	MinBids int `json:"min_bids"`
	// Deadline is the tender's bid deadline: no file key is taken before it.
	Deadline       time.Time  `json:"deadline"`
	WindowOpensAt  *time.Time `json:"window_opens_at,omitempty"`
	WindowClosesAt *time.Time `json:"window_closes_at,omitempty"`
	ConfirmEndsAt  *time.Time `json:"confirm_ends_at,omitempty"`
	RecordDigest   string     `json:"record_digest,omitempty"`
	UpdatedAt      time.Time  `json:"updated_at"`
	// CheckInOpenedAt is when check-in of the current round opened: the decrypt window may
	// open only the tender's CheckInMinutes after it.
	CheckInOpenedAt *time.Time `json:"checkin_opened_at,omitempty"`
}

// Require refuses with "hall.state" unless the hall is in one of states. Stores call it
// with the hall row locked, so the check and the change it guards are one.
func (h HallStatus) Require(states ...HallState) error {
	if slices.Contains(states, h.State) {
		return nil
	}
	return stateError(h.State, states...)
}

// UnlockOpen says whether a file key may be handed in at at: only inside the decrypt
// window. Before it is KindTooEarly "hall.window_not_open", after it KindTooLate
// "hall.window_closed".
func (h HallStatus) UnlockOpen(at time.Time) error {
	switch h.State {
	case HallBidding, HallSealed, HallCheckingIn, HallQualified:
		return kaiping.E(kaiping.KindTooEarly, "hall.window_not_open", "解密窗口尚未开启，请等待主持人开启解密")
	case HallDecrypting:
		if h.WindowClosesAt != nil && !at.Before(*h.WindowClosesAt) {
			return windowClosed(*h.WindowClosesAt)
		}
		return nil
	case HallPublished, HallConfirming, HallClosed:
		return windowClosed(h.windowEnd())
	}
	return stateError(h.State, HallDecrypting)
}

func (h HallStatus) windowEnd() time.Time {
	if h.WindowClosesAt != nil {
		return *h.WindowClosesAt
	}
	return time.Time{}
}

// checkInRan refuses to open the decrypt window at at before bidders had the tender's
// check-in period: a window opened on an empty hall would record every bid as 撤销 and fail
// the tender, blaming bidders who never had a chance to arrive.
func (h HallStatus) checkInRan(minutes int, at time.Time) error {
	if h.CheckInOpenedAt == nil {
		return stateError(h.State, HallCheckingIn)
	}
	ends := h.CheckInOpenedAt.Add(time.Duration(minutes) * time.Minute)
	if at.Before(ends) {
		return kaiping.Errorf(kaiping.KindTooEarly, "hall.checkin_running",
			"签到须进行至少 %d 分钟，%s（北京时间）后方可开启解密", minutes, chinaDate(ends))
	}
	return nil
}

func windowClosed(at time.Time) error {
	return kaiping.Errorf(kaiping.KindTooLate, "hall.window_closed", "解密窗口已于 %s 关闭，不再接受解密",
		at.In(kaiping.BeijingTime).Format("2006-01-02 15:04:05"))
}

// SealOutcome is the state a hall starts in when its bid set is sealed: failed (流标) with
// the reason when fewer than minBids bidders have a current envelope, sealed otherwise.
func SealOutcome(bidders, minBids int) (HallState, string) {
	if bidders < minBids {
		return HallFailed, fmt.Sprintf("截标时递交投标文件的投标人不足 %d 家（%d 家），依法不予开标（流标），须重新招标", minBids, bidders)
	}
	return HallSealed, ""
}

// HallEvent is one change of a hall, written in the same transaction as the change, for an
// audience (HallEventAudiences): everyone in the hall, the overseers, or one bidder (named by
// Bidder) and the overseers. A client that reconnects reads the hall view and the events
// after its last version; the versions it may not read are gaps.
type HallEvent struct {
	Section   kaiping.ID      `json:"section_id"`
	Version   int64           `json:"version"`
	Type      string          `json:"type"`
	Audience  Audience        `json:"audience"`
	Bidder    kaiping.ID      `json:"bidder_id,omitempty"`
	Payload   json.RawMessage `json:"payload"`
	At        time.Time       `json:"at"`
	LedgerSeq int64           `json:"ledger_seq"`
}

// Change describes one change of a hall for the store to record: the event (type, audience,
// the bidder it is for, payload) and the ledger entry (action and detail, which is the
// payload). Audience has no default: the store refuses a change whose audience is not the
// one HallEventAudiences decided for its kind (Check).
type Change struct {
	Type     string
	Audience Audience
	Bidder   kaiping.ID
	Payload  map[string]any
}
