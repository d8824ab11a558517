package evaluation

import (
	"context"
	"runtime"
	"sync"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/scoring"
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
	method, err := s.reviewMethod(ctx, sess)
	if err != nil {
		return nil, err
	}
	// Every section's marks in one read (per section, the round trips and the rows' framing
	// cost more than the computation), while the sections' other records are read.
	var marks map[kaiping.ID][]MemberMark
	var marksErr error
	marksRead := make(chan struct{})
	go func() {
		defer close(marksRead)
		marks, marksErr = s.store.SessionMarks(ctx, id)
	}()
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
	// The sections are independent: as many at once as there are cores.
	cases := make([]*reviewCase, len(out))
	err = eachOf(len(out), func(i int) (err error) {
		cases[i], err = s.sectionCase(ctx, &sess, method, stored[out[i].Section], out[i].Group, out[i].Section)
		return err
	})
	<-marksRead
	if err != nil {
		return nil, err
	}
	if marksErr != nil {
		return nil, marksErr
	}
	if err := eachOf(len(out), func(i int) (err error) {
		out[i], err = s.computeSection(cases[i], marks[out[i].Section])
		return err
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// eachOf runs f on 0 … n-1, as many at once as there are cores, and returns the error of the
// first i that failed.
func eachOf(n int, f func(i int) error) error {
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for i := range next {
				errs[i] = f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// sectionCase reads what one section of ComputeSession is computed on besides its marks; rev
// is its stored review, nil before its first change. The case only reads sess and rev, which
// other sections' share.
func (s *Service) sectionCase(ctx context.Context, sess *Session, method scoring.Method, rev *Review, group string, section kaiping.ID) (*reviewCase, error) {
	if rev == nil {
		rev = &Review{Session: sess.ID, Section: section, Group: group, Stage: ReviewInitial, Decisions: []BidDecision{}, Notes: []WarningNote{}}
	}
	bids, err := s.recordedBids(ctx, section)
	if err != nil {
		return nil, err
	}
	subs, err := s.store.Submissions(ctx, sess.ID, section)
	if err != nil {
		return nil, err
	}
	origins, inquiries, err := s.reviewRecords(ctx, sess.ID, section)
	if err != nil {
		return nil, err
	}
	return &reviewCase{sess: sess, rev: rev, method: method, bids: bids, submitted: subs, origins: origins, inquiries: inquiries}, nil
}

// computeSection computes one section of ComputeSession over its submitted marks.
func (s *Service) computeSection(c *reviewCase, marks []MemberMark) (SectionOutcome, error) {
	out := SectionOutcome{Section: c.rev.Section, Group: c.rev.Group}
	l := &ReviewLock{Marks: func() ([]MemberMark, error) { return marks, nil }}
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
