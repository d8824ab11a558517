package evaluation

import (
	"context"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/scoring"
)

// ReviewView is a section's review as a member or an overseer sees it. A member sees their
// own marks and submissions, never another member's; everyone sees the committee's
// decisions, the progress counts and, once computable, the result and the warnings.
type ReviewView struct {
	Review Review         `json:"review"`
	Method scoring.Method `json:"method"`
	Bids   []ReviewBid    `json:"bids"`
	// Marks are the viewing member's own marks (empty for an overseer).
	Marks []Mark `json:"marks"`
	// Submitted are the stages the viewing member submitted.
	Submitted []ReviewStage `json:"submitted"`
	// Progress counts the sitting members who submitted each stage, of Sitting.
	Progress map[ReviewStage]int `json:"progress"`
	Sitting  int                 `json:"sitting"`
	// Awaiting names who has not submitted the current stage: for the chair and overseers.
	Awaiting []string `json:"awaiting,omitempty"`
	// Chair says the viewer chairs the section's group.
	Chair bool `json:"chair"`
	// Outcome is the computation over the submitted marks, once every member submitted what
	// it needs; Pending says why it is not there yet.
	Outcome *ReviewOutcome `json:"outcome,omitempty"`
	Pending string         `json:"pending,omitempty"`
	// Grounds are the grounds a 否决 may cite (RejectGrounds), for the chair's form.
	Grounds map[string]string `json:"grounds"`
}

// ReviewBid is an opened bid in the review, with where it stands.
type ReviewBid struct {
	RecordedBid
	// Valid is false for a bid that failed the initial review or was rejected, once the
	// initial review is concluded.
	Valid bool `json:"valid"`
	// Rejected is the committee's standing 否决, if any.
	Rejected *BidDecision `json:"rejected,omitempty"`
}

// ReviewOutcome is the computation's result and the warnings to settle before signing.
type ReviewOutcome struct {
	InputsDigest string          `json:"inputs_digest"`
	Result       scoring.Result  `json:"result"`
	Warnings     []ReviewWarning `json:"warnings"`
}

// ReviewOf returns section's review as a's principal sees it: a member of the group
// evaluating it, or (overseer) the tender's host or supervisor the route already checked.
func (s *Service) ReviewOf(ctx context.Context, a kaiping.Actor, id, section kaiping.ID, overseer bool) (ReviewView, error) {
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return ReviewView{}, err
	}
	method, bids, g, err := s.caseFacts(ctx, sess, section)
	if err != nil {
		return ReviewView{}, err
	}
	rev := Review{Session: id, Section: section, Group: g.ID, Stage: ReviewInitial, Decisions: []BidDecision{}, Notes: []WarningNote{}}
	var me *SessionMember
	if !overseer {
		// A stored review is always of the group that evaluates its section (ChangeReview
		// is given g.ID), so the member is checked before the review, its submissions,
		// records and marks are read: a refused poll costs no more queries.
		if me, err = (&reviewCase{sess: &sess, rev: &rev}).viewer(a.Principal); err != nil {
			return ReviewView{}, err
		}
	}
	reviews, err := s.store.Reviews(ctx, id)
	if err != nil {
		return ReviewView{}, err
	}
	for _, r := range reviews {
		if r.Section == section {
			rev = r
		}
	}
	subs, err := s.store.Submissions(ctx, id, section)
	if err != nil {
		return ReviewView{}, err
	}
	origins, inquiries, err := s.reviewRecords(ctx, id, section)
	if err != nil {
		return ReviewView{}, err
	}
	c := &reviewCase{sess: &sess, rev: &rev, method: method, bids: bids, submitted: subs, origins: origins, inquiries: inquiries}
	marks, err := s.store.Marks(ctx, id, section)
	if err != nil {
		return ReviewView{}, err
	}
	v := ReviewView{Review: rev, Method: method, Marks: []Mark{}, Submitted: []ReviewStage{},
		Progress: map[ReviewStage]int{}, Sitting: len(sess.sitting(g.ID)), Grounds: RejectGrounds}
	v.Chair = me != nil && g.Chair == me.ID
	for _, m := range marks {
		if me != nil && m.Member == me.ID {
			v.Marks = append(v.Marks, m.Mark)
		}
	}
	for _, sub := range subs {
		if mem, err := sess.member(sub.Member); err == nil && mem.sitting() {
			v.Progress[sub.Stage]++
		}
		if me != nil && sub.Member == me.ID {
			v.Submitted = append(v.Submitted, sub.Stage)
		}
	}
	if v.Chair || overseer {
		stage := rev.Stage
		if stage == ReviewSummarized {
			stage = ReviewDetailed
		}
		v.Awaiting = c.awaiting(stage)
	}
	valid, err := c.validSet(submittedOnly(marks, c))
	if err != nil {
		return ReviewView{}, err
	}
	for _, b := range bids {
		if !b.Opened {
			continue
		}
		rb := ReviewBid{RecordedBid: b, Valid: rev.Stage == ReviewInitial || valid[b.Bidder], Rejected: rev.rejection(b.Bidder)}
		if rb.Rejected != nil {
			rb.Valid = false
		}
		v.Bids = append(v.Bids, rb)
	}
	switch {
	case rev.Summary != nil:
		v.Outcome = &ReviewOutcome{InputsDigest: rev.Summary.InputsDigest, Result: rev.Summary.Result, Warnings: rev.Summary.Warnings}
	case rev.Stage == ReviewDetailed:
		l := &ReviewLock{Marks: func() ([]MemberMark, error) { return marks, nil }}
		in, res, ws, err := s.computeLocked(c, l)
		switch {
		case kaiping.IsKind(err, kaiping.KindConflict) || kaiping.IsKind(err, kaiping.KindInvalid):
			v.Pending = kaiping.MessageOf(err)
		case err != nil:
			return ReviewView{}, err
		default:
			v.Outcome = &ReviewOutcome{InputsDigest: InputsDigest(in), Result: res, Warnings: ws}
		}
	default:
		v.Pending = "初步评审尚未结束"
	}
	return v, nil
}

// viewer is the member principal who may see the section's review: any member of its group
// who holds a place (a replaced member may not), in any state of the session.
func (c *reviewCase) viewer(principal kaiping.ID) (*SessionMember, error) {
	m, err := c.sess.acting(principal)
	if err != nil {
		return nil, err
	}
	if m.Group != c.rev.Group {
		return nil, kaiping.E(kaiping.KindForbidden, "review.other_group", "该标段由其他评标小组评审")
	}
	return m, nil
}
