package evaluation

import (
	"context"
	"runtime"
	"sync"

	"github.com/kaiping/kaiping"
)

// SectionOutcome is one section's computation over its stored marks, as ComputeSession
// gives it: the outcome, or why there is none yet.
type SectionOutcome struct {
	Section kaiping.ID `json:"section_id"`
	Group   string     `json:"group"`
	// Outcome is the computation over the submitted marks; Pending, when it is nil, says why
	// the section cannot be computed yet (the initial review open, a member not submitted).
	Outcome *ReviewOutcome `json:"outcome,omitempty"`
	Pending string         `json:"pending,omitempty"`
}

// ComputeSession computes every section of the session, group by group in the session's
// order, from the marks stored in the review, as the chair's summary does: the submitted
// marks of the sitting members, the committee's decisions, every warning. It changes
// nothing and takes no lock, so what it returns for a section still in review can change; a
// frozen summary is recomputed, not copied, which is what checking it against the marks
// needs.
func (s *Service) ComputeSession(ctx context.Context, id kaiping.ID) ([]SectionOutcome, error) {
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return nil, err
	}
	reviews, err := s.store.Reviews(ctx, id)
	if err != nil {
		return nil, err
	}
	stored := make(map[kaiping.ID]*Review, len(reviews))
	for i := range reviews {
		stored[reviews[i].Section] = &reviews[i]
	}
	var out []SectionOutcome
	for _, g := range sess.Groups {
		for _, sec := range g.Sections {
			out = append(out, SectionOutcome{Section: sec.ID, Group: g.ID})
		}
	}
	// The sections are independent: as many at once as there are cores, so that one
	// section's reading from the database overlaps another's computation.
	errs := make([]error, len(out))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(out)) {
		wg.Go(func() {
			for i := range next {
				out[i], errs[i] = s.computeSection(ctx, &sess, stored[out[i].Section], out[i].Group, out[i].Section)
			}
		})
	}
	for i := range out {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err // the first section's, in the session's order
		}
	}
	return out, nil
}

// computeSection computes one section of ComputeSession; rev is its stored review, nil
// before its first change. It only reads sess and rev, which other sections' computations
// share.
func (s *Service) computeSection(ctx context.Context, sess *Session, rev *Review, group string, section kaiping.ID) (SectionOutcome, error) {
	out := SectionOutcome{Section: section, Group: group}
	if rev == nil {
		rev = &Review{Session: sess.ID, Section: section, Group: group, Stage: ReviewInitial, Decisions: []BidDecision{}, Notes: []WarningNote{}}
	}
	method, bids, _, err := s.caseFacts(ctx, *sess, section)
	if err != nil {
		return out, err
	}
	subs, err := s.store.Submissions(ctx, sess.ID, section)
	if err != nil {
		return out, err
	}
	origins, inquiries, err := s.reviewRecords(ctx, sess.ID, section)
	if err != nil {
		return out, err
	}
	c := &reviewCase{sess: sess, rev: rev, method: method, bids: bids, submitted: subs, origins: origins, inquiries: inquiries}
	l := &ReviewLock{Marks: func() ([]MemberMark, error) { return s.store.Marks(ctx, sess.ID, section) }}
	in, res, ws, err := s.computeLocked(c, l)
	switch {
	case kaiping.IsKind(err, kaiping.KindConflict) || kaiping.IsKind(err, kaiping.KindInvalid):
		out.Pending = kaiping.MessageOf(err)
	case err != nil:
		return out, err
	default:
		out.Outcome = &ReviewOutcome{InputsDigest: InputsDigest(in), Result: res, Warnings: ws}
	}
	return out, nil
}
