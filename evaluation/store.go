package evaluation

import (
	"context"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/draw"
	"github.com/kaiping/kaiping/evaluation/scoring"
)

// Store is what evaluation needs from persistence. Every method that changes state writes
// its ledger entry in the same transaction and refuses with a specific error rather than
// leaving anything half-written.
type Store interface {
	ExpertStore
	VenueStore
	DrawStore
	SessionStore
	ReviewStore
	ReportStore
	InquiryStore
}

// ExpertStore keeps the expert pool.
type ExpertStore interface {
	// CreateExpert stores a validated expert. A taken code is KindConflict
	// "expert.code_taken"; a login already linked to another expert "expert.principal_taken".
	CreateExpert(ctx context.Context, a kaiping.Actor, e Expert) error
	// UpdateExpert replaces the expert's record (not its status; see SetExpertStatus).
	UpdateExpert(ctx context.Context, a kaiping.Actor, e Expert) error
	// SetExpertStatus changes an expert's status with the reason.
	SetExpertStatus(ctx context.Context, a kaiping.Actor, id kaiping.ID, s ExpertStatus, reason string) error
	// ImportExperts stores all rows or none: codes already in the pool make it return an
	// *ImportError naming each such row.
	ImportExperts(ctx context.Context, a kaiping.Actor, rows []ImportRow, fileDigest string) error
	// Expert returns one expert; an unknown one is KindNotFound "expert.not_found".
	Expert(ctx context.Context, id kaiping.ID) (Expert, error)
	// ExpertByPrincipal returns the expert a login belongs to ("expert.not_found" if none).
	ExpertByPrincipal(ctx context.Context, principal kaiping.ID) (Expert, error)
	// Experts lists the pool by code.
	Experts(ctx context.Context, f ExpertFilter) ([]Expert, error)
	// Profile returns an expert with relations, calendar, history, assessments, violations.
	Profile(ctx context.Context, id kaiping.ID) (Profile, error)
	AddRelation(ctx context.Context, a kaiping.Actor, r Relation) error
	AddViolation(ctx context.Context, a kaiping.Actor, v Violation) error
	AddAssessment(ctx context.Context, a kaiping.Actor, as Assessment) error
	AddHistory(ctx context.Context, a kaiping.Actor, h HistoryEntry) error
	AddUnavailability(ctx context.Context, a kaiping.Actor, u Unavailability) error
	// SetExpertPhoto stores the expert's photo (JPEG or PNG) with its expert.photo entry.
	SetExpertPhoto(ctx context.Context, a kaiping.Actor, id kaiping.ID, data []byte, contentType, digest string) error
	// ExpertPhoto returns the expert's photo and its type ("expert.no_photo" if none).
	ExpertPhoto(ctx context.Context, id kaiping.ID) ([]byte, string, error)
	// RemoveUnavailability deletes one of the expert's periods ("calendar.not_found").
	RemoveUnavailability(ctx context.Context, a kaiping.Actor, expert, id kaiping.ID) error
	// Candidates reads the whole pool with what avoidance needs for a session: relations,
	// history since historySince, penalties still running at the session's start, calendar
	// periods and other draws' current memberships overlapping it. In expert ID order.
	Candidates(ctx context.Context, session draw.Period, historySince time.Time) ([]draw.Candidate, error)
}

// VenueStore keeps venues, seats and bookings.
type VenueStore interface {
	// CreateVenue stores a venue; a taken code is KindConflict "venue.code_taken".
	CreateVenue(ctx context.Context, a kaiping.Actor, v Venue) error
	UpdateVenue(ctx context.Context, a kaiping.Actor, v Venue) error
	// Venue returns one venue ("venue.not_found").
	Venue(ctx context.Context, id kaiping.ID) (Venue, error)
	// Venues lists every venue by code.
	Venues(ctx context.Context) ([]Venue, error)
	// AddVenueStaff lets a principal see the venue's bookings.
	AddVenueStaff(ctx context.Context, a kaiping.Actor, venue, principal kaiping.ID) error
	// StaffVenues lists the venues a principal staffs.
	StaffVenues(ctx context.Context, principal kaiping.ID) ([]kaiping.ID, error)
	// CreateSeat stores a seat; a code taken in the venue is KindConflict "seat.code_taken".
	CreateSeat(ctx context.Context, a kaiping.Actor, s Seat) error
	UpdateSeat(ctx context.Context, a kaiping.Actor, s Seat) error
	// Seat returns one seat ("seat.not_found").
	Seat(ctx context.Context, id kaiping.ID) (Seat, error)
	Seats(ctx context.Context, venue kaiping.ID) ([]Seat, error)
	// Book reserves a seat. The database's exclusion constraint refuses a range overlapping
	// another active booking of the seat, even from concurrent transactions: KindConflict
	// "booking.overlap". A seat not available is KindConflict "booking.seat_unavailable".
	Book(ctx context.Context, a kaiping.Actor, b Booking) error
	// CancelBooking frees a booking's range ("booking.not_found").
	CancelBooking(ctx context.Context, a kaiping.Actor, id kaiping.ID, reason string) error
	// ReservedFor reports whether seat has an active booking of its own (not an expert's
	// dispatch) covering the whole period: a seat kept for someone the draw does not seat,
	// such as the tenderer's representative.
	ReservedFor(ctx context.Context, seat kaiping.ID, period draw.Period) (bool, error)
	// Bookings lists the active bookings of a venue overlapping [from, to), by seat and time.
	Bookings(ctx context.Context, venue kaiping.ID, from, to time.Time) ([]DayBooking, error)
}

// DrawStore keeps draws, their snapshots, members and seat assignments.
type DrawStore interface {
	// TenderFacts returns what a draw needs to know of a tender ("tender.not_found").
	TenderFacts(ctx context.Context, tender kaiping.ID) (TenderFacts, error)
	// CommitDraw stores a new draw in status committed with its draw.commit entry.
	CommitDraw(ctx context.Context, a kaiping.Actor, d Draw, c CommitDetail) error
	// SaveSnapshot stores the snapshot bytes and the exclusions JSON with the draw.snapshot
	// entry and moves the draw to status next.
	SaveSnapshot(ctx context.Context, a kaiping.Actor, id kaiping.ID, snapshot, exclusions []byte, s SnapshotDetail, next DrawStatus) error
	// RecordResult stores the committee and the seed, appends draw.result then draw.reveal
	// and moves the draw to drawn. The draw must be in status from (else "draw.state").
	RecordResult(ctx context.Context, a kaiping.Actor, id kaiping.ID, from DrawStatus, seed string, members []Member) error
	// FailDraw records that the pool could not satisfy the draw: the seed (if any) is
	// revealed and draw.fail appended; the draw moves to failed.
	FailDraw(ctx context.Context, a kaiping.Actor, id kaiping.ID, from DrawStatus, seed string, f FailDetail) error
	// Draw returns one draw ("draw.not_found").
	Draw(ctx context.Context, id kaiping.ID) (Draw, error)
	// Draws lists a tender's draws, newest first.
	Draws(ctx context.Context, tender kaiping.ID) ([]Draw, error)
	// Snapshot returns a draw's stored snapshot bytes and exclusions.
	Snapshot(ctx context.Context, id kaiping.ID) ([]byte, []draw.Exclusion, error)
	// Members lists every member a draw ever had, by round and position.
	Members(ctx context.Context, id kaiping.ID) ([]Member, error)
	// Respond runs decide on the draw's state under a lock on the draw and writes the
	// decision with its ledger entries, in one transaction.
	Respond(ctx context.Context, a kaiping.Actor, id kaiping.ID, decide func(DrawState) (Decision, error)) (Decision, error)
	// Publish makes the committee's identities visible to everyone (结果公示后).
	Publish(ctx context.Context, a kaiping.Actor, id kaiping.ID) error
	// ExpertDraws lists the draws an expert was drawn in, newest first, with their seat.
	ExpertDraws(ctx context.Context, expert kaiping.ID) ([]ExpertDraw, error)
	// Dispatch books, for each plan whose expert is a current member without a seat, the
	// first free seat of the first venue in the plan's order that has one, all or nothing:
	// an expert no venue can seat is KindConflict "dispatch.no_seat".
	Dispatch(ctx context.Context, a kaiping.Actor, id kaiping.ID, plans []SeatPlan) ([]SeatAssignment, error)
	// Override moves an expert's assignment to plan's venue (and seat, if named), with the
	// reason ledgered.
	Override(ctx context.Context, a kaiping.Actor, id kaiping.ID, plan SeatPlan, reason string) (SeatAssignment, error)
	// Assignments lists the draw's current seat assignments.
	Assignments(ctx context.Context, id kaiping.ID) ([]SeatAssignment, error)
	// DrawRecord returns everything `kaiping draw verify` re-runs a draw from.
	DrawRecord(ctx context.Context, id kaiping.ID) (DrawRecord, error)
}

// TenderFacts is what a draw knows of its tender.
type TenderFacts struct {
	ID       kaiping.ID `json:"id"`
	Code     string     `json:"code"`
	Title    string     `json:"title"`
	Tenderer string     `json:"tenderer"`
	// Deadline is the bid deadline: who registered stays secret before it.
	Deadline time.Time `json:"deadline"`
	// Bidders are the names (and organisations) of every principal registered for any
	// section of the tender.
	Bidders []string `json:"bidders"`
	// GovernmentProcurement is the tender's kind (see opening.Tender).
	GovernmentProcurement bool `json:"government_procurement"`
	// Sections are the tender's sections, by code.
	Sections []GroupSection `json:"sections"`
	// Method is the tender's evaluation method, nil for a tender created without one.
	Method *scoring.Method `json:"method,omitempty"`
}

// DrawState is a draw as Respond hands it to the decision, under the draw's lock.
type DrawState struct {
	Draw         Draw
	Members      []Member
	Replacements []ReplaceDetail
	Snapshot     []byte
}

// Decision is what Respond writes: the expert's new state, and for a decline or no-show the
// replacement (nil when the sequence has nobody left).
type Decision struct {
	Expert      kaiping.ID    `json:"expert_id"`
	State       MemberState   `json:"state"`
	Reason      string        `json:"reason,omitempty"`
	Replacement *Member       `json:"replacement"`
	History     *HistoryEntry `json:"-"`
}

// SeatPlan is where dispatch may seat one expert: venues nearest first, or one seat.
type SeatPlan struct {
	Expert kaiping.ID
	Venues []VenueChoice
	Seat   kaiping.ID // Override only: this seat of Venues[0]
}

// VenueChoice is a venue at a distance from the expert's home.
type VenueChoice struct {
	Venue      kaiping.ID
	DistanceKm float64
	Host       bool
}

// ExpertDraw is a draw as the drawn expert sees it.
type ExpertDraw struct {
	Member
	TenderCode  string          `json:"tender_code"`
	TenderTitle string          `json:"tender_title"`
	Session     draw.Period     `json:"session"`
	Seat        *SeatAssignment `json:"seat,omitempty"`
	Address     string          `json:"address,omitempty"`
}

// LedgerEntry is a ledger entry as verify reads it.
type LedgerEntry struct {
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`
	Operator string    `json:"operator"`
	Action   string    `json:"action"`
	Detail   []byte    `json:"detail"`
}

// DrawRecord is everything a draw can be re-run and checked from: its ledger entries (all
// with the draw's ID as subject, in order), the stored snapshot and exclusions, and the
// members as the database holds them.
type DrawRecord struct {
	Draw       Draw
	Entries    []LedgerEntry
	Snapshot   []byte
	Exclusions []byte
	Members    []Member
}
