// Package evaluation is remote cross-region evaluation (远程异地评标): the shared expert pool
// (专家库) with its avoidance facts, the verifiable random draw of a committee (随机抽取,
// specified in DRAW.md, computed by the pure package evaluation/draw), the directory of
// venues and evaluation seats (工位共享资源目录) with bookings, and the dispatch of drawn
// experts to the nearest free seat. It depends on the root package and on the Store and
// Notifier interfaces it defines; storage/postgres implements the store.
package evaluation

import (
	"bytes"
	"context"
	"log/slog"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// Config tunes the evaluation rules a centre sets.
type Config struct {
	// RecentWindow is how long an expert rests from a tenderer after evaluating one of its
	// tenders (同一招标人回避期).
	RecentWindow time.Duration
	// RespondWithin is how long a drawn expert has to accept when a request does not say.
	RespondWithin time.Duration
	// CheckInLead is how long before a session's start check-in may open and a member's
	// login counts for it.
	CheckInLead time.Duration
	// SuspendBeforeReview and SuspendDuringReview bound a suspension on a fault: a session
	// not resumed within them can only be voided (a provincial rule; typically 2 and 4 hours).
	SuspendBeforeReview, SuspendDuringReview time.Duration
	// SeatGrace is how long a seat may be gone from the session's room before the host may
	// record its member as having left (擅离职守).
	SeatGrace time.Duration
	// PublicationMinimum is the shortest period candidates are published for (中标候选人公示,
	// 条例 Art. 54: not less than 3 days).
	PublicationMinimum time.Duration
	// InquiryApproval makes a supervisor of the tender approve each written request of the
	// committee to a bidder before it is sent (some centres' rule; off by default).
	InquiryApproval bool
}

// DefaultConfig is a centre's usual setting: 180 days' rest, 30 minutes to answer, check-in
// an hour before the start, 2 hours' wait on a fault before review and 4 during it, 10
// minutes' grace for a seat gone from the room, candidates published for 3 days.
var DefaultConfig = Config{RecentWindow: 180 * 24 * time.Hour, RespondWithin: 30 * time.Minute,
	CheckInLead: time.Hour, SuspendBeforeReview: 2 * time.Hour, SuspendDuringReview: 4 * time.Hour,
	SeatGrace: 10 * time.Minute, PublicationMinimum: 72 * time.Hour}

// Service runs the expert pool, draws, venues and dispatch.
type Service struct {
	store    Store
	notifier Notifier
	clock    kaiping.Clock
	log      *slog.Logger
	cfg      Config
	bids     OpenedBids
	records  SectionRecords
	papers   ReportPapers
	archive  ReportArchive
	// media runs the committees' rooms (StreamWith); nil: sessions run without audio and
	// video, and the media routes answer "session.media_unavailable".
	media signaling.Media
}

// NewService returns a Service on store that tells experts through notifier.
func NewService(store Store, notifier Notifier, clock kaiping.Clock, log *slog.Logger, cfg Config) *Service {
	return &Service{store: store, notifier: notifier, clock: clock, log: log, cfg: cfg}
}

// CreateExpert validates e and adds it to the pool.
func (s *Service) CreateExpert(ctx context.Context, a kaiping.Actor, e Expert) (Expert, error) {
	if err := e.Validate(); err != nil {
		return Expert{}, err
	}
	e.ID = kaiping.NewID()
	e.CreatedAt, e.UpdatedAt = a.At, a.At
	if err := s.store.CreateExpert(ctx, a, e); err != nil {
		return Expert{}, err
	}
	return e, nil
}

// UpdateExpert replaces an expert's record; its status changes only through SetStatus.
func (s *Service) UpdateExpert(ctx context.Context, a kaiping.Actor, id kaiping.ID, e Expert) (Expert, error) {
	old, err := s.store.Expert(ctx, id)
	if err != nil {
		return Expert{}, err
	}
	e.Status, e.StatusReason = old.Status, old.StatusReason
	if err := e.Validate(); err != nil {
		return Expert{}, err
	}
	e.ID, e.CreatedAt, e.UpdatedAt = id, old.CreatedAt, a.At
	if err := s.store.UpdateExpert(ctx, a, e); err != nil {
		return Expert{}, err
	}
	return e, nil
}

// SetStatus suspends an expert, puts them on leave or reactivates them. Leaving the active
// status needs a reason.
func (s *Service) SetStatus(ctx context.Context, a kaiping.Actor, id kaiping.ID, st ExpertStatus, reason string) error {
	if err := checkStatus(st, &reason, true); err != nil {
		return err
	}
	return s.store.SetExpertStatus(ctx, a, id, st, reason)
}

// Import parses an import file and stores all of its experts, or none.
func (s *Service) Import(ctx context.Context, a kaiping.Actor, data []byte, digest string) (int, error) {
	rows, err := ParseExpertsCSV(bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	for i := range rows {
		rows[i].Expert.ID = kaiping.NewID()
		rows[i].Expert.CreatedAt, rows[i].Expert.UpdatedAt = a.At, a.At
	}
	if err := s.store.ImportExperts(ctx, a, rows, digest); err != nil {
		return 0, err
	}
	return len(rows), nil
}

// AddRelation records a relation the expert declared.
func (s *Service) AddRelation(ctx context.Context, a kaiping.Actor, expert kaiping.ID, r Relation) (Relation, error) {
	if err := r.Validate(); err != nil {
		return Relation{}, err
	}
	r.ID, r.Expert, r.CreatedAt = kaiping.NewID(), expert, a.At
	return r, s.store.AddRelation(ctx, a, r)
}

// AddViolation records a violation; a ban keeps the expert out of draws until it ends.
func (s *Service) AddViolation(ctx context.Context, a kaiping.Actor, expert kaiping.ID, v Violation) (Violation, error) {
	if err := v.Validate(a.At); err != nil {
		return Violation{}, err
	}
	v.ID, v.Expert, v.RecordedBy, v.RecordedAt = kaiping.NewID(), expert, a.Principal, a.At
	return v, s.store.AddViolation(ctx, a, v)
}

// AddAssessment records an assessment of the expert's work.
func (s *Service) AddAssessment(ctx context.Context, a kaiping.Actor, expert kaiping.ID, as Assessment) (Assessment, error) {
	if err := as.Validate(); err != nil {
		return Assessment{}, err
	}
	as.ID, as.Expert, as.AssessedBy, as.AssessedAt = kaiping.NewID(), expert, a.Principal, a.At
	return as, s.store.AddAssessment(ctx, a, as)
}

// AddHistory records an evaluation the expert served on elsewhere.
func (s *Service) AddHistory(ctx context.Context, a kaiping.Actor, expert kaiping.ID, h HistoryEntry) (HistoryEntry, error) {
	if err := h.Validate(); err != nil {
		return HistoryEntry{}, err
	}
	h.ID, h.Expert, h.Draw = kaiping.NewID(), expert, ""
	return h, s.store.AddHistory(ctx, a, h)
}

// Me returns the expert the principal logs in as ("expert.not_found" if none).
func (s *Service) Me(ctx context.Context, principal kaiping.ID) (Expert, error) {
	return s.store.ExpertByPrincipal(ctx, principal)
}

// DeclareUnavailable adds a period to the calendar of the expert the principal logs in as.
func (s *Service) DeclareUnavailable(ctx context.Context, a kaiping.Actor, u Unavailability) (Unavailability, error) {
	me, err := s.Me(ctx, a.Principal)
	if err != nil {
		return Unavailability{}, err
	}
	if err := u.Validate(a.At); err != nil {
		return Unavailability{}, err
	}
	u.ID, u.Expert = kaiping.NewID(), me.ID
	return u, s.store.AddUnavailability(ctx, a, u)
}

// WithdrawUnavailable removes one of the principal's own calendar periods.
func (s *Service) WithdrawUnavailable(ctx context.Context, a kaiping.Actor, id kaiping.ID) error {
	me, err := s.Me(ctx, a.Principal)
	if err != nil {
		return err
	}
	return s.store.RemoveUnavailability(ctx, a, me.ID, id)
}
