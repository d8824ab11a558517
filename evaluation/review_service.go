package evaluation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/scoring"
)

// SectionRecords is where the review takes a section's bids from: the opening's published
// record, with the bid prices it read out (the app joins the opening to it).
type SectionRecords interface {
	// RecordedBids lists the bids of section's published opening record; before the record is
	// out, a KindConflict error.
	RecordedBids(ctx context.Context, section kaiping.ID) ([]RecordedBid, error)
}

// ReviewRecordsFrom has the review take the sections' bids from r. Without it the review
// routes answer "review.records_unavailable".
func (s *Service) ReviewRecordsFrom(r SectionRecords) { s.records = r }

// loadCase loads what a rule on section of session decides on, outside the lock: the
// session's tender method and the section's recorded bids.
func (s *Service) caseFacts(ctx context.Context, sess Session, section kaiping.ID) (scoring.Method, []RecordedBid, *Group, error) {
	g, err := sess.groupOf(section)
	if err != nil {
		return scoring.Method{}, nil, nil, err
	}
	method, err := s.reviewMethod(ctx, sess)
	if err != nil {
		return scoring.Method{}, nil, nil, err
	}
	bids, err := s.recordedBids(ctx, section)
	if err != nil {
		return scoring.Method{}, nil, nil, err
	}
	return method, bids, g, nil
}

// reviewMethod is the session's tender's method (评标办法), normalized; a tender that stated
// none cannot be evaluated on the platform.
func (s *Service) reviewMethod(ctx context.Context, sess Session) (scoring.Method, error) {
	facts, err := s.store.TenderFacts(ctx, sess.Tender)
	if err != nil {
		return scoring.Method{}, err
	}
	if facts.Method == nil {
		return scoring.Method{}, reviewConflict("review.no_method", "该项目招标时未载明评标办法，不能在平台上评审")
	}
	return facts.Method.Normalized(), nil
}

// recordedBids are the section's bids as the opening's published record lists them.
func (s *Service) recordedBids(ctx context.Context, section kaiping.ID) ([]RecordedBid, error) {
	if s.records == nil {
		return nil, kaiping.E(kaiping.KindUnavailable, "review.records_unavailable", "本平台未配置开标记录服务")
	}
	return s.records.RecordedBids(ctx, section)
}

// review runs rule on section's review under the session's lock.
func (s *Service) review(ctx context.Context, a kaiping.Actor, id, section kaiping.ID, rule func(c *reviewCase, l *ReviewLock) (ReviewWrite, error)) (Review, error) {
	return s.reviewWith(ctx, a, id, section, false, rule)
}

// reviewWithRecords is review for a rule that computes or checks inquiries: it also reads the
// platform's records the warnings rest on (reviewRecords), which saving a mark does not need.
func (s *Service) reviewWithRecords(ctx context.Context, a kaiping.Actor, id, section kaiping.ID, rule func(c *reviewCase, l *ReviewLock) (ReviewWrite, error)) (Review, error) {
	return s.reviewWith(ctx, a, id, section, true, rule)
}

func (s *Service) reviewWith(ctx context.Context, a kaiping.Actor, id, section kaiping.ID, records bool, rule func(c *reviewCase, l *ReviewLock) (ReviewWrite, error)) (Review, error) {
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return Review{}, err
	}
	method, bids, g, err := s.caseFacts(ctx, sess, section)
	if err != nil {
		return Review{}, err
	}
	var origins []Origin
	var inquiries []InquiryOutcome
	if records {
		if origins, inquiries, err = s.reviewRecords(ctx, id, section); err != nil {
			return Review{}, err
		}
	}
	return s.store.ChangeReview(ctx, a, id, section, g.ID, func(l *ReviewLock) (ReviewWrite, error) {
		c := &reviewCase{sess: l.Session, rev: l.Review, method: method, bids: bids, submitted: l.Submissions,
			origins: origins, inquiries: inquiries}
		return rule(c, l)
	})
}

// reviewRecords are the platform's own records the warnings rest on: where the section's
// bidders acted from, and the committee's written requests to them.
func (s *Service) reviewRecords(ctx context.Context, id, section kaiping.ID) ([]Origin, []InquiryOutcome, error) {
	origins, err := s.store.Origins(ctx, section)
	if err != nil {
		return nil, nil, err
	}
	inquiries, err := s.InquiryOutcomes(ctx, id, section)
	return origins, inquiries, err
}

// SaveMarksRequest is a member's marks of one stage, saved as they go.
type SaveMarksRequest struct {
	Stage ReviewStage `json:"stage"`
	Marks []Mark      `json:"marks"`
}

// maxMarksPerSave bounds one save; a page saves as the member goes, never thousands at once.
const maxMarksPerSave = 5000

// SaveMarks stores a member's verdicts or scores as drafts: not ledgered until submitted.
func (s *Service) SaveMarks(ctx context.Context, a kaiping.Actor, id, section kaiping.ID, req SaveMarksRequest) (Review, error) {
	if len(req.Marks) > maxMarksPerSave {
		return Review{}, reviewInvalid("review.too_many_marks", "一次最多保存 %d 项", maxMarksPerSave)
	}
	if req.Stage != ReviewInitial && req.Stage != ReviewDetailed {
		return Review{}, reviewInvalid("review.stage_unknown", "评审阶段须为 initial（初步评审）或 detailed（详细评审）")
	}
	return s.review(ctx, a, id, section, func(c *reviewCase, l *ReviewLock) (ReviewWrite, error) {
		valid, err := s.validNow(c, l)
		if err != nil {
			return ReviewWrite{}, err
		}
		m, err := c.saveMarks(a.Principal, req.Stage, req.Marks, valid)
		if err != nil {
			return ReviewWrite{}, err
		}
		return ReviewWrite{Save: &MarkSave{Member: m.ID, Stage: req.Stage, Marks: req.Marks}}, nil
	})
}

func (s *Service) validNow(c *reviewCase, l *ReviewLock) (map[kaiping.ID]bool, error) {
	if c.rev.Stage == ReviewInitial {
		return map[kaiping.ID]bool{}, nil
	}
	marks, err := l.Marks()
	if err != nil {
		return nil, err
	}
	return c.validSet(marks)
}

// StageRequest names a review stage.
type StageRequest struct {
	Stage ReviewStage `json:"stage"`
}

// SubmitMarks records a member's complete marks of a stage: the marks go into the ledger
// (in parts of marksPerEntry) with their digest, and can no longer be changed unless the
// chair hands the sheet back.
func (s *Service) SubmitMarks(ctx context.Context, a kaiping.Actor, id, section kaiping.ID, req StageRequest) (Review, error) {
	return s.review(ctx, a, id, section, func(c *reviewCase, l *ReviewLock) (ReviewWrite, error) {
		all, err := l.Marks()
		if err != nil {
			return ReviewWrite{}, err
		}
		valid, err := c.validSet(all)
		if err != nil {
			return ReviewWrite{}, err
		}
		m, err := c.reviewer(a.Principal)
		if err != nil {
			return ReviewWrite{}, err
		}
		var own []Mark
		for _, mk := range all {
			if mk.Member == m.ID && c.stageOf(mk.Item) == req.Stage {
				if req.Stage == ReviewDetailed && !valid[mk.Bidder] {
					continue
				}
				own = append(own, mk.Mark)
			}
		}
		if _, err := c.submit(a.Principal, req.Stage, own, valid); err != nil {
			return ReviewWrite{}, err
		}
		digest := MarksDigest(own)
		var changes []SessionChange
		parts := (len(own) + marksPerEntry - 1) / marksPerEntry
		for p := range parts {
			part := own[p*marksPerEntry : min(len(own), (p+1)*marksPerEntry)]
			ch := c.change(ActionReviewMarks, map[string]any{"member": m.ID, "stage": req.Stage, "part": p + 1, "parts": parts, "marks": part})
			ch.Quiet = true
			changes = append(changes, ch)
		}
		sub := c.change(ActionReviewSubmit, map[string]any{"member": m.ID, "stage": req.Stage, "digest": digest, "count": len(own), "parts": parts})
		sub.Member = m.ID
		changes = append(changes, sub)
		return ReviewWrite{Changes: changes, Submit: &Submission{Member: m.ID, Stage: req.Stage, Digest: digest, At: a.At}}, nil
	})
}

// stageOf is the stage an item code belongs to.
func (c *reviewCase) stageOf(item string) ReviewStage {
	if c.isReviewItem(item) {
		return ReviewInitial
	}
	return ReviewDetailed
}

// MarksDigest is the hex SHA-256 of the marks' JSON encoding, sorted by bidder and item: what
// a submission ledgers.
func MarksDigest(marks []Mark) string {
	sorted := slices.Clone(marks)
	slices.SortFunc(sorted, func(a, b Mark) int {
		if a.Bidder != b.Bidder {
			if a.Bidder < b.Bidder {
				return -1
			}
			return 1
		}
		if a.Item < b.Item {
			return -1
		}
		if a.Item > b.Item {
			return 1
		}
		return 0
	})
	if sorted == nil {
		sorted = []Mark{}
	}
	b, _ := json.Marshal(sorted)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ReopenSheetRequest hands a member's submitted sheet back.
type ReopenSheetRequest struct {
	Member kaiping.ID  `json:"member_id"`
	Stage  ReviewStage `json:"stage"`
	Reason string      `json:"reason"`
}

// ReopenSheet is the chair's hand-back of a member's submitted sheet, to correct it.
func (s *Service) ReopenSheet(ctx context.Context, a kaiping.Actor, id, section kaiping.ID, req ReopenSheetRequest) (Review, error) {
	return s.review(ctx, a, id, section, func(c *reviewCase, _ *ReviewLock) (ReviewWrite, error) {
		changes, err := c.reopenSheet(a.Principal, req.Member, req.Stage, req.Reason)
		if err != nil {
			return ReviewWrite{}, err
		}
		return ReviewWrite{Changes: changes, Unsubmit: &Submission{Member: req.Member, Stage: req.Stage}}, nil
	})
}

// ConcludeInitial is the chair's close of the initial review.
func (s *Service) ConcludeInitial(ctx context.Context, a kaiping.Actor, id, section kaiping.ID) (Review, error) {
	return s.review(ctx, a, id, section, func(c *reviewCase, l *ReviewLock) (ReviewWrite, error) {
		if _, err := c.chair(a.Principal); err != nil {
			return ReviewWrite{}, err
		}
		if err := c.requireStage(ReviewInitial); err != nil {
			return ReviewWrite{}, err
		}
		var validity []scoring.Outcome
		if len(c.awaiting(ReviewInitial)) == 0 {
			marks, err := l.Marks()
			if err != nil {
				return ReviewWrite{}, err
			}
			if validity, err = c.validity(marks); err != nil {
				return ReviewWrite{}, err
			}
		}
		changes, err := c.concludeInitial(a.Principal, validity)
		return ReviewWrite{Changes: changes}, err
	})
}

// DecisionRequest is a committee decision on a bid, entered by the chair.
type DecisionRequest struct {
	Kind       string     `json:"kind"`
	Bidder     kaiping.ID `json:"bidder_id"`
	Reason     string     `json:"reason"`
	Adjustment string     `json:"adjustment"`
	Amount     int64      `json:"amount"`
	Text       string     `json:"text"`
}

// Decide records a committee decision: 否决 with its Art 51 ground, its revocation, the
// acceptance of a below-cost explanation, or an adjustment amount.
func (s *Service) Decide(ctx context.Context, a kaiping.Actor, id, section kaiping.ID, req DecisionRequest) (Review, error) {
	return s.reviewWithRecords(ctx, a, id, section, func(c *reviewCase, _ *ReviewLock) (ReviewWrite, error) {
		changes, err := c.decide(a.Principal, BidDecision{Kind: req.Kind, Bidder: req.Bidder, Reason: req.Reason,
			Adjustment: req.Adjustment, Amount: req.Amount, Text: req.Text, At: a.At})
		return ReviewWrite{Changes: changes}, err
	})
}

// NoteRequest is the committee's note on a warning.
type NoteRequest struct {
	Key  string `json:"key"`
	Text string `json:"text"`
}

// Note files the committee's written note on a current warning.
func (s *Service) Note(ctx context.Context, a kaiping.Actor, id, section kaiping.ID, req NoteRequest) (Review, error) {
	return s.reviewWithRecords(ctx, a, id, section, func(c *reviewCase, l *ReviewLock) (ReviewWrite, error) {
		if _, err := c.chair(a.Principal); err != nil {
			return ReviewWrite{}, err
		}
		_, _, warnings, err := s.computeLocked(c, l)
		if err != nil {
			return ReviewWrite{}, err
		}
		changes, err := c.note(a.Principal, WarningNote{Key: req.Key, Text: req.Text, At: a.At}, warnings)
		return ReviewWrite{Changes: changes}, err
	})
}

// computeLocked computes over the stored marks once every sitting member submitted what the
// stage needs; before, "review.awaiting" names who has not.
func (s *Service) computeLocked(c *reviewCase, l *ReviewLock) (scoring.Inputs, scoring.Result, []ReviewWarning, error) {
	if c.rev.Stage == ReviewInitial {
		return scoring.Inputs{}, scoring.Result{}, nil, reviewConflict("review.stage", "初步评审尚未结束，还不能计算评审结果")
	}
	if c.method.Kind == scoring.KindComprehensive {
		if waiting := c.awaiting(ReviewDetailed); len(waiting) > 0 {
			return scoring.Inputs{}, scoring.Result{}, nil, reviewConflict("review.awaiting", "尚有评委未提交详细评审评分：%s", strings.Join(waiting, "、"))
		}
	}
	marks, err := l.Marks()
	if err != nil {
		return scoring.Inputs{}, scoring.Result{}, nil, err
	}
	return c.compute(submittedOnly(marks, c))
}

// submittedOnly keeps the marks of the stages their members submitted: a draft never counts.
// It runs over every mark of a section, so the submissions and the items' stages are looked
// up in sets, and marks that are all submitted are returned as they are.
func submittedOnly(marks []MemberMark, c *reviewCase) []MemberMark {
	type key struct {
		member kaiping.ID
		stage  ReviewStage
	}
	done := make(map[key]bool, len(c.submitted))
	for _, s := range c.submitted {
		done[key{s.Member, s.Stage}] = true
	}
	stages := map[string]ReviewStage{}
	var out []MemberMark
	for i, m := range marks {
		st, ok := stages[m.Item]
		if !ok {
			st = c.stageOf(m.Item)
			stages[m.Item] = st
		}
		switch {
		case !done[key{m.Member, st}] && out == nil:
			out = append(make([]MemberMark, 0, len(marks)), marks[:i]...)
		case done[key{m.Member, st}] && out != nil:
			out = append(out, m)
		}
	}
	if out == nil {
		return marks
	}
	return out
}

// Summarize is the chair's summary: the ranking and candidates computed from the submitted
// marks, frozen once no hard warning is open and every soft one has its note.
func (s *Service) Summarize(ctx context.Context, a kaiping.Actor, id, section kaiping.ID) (Review, error) {
	return s.reviewWithRecords(ctx, a, id, section, func(c *reviewCase, l *ReviewLock) (ReviewWrite, error) {
		if _, err := c.chair(a.Principal); err != nil {
			return ReviewWrite{}, err
		}
		if err := c.requireStage(ReviewDetailed); err != nil {
			return ReviewWrite{}, err
		}
		in, res, warnings, err := s.computeLocked(c, l)
		if err != nil {
			return ReviewWrite{}, err
		}
		changes, err := c.summarize(a.Principal, ReviewSummary{InputsDigest: InputsDigest(in), Result: res, Warnings: warnings, At: a.At})
		return ReviewWrite{Changes: changes}, err
	})
}

// ReasonText is a reason given for a step.
type ReasonText struct {
	Reason string `json:"reason"`
}

// Reopen takes a section's summary back.
func (s *Service) Reopen(ctx context.Context, a kaiping.Actor, id, section kaiping.ID, req ReasonText) (Review, error) {
	return s.review(ctx, a, id, section, func(c *reviewCase, _ *ReviewLock) (ReviewWrite, error) {
		changes, err := c.reopen(a.Principal, req.Reason)
		return ReviewWrite{Changes: changes}, err
	})
}

// FactsRequest are the facts of a section the computation needs from the tender's documents
// and the opening: the ceiling (最高投标限价) and the drawn 下浮 rate.
type FactsRequest struct {
	Ceiling  int64  `json:"ceiling"`
	Downward *int64 `json:"downward"`
}

// SetFacts is the evaluation host's entry of the section's ceiling and drawn 下浮 rate,
// before the summary.
func (s *Service) SetFacts(ctx context.Context, a kaiping.Actor, id, section kaiping.ID, req FactsRequest) (Review, error) {
	return s.review(ctx, a, id, section, func(c *reviewCase, _ *ReviewLock) (ReviewWrite, error) {
		if err := c.sess.require("录入评审所需数据", SessionCheckingIn, SessionInReview); err != nil {
			return ReviewWrite{}, err
		}
		if c.rev.Stage == ReviewSummarized {
			return ReviewWrite{}, reviewConflict("review.summarized", "本标段已汇总；如需改变，请组长先退回汇总")
		}
		if req.Ceiling < 0 {
			return ReviewWrite{}, reviewInvalid("review.ceiling", "最高投标限价须为正数（单位：分），无限价时为 0")
		}
		p := c.method.Price
		drawn := p != nil && p.Rule == scoring.PriceAverageBase && len(p.DownwardChoices) > 0
		switch {
		case drawn && (req.Downward == nil || !slices.Contains(p.DownwardChoices, *req.Downward)):
			return ReviewWrite{}, reviewInvalid("review.downward", "下浮率须为招标文件所列备选下浮率之一（开标时抽取）")
		case !drawn && req.Downward != nil:
			return ReviewWrite{}, reviewInvalid("review.downward", "本标段的评标办法不抽取下浮率")
		}
		c.rev.Ceiling, c.rev.Downward = req.Ceiling, req.Downward
		return ReviewWrite{Changes: []SessionChange{c.change(ActionReviewFacts, map[string]any{"ceiling": req.Ceiling, "downward": req.Downward})}}, nil
	})
}
