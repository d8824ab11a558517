package evaluation

import (
	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/draw"
)

// Ledger actions of a draw. Every entry has the draw ID as its subject, so the draw's whole
// history is the ledger entries with that subject, in sequence order; `kaiping draw verify`
// reads them and re-runs the draw. The details below are their JSON, a stable format.
const (
	ActionDrawCommit   = "draw.commit"   // CommitDetail
	ActionDrawSnapshot = "draw.snapshot" // SnapshotDetail
	ActionDrawResult   = "draw.result"   // ResultDetail
	ActionDrawReveal   = "draw.reveal"   // RevealDetail
	ActionDrawFail     = "draw.fail"     // FailDetail
	ActionDrawAccept   = "draw.accept"   // ResponseDetail
	ActionDrawReplace  = "draw.replace"  // ReplaceDetail
	ActionDrawPublish  = "draw.publish"  // nil
	ActionDrawDispatch = "draw.dispatch" // DispatchDetail
	ActionDrawOverride = "draw.override" // OverrideDetail
)

// CommitDetail is the draw.commit entry: the commitment to the seed and everything the draw
// will apply, fixed before the pool is read.
type CommitDetail struct {
	Tender           kaiping.ID  `json:"tender"`
	Commitment       string      `json:"commitment"`
	ExternalSeed     bool        `json:"external_seed"`
	Rules            draw.Rules  `json:"rules"`
	HostVenue        kaiping.ID  `json:"host_venue"`
	Session          draw.Period `json:"session"`
	Tenderer         string      `json:"tenderer"`
	Bidders          []string    `json:"bidders"`
	Others           []string    `json:"others"`
	Supervisors      []string    `json:"supervisors"`
	RecentWindowDays int         `json:"recent_window_days"`
	RespondMinutes   int         `json:"respond_minutes"`
}

// SnapshotDetail is the draw.snapshot entry: the digests of the stored snapshot and of the
// exclusions list (JSON of []draw.Exclusion).
type SnapshotDetail struct {
	Digest           string `json:"digest"`
	Size             int    `json:"size"`
	ExclusionsDigest string `json:"exclusions_digest"`
	Excluded         int    `json:"excluded"`
}

// ResultDetail is the draw.result entry: the committee in the order drawn.
type ResultDetail struct {
	Members []draw.Member `json:"members"`
}

// RevealDetail is the draw.reveal entry: the seed, hex.
type RevealDetail struct {
	Seed string `json:"seed"`
}

// FailDetail is the draw.fail entry: why the pool could not satisfy the request.
type FailDetail struct {
	Code       string           `json:"code"`
	Message    string           `json:"message"`
	Shortfalls []draw.Shortfall `json:"shortfalls,omitempty"`
}

// ResponseDetail is the draw.accept entry.
type ResponseDetail struct {
	Expert kaiping.ID `json:"expert"`
}

// ReplaceDetail is the draw.replace entry: who left the committee and why, and who the
// continued sequence put in their place (nil: nobody was left, the seat is vacant).
type ReplaceDetail struct {
	Out         kaiping.ID   `json:"out"`
	Outcome     MemberState  `json:"outcome"`
	Reason      string       `json:"reason"`
	Replacement *draw.Member `json:"replacement"`
}

// SeatAssignment is where a drawn expert evaluates (工位调度结果).
type SeatAssignment struct {
	Draw       kaiping.ID `json:"draw_id"`
	Expert     kaiping.ID `json:"expert_id"`
	Venue      kaiping.ID `json:"venue_id"`
	VenueCode  string     `json:"venue_code"`
	VenueName  string     `json:"venue_name,omitempty"`
	City       string     `json:"city"`
	Seat       kaiping.ID `json:"seat_id"`
	SeatCode   string     `json:"seat_code"`
	Booking    kaiping.ID `json:"booking_id"`
	Host       bool       `json:"host"` // 主场 (else 副场)
	DistanceKm float64    `json:"distance_km"`
	Override   string     `json:"override_reason,omitempty"`
}

// DispatchDetail is the draw.dispatch entry.
type DispatchDetail struct {
	Assignments []SeatAssignment `json:"assignments"`
}

// OverrideDetail is the draw.override entry: host staff moved an expert, with a reason.
type OverrideDetail struct {
	Expert kaiping.ID     `json:"expert"`
	From   SeatAssignment `json:"from"`
	To     SeatAssignment `json:"to"`
	Reason string         `json:"reason"`
}
