package evaluation

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/scoring"
)

// The rules of a section's review, as pure functions over what the store loaded under the
// session's lock (a reviewCase): each checks what the stage and the member's place allow and
// returns the changes to record. A refusal returns an error and nothing is written.

// The ledger actions (and session event kinds) of the review.
const (
	ActionReviewFacts      = "review.facts"
	ActionReviewMarks      = "review.marks"
	ActionReviewSubmit     = "review.submit"
	ActionReviewReopenMark = "review.reopen_sheet"
	ActionReviewConclude   = "review.initial_concluded"
	ActionReviewDecision   = "review.decision"
	ActionReviewNote       = "review.note"
	ActionReviewSummary    = "review.summary"
	ActionReviewReopen     = "review.reopen"
)

// marksPerEntry bounds the marks one review.marks ledger entry holds, well inside the ledger's
// 1 MiB detail: a large section's submission is recorded in several parts.
const marksPerEntry = 8000

// maxReviewTextRunes bounds a reason, a decision's text or a note.
const maxReviewTextRunes = 2000

// reviewCase is what a review rule decides on: the session and the section's review as
// locked, the tender's method, the section's bids as the opening recorded them, and who has
// submitted which stage.
type reviewCase struct {
	sess      *Session
	rev       *Review
	method    scoring.Method
	bids      []RecordedBid
	submitted []Submission
	// origins and inquiries are the platform's records the warnings rest on (not needed to
	// replay the computation: what they lead to is the committee's decisions).
	origins   []Origin
	inquiries []InquiryOutcome
}

func reviewInvalid(code, format string, args ...any) error {
	return kaiping.Errorf(kaiping.KindInvalid, code, format, args...)
}

func reviewConflict(code, format string, args ...any) error {
	return kaiping.Errorf(kaiping.KindConflict, code, format, args...)
}

// groupOf is the group that evaluates section, or "review.section_not_in_session".
func (s *Session) groupOf(section kaiping.ID) (*Group, error) {
	for i := range s.Groups {
		for _, sec := range s.Groups[i].Sections {
			if sec.ID == section {
				return &s.Groups[i], nil
			}
		}
	}
	return nil, kaiping.E(kaiping.KindNotFound, "review.section_not_in_session", "本次评标会议不评审该标段")
}

// reviewer is the member principal acting on section: sitting, checked in, of the group that
// evaluates it, while the session is in review.
func (c *reviewCase) reviewer(principal kaiping.ID) (*SessionMember, error) {
	m, err := c.sess.acting(principal)
	if err != nil {
		return nil, err
	}
	if err := c.sess.require("评审", SessionInReview); err != nil {
		return nil, err
	}
	if m.Group != c.rev.Group {
		return nil, kaiping.E(kaiping.KindForbidden, "review.other_group", "该标段由其他评标小组评审")
	}
	if !m.ready() {
		return nil, errNotConfirmed()
	}
	return m, nil
}

// chair is the chair of the section's group acting, while the session is in review.
func (c *reviewCase) chair(principal kaiping.ID) (*SessionMember, error) {
	m, err := c.reviewer(principal)
	if err != nil {
		return nil, err
	}
	if g := c.sess.group(c.rev.Group); g == nil || g.Chair != m.ID {
		return nil, kaiping.E(kaiping.KindForbidden, "review.not_chair", "只有评标委员会组长可以代表评标委员会进行此项操作")
	}
	return m, nil
}

// hasSubmitted reports whether member submitted stage.
func (c *reviewCase) hasSubmitted(member kaiping.ID, stage ReviewStage) bool {
	return slices.ContainsFunc(c.submitted, func(s Submission) bool { return s.Member == member && s.Stage == stage })
}

// awaiting lists the names of the sitting members who have not submitted stage.
func (c *reviewCase) awaiting(stage ReviewStage) []string {
	var out []string
	for _, m := range c.sess.sitting(c.rev.Group) {
		if !c.hasSubmitted(m.ID, stage) {
			out = append(out, m.Name)
		}
	}
	return out
}

// opened is the bid of bidder if the opening decrypted it.
func (c *reviewCase) opened(bidder kaiping.ID) (RecordedBid, bool) {
	for _, b := range c.bids {
		if b.Bidder == bidder && b.Opened {
			return b, true
		}
	}
	return RecordedBid{}, false
}

// rejection is the committee's standing 否决 of bidder: the last reject not revoked since.
func (r *Review) rejection(bidder kaiping.ID) *BidDecision {
	var out *BidDecision
	for i := range r.Decisions {
		d := &r.Decisions[i]
		switch {
		case d.Bidder != bidder:
		case d.Kind == DecisionReject:
			out = d
		case d.Kind == DecisionRevoke:
			out = nil
		}
	}
	return out
}

// checkMarks refuses marks that do not fit the stage, the method or the bids: an unknown
// bidder or item, a verdict that is not 0 or 1, a fail without a reason, a score outside the
// item's range, a score of a bid that is not valid.
func (c *reviewCase) checkMarks(stage ReviewStage, marks []Mark, valid map[kaiping.ID]bool) error {
	if len(marks) == 0 {
		return reviewInvalid("review.no_marks", "没有要保存的评审结论或评分")
	}
	// The items of the stage: their maximum, and their name, which messages show (a member
	// knows an item by its name, never by its code).
	items, names := map[string]int64{}, map[string]string{}
	if stage == ReviewInitial {
		for _, r := range c.method.Review {
			items[r.Code], names[r.Code] = 1, r.Name
		}
	} else {
		for _, g := range c.method.Criteria {
			for _, it := range g.Items {
				items[it.Code], names[it.Code] = it.Max, it.Name
			}
		}
	}
	seen := map[[2]string]bool{}
	for _, m := range marks {
		b, ok := c.opened(m.Bidder)
		if !ok {
			return reviewInvalid("review.unknown_bidder", "投标人 %s 不在本标段已解密的投标之列", m.Bidder)
		}
		max, ok := items[m.Item]
		if !ok {
			return reviewInvalid("review.unknown_item", "“%s”不是本标段评标办法中%s的评审项", m.Item, stage.Label())
		}
		key := [2]string{string(m.Bidder), m.Item}
		if seen[key] {
			return reviewInvalid("review.duplicate_mark", "对 %s 的评审项“%s”给出了两次结论", b.Name, names[m.Item])
		}
		seen[key] = true
		if m.Page != nil && *m.Page < 1 {
			return reviewInvalid("review.page", "引用的投标文件页码须为正整数")
		}
		if utf8.RuneCountInString(m.Reason) > maxReviewTextRunes {
			return reviewInvalid("review.reason_too_long", "理由不能超过 %d 字", maxReviewTextRunes)
		}
		if stage == ReviewInitial {
			if m.Value != 0 && m.Value != 1 {
				return reviewInvalid("review.verdict", "初步评审结论只能是合格（1）或不合格（0）")
			}
			if m.Value == 0 && strings.TrimSpace(m.Reason) == "" {
				return reviewInvalid("review.reason_required", "判定 %s 的“%s”不合格须写明理由", b.Name, names[m.Item])
			}
			continue
		}
		if !valid[m.Bidder] {
			return reviewConflict("review.bidder_rejected", "%s 的投标已被否决或未通过初步评审，不再进行详细评审", b.Name)
		}
		if m.Value < 0 || m.Value > max {
			return reviewInvalid("review.out_of_range", "%s 的评分项“%s”分值须在 0 至 %s 分之间", b.Name, names[m.Item], hundredths(max))
		}
	}
	return nil
}

// saveMarks checks that member may save marks of stage now: the stage is the section's, and
// the member has not submitted it.
func (c *reviewCase) saveMarks(principal kaiping.ID, stage ReviewStage, marks []Mark, valid map[kaiping.ID]bool) (*SessionMember, error) {
	m, err := c.openSheet(principal, stage)
	if err != nil {
		return nil, err
	}
	return m, c.checkMarks(stage, marks, valid)
}

// openSheet is the member principal whose sheet of stage is open: the section is at that
// stage, the method scores in it, and the member has not submitted it.
func (c *reviewCase) openSheet(principal kaiping.ID, stage ReviewStage) (*SessionMember, error) {
	m, err := c.reviewer(principal)
	if err != nil {
		return nil, err
	}
	if err := c.requireStage(stage); err != nil {
		return nil, err
	}
	if stage == ReviewDetailed && c.method.Kind != scoring.KindComprehensive {
		return nil, reviewConflict("review.no_scores", "本标段采用经评审的最低投标价法，详细评审不打分")
	}
	if c.hasSubmitted(m.ID, stage) {
		return nil, reviewConflict("review.submitted", "您已提交本阶段的评审结果；如需修改，请组长退回您的评审表")
	}
	return m, nil
}

func (c *reviewCase) requireStage(stage ReviewStage) error {
	if c.rev.Stage != stage {
		return reviewConflict("review.stage", "本标段当前处于「%s」阶段，不能进行%s", c.rev.Stage.Label(), stage.Label())
	}
	return nil
}

// submit checks that member's marks of stage are complete: every opened bid (initial) or
// every valid bid (detailed) on every item of the stage.
func (c *reviewCase) submit(principal kaiping.ID, stage ReviewStage, marks []Mark, valid map[kaiping.ID]bool) (*SessionMember, error) {
	m, err := c.openSheet(principal, stage)
	if err != nil {
		return nil, err
	}
	var items []string
	if stage == ReviewInitial {
		for _, r := range c.method.Review {
			items = append(items, r.Code)
		}
	} else {
		for _, g := range c.method.Criteria {
			for _, it := range g.Items {
				items = append(items, it.Code)
			}
		}
	}
	have := map[[2]string]bool{}
	for _, mk := range marks {
		have[[2]string{string(mk.Bidder), mk.Item}] = true
	}
	missing := 0
	for _, b := range c.bids {
		if !b.Opened || (stage == ReviewDetailed && !valid[b.Bidder]) {
			continue
		}
		for _, it := range items {
			if !have[[2]string{string(b.Bidder), it}] {
				missing++
			}
		}
	}
	if missing > 0 {
		return nil, reviewConflict("review.incomplete", "尚有 %d 项未给出%s结论，不能提交", missing, stage.Label())
	}
	return m, nil
}

// concludeInitial is the chair's close of the initial review once every sitting member has
// submitted it: the valid bids go on to the detailed review.
func (c *reviewCase) concludeInitial(principal kaiping.ID, validity []scoring.Outcome) ([]SessionChange, error) {
	if _, err := c.chair(principal); err != nil {
		return nil, err
	}
	if err := c.requireStage(ReviewInitial); err != nil {
		return nil, err
	}
	if waiting := c.awaiting(ReviewInitial); len(waiting) > 0 {
		return nil, reviewConflict("review.awaiting", "尚有评委未提交初步评审结论：%s", strings.Join(waiting, "、"))
	}
	var valid, invalid []string
	for _, o := range validity {
		if o.Valid {
			valid = append(valid, o.Bidder)
		} else {
			invalid = append(invalid, o.Bidder)
		}
	}
	c.rev.Stage = ReviewDetailed
	return []SessionChange{c.change(ActionReviewConclude, map[string]any{"valid": valid, "invalid": invalid})}, nil
}

// decide records a decision of the committee on one bid, entered by the chair before the
// summary.
func (c *reviewCase) decide(principal kaiping.ID, d BidDecision) ([]SessionChange, error) {
	m, err := c.chair(principal)
	if err != nil {
		return nil, err
	}
	if c.rev.Stage == ReviewSummarized {
		return nil, reviewConflict("review.summarized", "本标段已汇总；如需改变，请组长先退回汇总")
	}
	b, ok := c.opened(d.Bidder)
	if !ok {
		return nil, reviewInvalid("review.unknown_bidder", "投标人 %s 不在本标段已解密的投标之列", d.Bidder)
	}
	d.Text = strings.TrimSpace(d.Text)
	if d.Text == "" || utf8.RuneCountInString(d.Text) > maxReviewTextRunes {
		return nil, reviewInvalid("review.decision_text", "评标委员会的决定须写明理由（不超过 %d 字）", maxReviewTextRunes)
	}
	switch d.Kind {
	case DecisionReject:
		if _, ok := RejectGrounds[d.Reason]; !ok {
			return nil, reviewInvalid("review.reject_reason", "否决投标须选择《招标投标法实施条例》第五十一条规定的情形之一（或投标人不接受算术修正）")
		}
		if c.rev.rejection(d.Bidder) != nil {
			return nil, reviewConflict("review.already_rejected", "%s 的投标已被否决", b.Name)
		}
	case DecisionRevoke:
		if c.rev.rejection(d.Bidder) == nil {
			return nil, reviewConflict("review.not_rejected", "%s 的投标未被否决", b.Name)
		}
	case DecisionCostExplained:
	case DecisionCorrect:
		confirmed := slices.ContainsFunc(c.inquiries, func(o InquiryOutcome) bool {
			return o.Bidder == d.Bidder && o.Kind == string(InquiryCorrection) && o.State == string(InquiryAnswered) && o.CorrectedPrice == d.Amount
		})
		if !confirmed {
			return nil, reviewConflict("review.correction_unconfirmed", "%s 尚未书面确认修正后的报价 %s 元：须先经其确认，修正才能生效", b.Name, yuanOf(d.Amount))
		}
	case DecisionAdjust:
		if !slices.ContainsFunc(c.method.Adjustments, func(a scoring.Adjustment) bool { return a.Code == d.Adjustment }) {
			return nil, reviewInvalid("review.adjustment_unknown", "“%s”不是招标文件规定的偏差调整项", d.Adjustment)
		}
		if d.Amount < -1e13 || d.Amount > 1e13 {
			return nil, reviewInvalid("review.adjustment_amount", "偏差调整金额超出范围")
		}
	default:
		return nil, reviewInvalid("review.decision_kind", "未知的决定类型 %q", d.Kind)
	}
	if d.Kind != DecisionReject {
		d.Reason = ""
	}
	if d.Kind != DecisionAdjust {
		d.Adjustment = ""
	}
	if d.Kind != DecisionAdjust && d.Kind != DecisionCorrect {
		d.Amount = 0
	}
	d.By = m.ID
	c.rev.Decisions = append(c.rev.Decisions, d)
	return []SessionChange{c.change(ActionReviewDecision, map[string]any{"decision": d, "bidder_name": b.Name})}, nil
}

// note files the committee's written note on a warning the current computation raises.
func (c *reviewCase) note(principal kaiping.ID, n WarningNote, warnings []ReviewWarning) ([]SessionChange, error) {
	m, err := c.chair(principal)
	if err != nil {
		return nil, err
	}
	if c.rev.Stage == ReviewSummarized {
		return nil, reviewConflict("review.summarized", "本标段已汇总；如需改变，请组长先退回汇总")
	}
	i := slices.IndexFunc(warnings, func(w ReviewWarning) bool { return w.Key == n.Key })
	if i < 0 {
		return nil, reviewInvalid("review.no_such_warning", "当前没有该项提示")
	}
	n.Text = strings.TrimSpace(n.Text)
	if n.Text == "" || utf8.RuneCountInString(n.Text) > maxReviewTextRunes {
		return nil, reviewInvalid("review.note_text", "说明不能为空，且不超过 %d 字", maxReviewTextRunes)
	}
	n.Code, n.By = warnings[i].Code, m.ID
	c.rev.Notes = slices.DeleteFunc(c.rev.Notes, func(o WarningNote) bool { return o.Key == n.Key })
	c.rev.Notes = append(c.rev.Notes, n)
	return []SessionChange{c.change(ActionReviewNote, map[string]any{"note": n, "warning": warnings[i].Warning})}, nil
}

// summarize freezes the computation's result once nothing blocks it: every sitting member
// submitted the detailed review (综合评估法), no hard warning is open and every soft one has
// the committee's note.
func (c *reviewCase) summarize(principal kaiping.ID, sum ReviewSummary) ([]SessionChange, error) {
	m, err := c.chair(principal)
	if err != nil {
		return nil, err
	}
	if err := c.requireStage(ReviewDetailed); err != nil {
		return nil, err
	}
	if c.method.Kind == scoring.KindComprehensive {
		if waiting := c.awaiting(ReviewDetailed); len(waiting) > 0 {
			return nil, reviewConflict("review.awaiting", "尚有评委未提交详细评审评分：%s", strings.Join(waiting, "、"))
		}
	}
	var hard, unnoted []string
	for _, w := range sum.Warnings {
		switch {
		case w.Hard:
			hard = append(hard, w.Message)
		case w.Note == nil:
			unnoted = append(unnoted, w.Message)
		}
	}
	if len(hard) > 0 {
		return nil, reviewConflict("review.hard_warnings", "以下问题须先纠正，才能汇总：%s", strings.Join(hard, "；"))
	}
	if len(unnoted) > 0 {
		return nil, reviewConflict("review.notes_missing", "以下提示须由评标委员会书面说明后才能汇总：%s", strings.Join(unnoted, "；"))
	}
	sum.By = m.ID
	c.rev.Summary, c.rev.Stage = &sum, ReviewSummarized
	return []SessionChange{c.change(ActionReviewSummary, map[string]any{
		"inputs_digest": sum.InputsDigest, "candidates": sum.Result.Candidates, "warnings": len(sum.Warnings)})}, nil
}

// reopen takes the summary back, to correct what the committee found before signing.
func (c *reviewCase) reopen(principal kaiping.ID, reason string) ([]SessionChange, error) {
	if _, err := c.chair(principal); err != nil {
		return nil, err
	}
	if err := c.requireStage(ReviewSummarized); err != nil {
		return nil, err
	}
	if reason = strings.TrimSpace(reason); reason == "" {
		return nil, reviewInvalid("review.reason_required", "退回汇总须写明理由")
	}
	c.rev.Summary, c.rev.Stage = nil, ReviewDetailed
	return []SessionChange{c.change(ActionReviewReopen, map[string]any{"reason": reason})}, nil
}

// reopenSheet hands a member's submitted sheet back to them to correct (a score the
// warnings found wrong), before the summary.
func (c *reviewCase) reopenSheet(principal, member kaiping.ID, stage ReviewStage, reason string) ([]SessionChange, error) {
	if _, err := c.chair(principal); err != nil {
		return nil, err
	}
	if err := c.requireStage(stage); err != nil {
		return nil, err
	}
	target, err := c.sess.member(member)
	if err != nil {
		return nil, err
	}
	if !c.hasSubmitted(target.ID, stage) {
		return nil, reviewConflict("review.not_submitted", "%s 尚未提交本阶段的评审结果", target.Name)
	}
	if reason = strings.TrimSpace(reason); reason == "" {
		return nil, reviewInvalid("review.reason_required", "退回评审表须写明理由")
	}
	ch := c.change(ActionReviewReopenMark, map[string]any{"member": target.ID, "stage": stage, "reason": reason})
	ch.Member = target.ID
	return []SessionChange{ch}, nil
}

// change is a review change of the section, its payload naming the section and stage.
func (c *reviewCase) change(typ string, payload map[string]any) SessionChange {
	ch := change(typ, payload)
	ch.Payload["section"], ch.Payload["group"] = c.rev.Section, c.rev.Group
	ch.Group = c.rev.Group
	return ch
}

// hundredths formats a value in hundredths of a point.
func hundredths(v int64) string {
	s := fmt.Sprintf("%d.%02d", v/100, abs64(v%100))
	if v < 0 && v > -100 {
		s = "-" + s
	}
	return strings.TrimSuffix(strings.TrimSuffix(s, "0"), ".0")
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// summarized refuses unless every section of every group has the chair's summary.
func (s *Session) summarized(reviews []Review) error {
	for _, g := range s.Groups {
		for _, sec := range g.Sections {
			i := slices.IndexFunc(reviews, func(r Review) bool { return r.Section == sec.ID })
			if i < 0 || reviews[i].Stage != ReviewSummarized {
				return reviewConflict("review.not_summarized", "%s 标段 %s 尚未完成评审汇总，不能进入报告签署", g.Name, sec.Code)
			}
		}
	}
	return nil
}
