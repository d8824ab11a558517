package evaluation

import (
	"encoding/json"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/draw"
)

// SessionState is where an evaluation session (评标会议) stands. The states run one way:
// scheduled → checking_in → in_review → signing → closed; a fault suspends a running session
// (suspended) until the host resumes it where it was, and a session that cannot go on is void
// (a new committee must be formed). Closed and void are final.
type SessionState string

// The session states.
const (
	SessionScheduled  SessionState = "scheduled"   // 待开始
	SessionCheckingIn SessionState = "checking_in" // 签到：身份核验、承诺、回避、推选组长
	SessionInReview   SessionState = "in_review"   // 评审中
	SessionSigning    SessionState = "signing"     // 签署评标报告
	SessionClosed     SessionState = "closed"      // 已结束
	SessionSuspended  SessionState = "suspended"   // 暂停（故障）
	SessionVoid       SessionState = "void"        // 作废，须重新组建评标委员会
)

// Label is the state as pages and messages name it.
func (s SessionState) Label() string {
	switch s {
	case SessionScheduled:
		return "待开始"
	case SessionCheckingIn:
		return "签到中"
	case SessionInReview:
		return "评审中"
	case SessionSigning:
		return "签署评标报告"
	case SessionClosed:
		return "已结束"
	case SessionSuspended:
		return "已暂停"
	case SessionVoid:
		return "已作废"
	}
	return string(s)
}

// running reports whether the committee is at work in s (not before, after or paused).
func (s SessionState) running() bool {
	return s == SessionCheckingIn || s == SessionInReview || s == SessionSigning
}

// Session is one evaluation session of a tender: one or more committee groups (评标小组), each
// drawn by its own draw and evaluating its own sections, meeting across the host site (主场)
// and the remote sites (副场) the draws dispatched them to.
type Session struct {
	ID          kaiping.ID `json:"id"`
	Tender      kaiping.ID `json:"tender_id"`
	TenderCode  string     `json:"tender_code"`
	TenderTitle string     `json:"tender_title"`
	// GovernmentProcurement says the tender is a government procurement (政府采购): the
	// purchaser's representative may not chair the committee (财政部令第87号 Art. 45).
	GovernmentProcurement bool       `json:"government_procurement"`
	HostVenue             kaiping.ID `json:"host_venue_id"`
	// Window is when the committee sits: from the earliest start to the latest end of its
	// groups' draws, the end moved by extensions (延长评标时间).
	Window draw.Period  `json:"window"`
	State  SessionState `json:"state"`
	// Suspension is the running suspension, while State is suspended.
	Suspension *Suspension `json:"suspension,omitempty"`
	// Suspensions are the earlier, resumed suspensions.
	Suspensions []Suspension    `json:"suspensions"`
	Groups      []Group         `json:"groups"`
	Members     []SessionMember `json:"members"`
	// ReviewStartedAt is when review began; suspensions after it run under the longer limit.
	ReviewStartedAt *time.Time `json:"review_started_at,omitempty"`
	// EndReason says why the session was voided.
	EndReason string     `json:"end_reason,omitempty"`
	Version   int64      `json:"version"`
	CreatedBy kaiping.ID `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// Group is one committee of a session (评标小组), with the sections it evaluates.
type Group struct {
	ID       string         `json:"id"` // G1, G2, ... in the order the host gave them
	Name     string         `json:"name"`
	Draw     kaiping.ID     `json:"draw_id"`
	Sections []GroupSection `json:"sections"`
	// Size is the committee's size: drawn experts plus the tenderer's representatives.
	Size int `json:"size"`
	// Chair is the member elected chair (组长), once elected.
	Chair     kaiping.ID `json:"chair,omitempty"`
	ChairedAt *time.Time `json:"chaired_at,omitempty"`
	// VoteRound counts the chair elections, from 1: a tie or no majority starts the next.
	VoteRound int    `json:"vote_round"`
	Votes     []Vote `json:"votes"`
	// ExtensionRequests are the members' requests for more time (条例 Art. 48) since the last
	// extension; when more than a third of the committee asked, the host must extend.
	ExtensionRequests []ExtensionRequest `json:"extension_requests"`
	Extensions        []Extension        `json:"extensions"`
}

// GroupSection is a section (标段) a group evaluates.
type GroupSection struct {
	ID   kaiping.ID `json:"id"`
	Code string     `json:"code"`
	Name string     `json:"name"`
}

// Vote is one member's vote for the chair in one round.
type Vote struct {
	Round     int        `json:"round"`
	Voter     kaiping.ID `json:"voter"`
	Candidate kaiping.ID `json:"candidate"`
	At        time.Time  `json:"at"`
}

// ExtensionRequest is a member's statement that the time is too short.
type ExtensionRequest struct {
	Member kaiping.ID `json:"member"`
	Reason string     `json:"reason"`
	At     time.Time  `json:"at"`
}

// Extension is an extension of the session's end the host granted.
type Extension struct {
	Until  time.Time  `json:"until"`
	Reason string     `json:"reason"`
	By     kaiping.ID `json:"by"`
	At     time.Time  `json:"at"`
}

// Suspension is a pause of the session on a fault (故障暂停).
type Suspension struct {
	From   SessionState `json:"from"`
	Reason string       `json:"reason"`
	By     kaiping.ID   `json:"by"`
	At     time.Time    `json:"at"`
	// Limit is when the session can no longer resume: it can then only be voided.
	Limit     time.Time  `json:"limit"`
	ResumedAt *time.Time `json:"resumed_at,omitempty"`
}

// MemberKind is how a member came onto the committee.
type MemberKind string

// The member kinds.
const (
	MemberDrawn          MemberKind = "drawn"          // 随机抽取的专家
	MemberRepresentative MemberKind = "representative" // 招标人代表
)

// SessionMember is a member of a group as the session tracks them: where they sit and how far
// they are through check-in. A drawn member's place on the committee follows their draw (a
// replaced member stays listed, with Replaced set).
type SessionMember struct {
	// ID is the expert's ID for a drawn member, the principal's for a representative.
	ID        kaiping.ID `json:"id"`
	Kind      MemberKind `json:"kind"`
	Group     string     `json:"group"`
	Principal kaiping.ID `json:"principal_id,omitempty"`
	Name      string     `json:"name"`
	Code      string     `json:"code,omitempty"` // expert code
	Venue     kaiping.ID `json:"venue_id,omitempty"`
	VenueCode string     `json:"venue_code,omitempty"`
	City      string     `json:"city,omitempty"`
	Seat      kaiping.ID `json:"seat_id,omitempty"`
	SeatCode  string     `json:"seat_code,omitempty"`
	// HostSite says the seat is at the host site (主场).
	HostSite bool `json:"host_site"`
	// Accepted is false while a drawn replacement has not yet accepted the draw.
	Accepted bool `json:"accepted"`
	// Confirmed is the venue staff's in-person identity check at the seat (现场核验).
	Confirmed *Confirmation `json:"confirmed,omitempty"`
	Pledge    *Pledge       `json:"pledge,omitempty"`
	Declared  *Declaration  `json:"declared,omitempty"`
	// Replaced is when the member's place went to a replacement (回避, left, ill): their
	// work is void (条例 Art. 48) and they may not act again.
	Replaced *Departure `json:"replaced,omitempty"`
	// Left is when the member was removed or found gone from the seat past the grace: they
	// may not come back, and the host draws a replacement.
	Left *Departure `json:"left,omitempty"`
	// Presence is the seat's state in the group's room (session_presence.go), once it first
	// joined.
	Presence *SeatPresence `json:"presence,omitempty"`
}

// Confirmation is the venue staff's check of a member's identity at the seat.
type Confirmation struct {
	By   kaiping.ID `json:"by"`
	Seat kaiping.ID `json:"seat_id"`
	At   time.Time  `json:"at"`
}

// Pledge is a member's signed integrity pledge (评标承诺书).
type Pledge struct {
	// Digest is the SHA-256 (hex) of the pledge text signed.
	Digest      string    `json:"digest"`
	Certificate string    `json:"certificate_fingerprint"`
	Signature   []byte    `json:"signature"`
	At          time.Time `json:"at"`
}

// Declaration is a member's 回避 declaration: no conflict, or the conflict declared.
type Declaration struct {
	Conflict bool      `json:"conflict"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
}

// Departure is when and why a member's place ended.
type Departure struct {
	Outcome MemberState `json:"outcome"`
	Reason  string      `json:"reason"`
	By      kaiping.ID  `json:"by"`
	At      time.Time   `json:"at"`
}

// MemberStage is how far a member is, as pages show it.
type MemberStage string

// The member stages, in order.
const (
	StageAwaiting  MemberStage = "awaiting"  // 待到场（补抽专家待确认参加）
	StageArrived   MemberStage = "arrived"   // 待核验身份
	StageConfirmed MemberStage = "confirmed" // 已核验，待签署承诺书
	StagePledged   MemberStage = "pledged"   // 已承诺，待回避声明
	StageDeclared  MemberStage = "declared"  // 已声明无须回避，可以评审
	StageRecusing  MemberStage = "recusing"  // 声明回避，待递补
	StageReplaced  MemberStage = "replaced"  // 已由递补专家替换
	StageLeft      MemberStage = "left"      // 已离席，不得返回
)

// Stage is where m stands.
func (m SessionMember) Stage() MemberStage {
	switch {
	case m.Replaced != nil:
		return StageReplaced
	case m.Left != nil:
		return StageLeft
	case !m.Accepted:
		return StageAwaiting
	case m.Declared != nil && m.Declared.Conflict:
		return StageRecusing
	case m.Declared != nil:
		return StageDeclared
	case m.Pledge != nil:
		return StagePledged
	case m.Confirmed != nil:
		return StageConfirmed
	}
	return StageArrived
}

// MarshalJSON writes the member with its stage, so that no client derives it again.
func (m SessionMember) MarshalJSON() ([]byte, error) {
	type plain SessionMember
	return json.Marshal(struct {
		plain
		Stage MemberStage `json:"stage"`
	}{plain(m), m.Stage()})
}

// sitting reports whether m holds a place on the committee now.
func (m SessionMember) sitting() bool { return m.Replaced == nil && m.Left == nil }

// ready reports whether m may review: on the committee, pledged, and declared no conflict.
func (m SessionMember) ready() bool { return m.Stage() == StageDeclared }

// CreateSessionRequest is the host's request to set up a session from drawn and dispatched
// committees.
type CreateSessionRequest struct {
	Tender kaiping.ID     `json:"tender_id"`
	Groups []GroupRequest `json:"groups"`
}

// GroupRequest is one committee group of a new session.
type GroupRequest struct {
	Name string     `json:"name" text:"line"`
	Draw kaiping.ID `json:"draw_id"`
	// Sections are the codes of the sections the group evaluates.
	Sections []string `json:"sections"`
	// Representatives are the tenderer's representatives on the committee (招标人代表), as
	// many as the draw's request left places for, each with the seat at the host site they
	// sit at. They log in with the expert role.
	Representatives []RepresentativeRequest `json:"representatives,omitempty"`
}

// RepresentativeRequest is a tenderer's representative and their seat.
type RepresentativeRequest struct {
	Principal kaiping.ID `json:"principal_id"`
	Seat      kaiping.ID `json:"seat_id"`
}
