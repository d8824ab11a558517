package evaluation

import (
	"slices"
	"time"

	"github.com/kaiping/kaiping"
)

// The rules of a session, as pure methods on the aggregate: each checks what the law and the
// session's state allow, changes the session in memory and returns the changes to record. The
// store runs them under the session's lock and writes the session back with one ledger entry
// and one event per change, in one transaction (SessionStore.ChangeSession). A refusal returns
// an error and the store writes nothing.

// SessionChange is one recorded change of a session: a ledger entry and an event of Type
// ("session.*"), seen by the audience its kind has (SessionAudiences).
type SessionChange struct {
	Type string
	// Member is who an event of the member audience is for; Venue the venue of one of the
	// venue audience; Group the group of one of the group audience.
	Member  kaiping.ID
	Venue   kaiping.ID
	Group   string
	Payload map[string]any
	// Quiet records the change in the ledger only, without an event: what no view follows
	// (the parts of a member's submitted marks).
	Quiet bool
}

func change(typ string, payload map[string]any) SessionChange {
	if payload == nil {
		payload = map[string]any{}
	}
	return SessionChange{Type: typ, Payload: payload}
}

func errSessionState(s *Session, verb string) error {
	return kaiping.Errorf(kaiping.KindConflict, "session.state", "评标会议当前为「%s」，不能%s", s.State.Label(), verb)
}

// require refuses unless the session is in one of states.
func (s *Session) require(verb string, states ...SessionState) error {
	if !slices.Contains(states, s.State) {
		return errSessionState(s, verb)
	}
	return nil
}

// member returns the member id, or "session.not_member".
func (s *Session) member(id kaiping.ID) (*SessionMember, error) {
	for i := range s.Members {
		if s.Members[i].ID == id {
			return &s.Members[i], nil
		}
	}
	return nil, kaiping.E(kaiping.KindNotFound, "session.not_member", "该人员不是本次评标委员会的成员")
}

// acting returns the sitting member who logs in as principal: someone not on the committee is
// "session.not_member"; a member whose place ended, "session.member_replaced" or
// "session.member_left", whatever they try.
func (s *Session) acting(principal kaiping.ID) (*SessionMember, error) {
	var found *SessionMember
	for i := range s.Members {
		m := &s.Members[i]
		if m.Principal != principal {
			continue
		}
		if m.sitting() {
			return m, nil
		}
		found = m
	}
	switch {
	case found == nil:
		return nil, kaiping.E(kaiping.KindForbidden, "session.not_member", "您不是本次评标委员会的成员")
	case found.Replaced != nil:
		return nil, kaiping.Errorf(kaiping.KindForbidden, "session.member_replaced",
			"您已于 %s 因%s由递补专家替换，不能再参与本次评标", beijingMinute(found.Replaced.At), found.Replaced.Outcome.label())
	}
	return nil, kaiping.Errorf(kaiping.KindForbidden, "session.member_left",
		"您已于 %s 离席，按规定不得返回本次评标", beijingMinute(found.Left.At))
}

// group returns the group with id.
func (s *Session) group(id string) *Group {
	for i := range s.Groups {
		if s.Groups[i].ID == id {
			return &s.Groups[i]
		}
	}
	return nil
}

// sitting lists the members of group who hold a place now.
func (s *Session) sitting(group string) []*SessionMember {
	var out []*SessionMember
	for i := range s.Members {
		if m := &s.Members[i]; m.Group == group && m.sitting() {
			out = append(out, m)
		}
	}
	return out
}

// inWindow refuses an expert's action outside the session's window (check-in opens lead before
// its start).
func (s *Session) inWindow(now time.Time, lead time.Duration) error {
	if now.Before(s.Window.Start.Add(-lead)) {
		return kaiping.Errorf(kaiping.KindTooEarly, "session.outside_window",
			"评标会议 %s 开始，签到最早于开始前 %d 分钟进行", beijingMinute(s.Window.Start), int(lead/time.Minute))
	}
	if !now.Before(s.Window.End) {
		return kaiping.Errorf(kaiping.KindTooLate, "session.outside_window", "评标会议已于 %s 结束", beijingMinute(s.Window.End))
	}
	return nil
}

func memberPayload(m *SessionMember) map[string]any {
	return map[string]any{"member": m.ID, "group": m.Group, "kind": m.Kind,
		"venue": m.Venue, "seat": m.SeatCode}
}

// openCheckIn starts check-in (签到), no earlier than lead before the window.
func (s *Session) openCheckIn(now time.Time, lead time.Duration) ([]SessionChange, error) {
	if err := s.require("开始签到", SessionScheduled); err != nil {
		return nil, err
	}
	if err := s.inWindow(now, lead); err != nil {
		return nil, err
	}
	s.State = SessionCheckingIn
	return []SessionChange{change(ActionSessionCheckIn, map[string]any{"window": s.Window})}, nil
}

// confirm records venue staff's in-person identity check of member at the seat: staff must
// staff the venue of the member's seat (staffVenues), at the seat the member was dispatched
// to.
func (s *Session) confirm(id, seat, staff kaiping.ID, staffVenues []kaiping.ID, now time.Time) ([]SessionChange, error) {
	if err := s.require("核验身份", SessionCheckingIn, SessionInReview, SessionSigning); err != nil {
		return nil, err
	}
	m, err := s.member(id)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(staffVenues, m.Venue) {
		return nil, kaiping.E(kaiping.KindForbidden, "session.not_venue_staff",
			"该专家不在您所在场地的工位：只有专家所在场地的工作人员可以核验其身份")
	}
	if seat != m.Seat {
		return nil, kaiping.Errorf(kaiping.KindConflict, "session.wrong_seat", "该专家分配的工位是 %s，请引导其到指定工位后再核验", m.SeatCode)
	}
	switch m.Stage() {
	case StageReplaced, StageLeft:
		return nil, kaiping.E(kaiping.KindConflict, "session.member_gone", "该专家已被替换或已离席，不能再核验")
	case StageAwaiting:
		return nil, kaiping.E(kaiping.KindConflict, "session.member_not_accepted", "该递补专家尚未确认参加，暂不能核验")
	case StageArrived:
	default:
		return nil, kaiping.E(kaiping.KindConflict, "session.already_confirmed", "该专家的身份已核验")
	}
	m.Confirmed = &Confirmation{By: staff, Seat: seat, At: now}
	c := change(ActionSessionConfirm, memberPayload(m))
	c.Payload["by"] = staff
	return []SessionChange{c}, nil
}

// pledge records the member's signed integrity pledge (the signature is checked by the
// service before).
func (s *Session) pledge(m *SessionMember, p Pledge) ([]SessionChange, error) {
	if err := s.require("签署承诺书", SessionCheckingIn, SessionInReview, SessionSigning); err != nil {
		return nil, err
	}
	switch m.Stage() {
	case StageArrived:
		return nil, errNotConfirmed()
	case StageConfirmed:
	default:
		return nil, kaiping.E(kaiping.KindConflict, "session.already_pledged", "您已签署承诺书")
	}
	m.Pledge = &p
	c := change(ActionSessionPledge, memberPayload(m))
	c.Payload["digest"], c.Payload["certificate"], c.Payload["signature"] = p.Digest, p.Certificate, p.Signature
	return []SessionChange{c}, nil
}

func errNotConfirmed() error {
	return kaiping.E(kaiping.KindForbidden, "session.not_confirmed", "请先由所在场地工作人员在工位现场核验您的身份")
}

// declare records the member's 回避 declaration. A conflict takes the member's place away at
// once: the service then draws the replacement.
func (s *Session) declare(m *SessionMember, d Declaration) ([]SessionChange, error) {
	if err := s.require("声明回避", SessionCheckingIn, SessionInReview, SessionSigning); err != nil {
		return nil, err
	}
	switch m.Stage() {
	case StageArrived:
		return nil, errNotConfirmed()
	case StageConfirmed:
		return nil, kaiping.E(kaiping.KindForbidden, "session.not_pledged", "请先签署评标承诺书")
	case StagePledged:
	default:
		return nil, kaiping.E(kaiping.KindConflict, "session.already_declared", "您已作出回避声明")
	}
	m.Declared = &d
	c := change(ActionSessionDeclare, memberPayload(m))
	c.Payload["conflict"], c.Payload["reason"] = d.Conflict, d.Reason
	out := []SessionChange{c}
	if d.Conflict {
		out = append(out, s.voidWork(m, d.At)...)
	}
	return out, nil
}

// voidWork voids what a member whose place ends did (条例 Art. 48): their chair votes of the
// running round, and the chair itself if they held it.
func (s *Session) voidWork(m *SessionMember, now time.Time) []SessionChange {
	g := s.group(m.Group)
	var out []SessionChange
	n := len(g.Votes)
	g.Votes = slices.DeleteFunc(g.Votes, func(v Vote) bool { return v.Round == g.VoteRound && v.Voter == m.ID })
	if g.Chair == m.ID {
		g.Chair, g.ChairedAt = "", nil
		g.VoteRound++
		out = append(out, change(ActionSessionChairVoid, map[string]any{"group": g.ID, "member": m.ID, "round": g.VoteRound}))
	} else if len(g.Votes) != n {
		out = append(out, change(ActionSessionVoteVoid, map[string]any{"group": g.ID, "member": m.ID, "round": g.VoteRound}))
	}
	return out
}

// vote records m's vote for candidate as chair in the running round. When every sitting
// member has voted, the round is counted: a candidate with more than half of the committee's
// votes is chair; otherwise a new round starts (re-vote on a tie).
func (s *Session) vote(m *SessionMember, candidate kaiping.ID, now time.Time) ([]SessionChange, error) {
	if err := s.require("推选组长", SessionCheckingIn); err != nil {
		return nil, err
	}
	if !m.ready() {
		return nil, kaiping.E(kaiping.KindForbidden, "session.not_declared", "请先签署承诺书并作出回避声明，再推选组长")
	}
	g := s.group(m.Group)
	if g.Chair != "" {
		return nil, kaiping.E(kaiping.KindConflict, "session.chair_elected", "本组组长已经选出")
	}
	c, err := s.member(candidate)
	if err != nil || c.Group != m.Group || !c.sitting() {
		return nil, kaiping.E(kaiping.KindInvalid, "session.candidate", "被推选人须是本组在席的评标委员会成员")
	}
	if !c.ready() {
		return nil, kaiping.Errorf(kaiping.KindConflict, "session.candidate_not_ready", "%s 尚未完成承诺和回避声明，暂不能被推选", c.Name)
	}
	if s.GovernmentProcurement && c.Kind == MemberRepresentative {
		return nil, kaiping.E(kaiping.KindInvalid, "session.candidate_representative",
			"政府采购项目中，采购人代表不得担任评标委员会组长（财政部令第87号第四十五条）")
	}
	for _, v := range g.Votes {
		if v.Round == g.VoteRound && v.Voter == m.ID {
			return nil, kaiping.Errorf(kaiping.KindConflict, "session.already_voted", "您已在第 %d 轮推选中投票", g.VoteRound)
		}
	}
	g.Votes = append(g.Votes, Vote{Round: g.VoteRound, Voter: m.ID, Candidate: candidate, At: now})
	out := []SessionChange{change(ActionSessionVote, map[string]any{"group": g.ID, "round": g.VoteRound, "voter": m.ID, "candidate": candidate})}
	return append(out, s.count(g, now)...), nil
}

// count closes the running round of g once every sitting member voted in it.
func (s *Session) count(g *Group, now time.Time) []SessionChange {
	sitting := s.sitting(g.ID)
	tally := map[kaiping.ID]int{}
	for _, v := range g.Votes {
		if v.Round == g.VoteRound {
			tally[v.Candidate]++
		}
	}
	total := 0
	for _, n := range tally {
		total += n
	}
	if total < len(sitting) || len(sitting) < g.Size {
		return nil
	}
	for cand, n := range tally {
		if 2*n > g.Size {
			g.Chair, g.ChairedAt = cand, &now
			return []SessionChange{change(ActionSessionChair, map[string]any{"group": g.ID, "round": g.VoteRound, "chair": cand, "votes": n, "tally": tally})}
		}
	}
	g.VoteRound++
	return []SessionChange{change(ActionSessionRevote, map[string]any{"group": g.ID, "round": g.VoteRound, "tally": tally})}
}

// startReview begins review once every group is complete: as many sitting members as its
// size, each confirmed, pledged and without conflict, and a chair.
func (s *Session) startReview(now time.Time) ([]SessionChange, error) {
	if err := s.require("开始评审", SessionCheckingIn); err != nil {
		return nil, err
	}
	for i := range s.Groups {
		g := &s.Groups[i]
		sitting := s.sitting(g.ID)
		ready := 0
		for _, m := range sitting {
			if m.ready() {
				ready++
			}
		}
		if ready < g.Size {
			return nil, kaiping.Errorf(kaiping.KindConflict, "session.not_ready",
				"%s：应到 %d 人，完成身份核验、承诺和回避声明的 %d 人，尚不能开始评审", g.Name, g.Size, ready)
		}
		if g.Chair == "" {
			return nil, kaiping.Errorf(kaiping.KindConflict, "session.no_chair", "%s 尚未推选出组长", g.Name)
		}
	}
	s.State, s.ReviewStartedAt = SessionInReview, &now
	return []SessionChange{change(ActionSessionReview, nil)}, nil
}

// startSigning moves review on to signing the report.
func (s *Session) startSigning() ([]SessionChange, error) {
	if err := s.require("进入报告签署", SessionInReview); err != nil {
		return nil, err
	}
	s.State = SessionSigning
	return []SessionChange{change(ActionSessionSigning, nil)}, nil
}

// close ends a session whose report is signed.
func (s *Session) close() ([]SessionChange, error) {
	if err := s.require("结束", SessionSigning); err != nil {
		return nil, err
	}
	s.State = SessionClosed
	return []SessionChange{change(ActionSessionClose, nil)}, nil
}

// suspend pauses a running session on a fault: before review it may resume within before, in
// review within during (a provincial rule, typically 2 and 4 hours).
func (s *Session) suspend(reason string, by kaiping.ID, now time.Time, before, during time.Duration) ([]SessionChange, error) {
	if err := s.require("暂停", SessionScheduled, SessionCheckingIn, SessionInReview, SessionSigning); err != nil {
		return nil, err
	}
	limit := before
	if s.ReviewStartedAt != nil {
		limit = during
	}
	s.Suspension = &Suspension{From: s.State, Reason: reason, By: by, At: now, Limit: now.Add(limit)}
	s.State = SessionSuspended
	return []SessionChange{change(ActionSessionSuspend, map[string]any{"from": s.Suspension.From, "reason": reason, "limit": s.Suspension.Limit})}, nil
}

// resume continues a suspended session where it stopped, before the suspension's limit; past
// it the session can only be voided.
func (s *Session) resume(now time.Time) ([]SessionChange, error) {
	if err := s.require("恢复", SessionSuspended); err != nil {
		return nil, err
	}
	sp := s.Suspension
	if !now.Before(sp.Limit) {
		return nil, kaiping.Errorf(kaiping.KindConflict, "session.suspension_expired",
			"暂停已超过时限（%s 前须恢复）：只能作废本次评标并重新组建评标委员会", beijingMinute(sp.Limit))
	}
	s.State = sp.From
	sp.ResumedAt = &now
	s.Suspensions = append(s.Suspensions, *sp)
	s.Suspension = nil
	return []SessionChange{change(ActionSessionResume, map[string]any{"to": s.State, "paused_seconds": int(now.Sub(sp.At) / time.Second)})}, nil
}

// void ends a session that cannot go on: a new committee must be formed.
func (s *Session) void(reason string) ([]SessionChange, error) {
	if err := s.require("作废", SessionScheduled, SessionCheckingIn, SessionInReview, SessionSigning, SessionSuspended); err != nil {
		return nil, err
	}
	from := s.State
	s.State, s.EndReason = SessionVoid, reason
	return []SessionChange{change(ActionSessionVoid, map[string]any{"from": from, "reason": reason})}, nil
}

// requestExtension records m's statement that the time is too short (one per member until
// the next extension); when more than a third of the committee has asked, the host is told
// that the time must be extended (条例 Art. 48).
func (s *Session) requestExtension(m *SessionMember, reason string, now time.Time) ([]SessionChange, error) {
	if err := s.require("申请延长评标时间", SessionInReview, SessionSigning); err != nil {
		return nil, err
	}
	if !m.ready() {
		return nil, kaiping.E(kaiping.KindForbidden, "session.not_declared", "请先签署承诺书并作出回避声明")
	}
	g := s.group(m.Group)
	for _, r := range g.ExtensionRequests {
		if r.Member == m.ID {
			return nil, kaiping.E(kaiping.KindConflict, "session.extension_already_requested", "您已提出延长评标时间的申请")
		}
	}
	g.ExtensionRequests = append(g.ExtensionRequests, ExtensionRequest{Member: m.ID, Reason: reason, At: now})
	n := len(g.ExtensionRequests)
	out := []SessionChange{change(ActionSessionExtensionAsk, map[string]any{"group": g.ID, "member": m.ID, "reason": reason, "count": n, "size": g.Size})}
	if 3*n > g.Size && 3*(n-1) <= g.Size {
		out = append(out, change(ActionSessionExtensionDue, map[string]any{"group": g.ID, "count": n, "size": g.Size}))
	}
	return out, nil
}

// extend moves the session's end to until, as the host decided.
func (s *Session) extend(until time.Time, reason string, by kaiping.ID, now time.Time) ([]SessionChange, error) {
	if err := s.require("延长评标时间", SessionCheckingIn, SessionInReview, SessionSigning, SessionSuspended); err != nil {
		return nil, err
	}
	if !until.After(s.Window.End) {
		return nil, kaiping.Errorf(kaiping.KindInvalid, "session.extension_until", "延长后的结束时间须晚于当前结束时间 %s", beijingMinute(s.Window.End))
	}
	if until.Sub(s.Window.Start) > maxSessionLength {
		return nil, invalid("session.extension_until", "一次评标不超过 7 天")
	}
	from := s.Window.End
	s.Window.End = until
	for i := range s.Groups {
		g := &s.Groups[i]
		g.Extensions = append(g.Extensions, Extension{Until: until, Reason: reason, By: by, At: now})
		g.ExtensionRequests = nil
	}
	return []SessionChange{change(ActionSessionExtend, map[string]any{"from": from, "until": until, "reason": reason})}, nil
}

// remove records that m left the seat (removed by the host, or gone past the grace): m may
// not come back; the service draws the replacement.
func (s *Session) remove(m *SessionMember, reason string, by kaiping.ID, now time.Time) ([]SessionChange, error) {
	if err := s.require("登记离席", SessionCheckingIn, SessionInReview, SessionSigning, SessionSuspended); err != nil {
		return nil, err
	}
	if !m.sitting() {
		return nil, kaiping.E(kaiping.KindConflict, "session.member_gone", "该成员已被替换或已离席")
	}
	m.Left = &Departure{Outcome: MemberLeft, Reason: reason, By: by, At: now}
	out := []SessionChange{change(ActionSessionLeft, map[string]any{"member": m.ID, "group": m.Group, "reason": reason})}
	return append(out, s.voidWork(m, now)...), nil
}

func (o MemberState) label() string {
	switch o {
	case MemberRecused:
		return "回避"
	case MemberLeft:
		return "离席"
	}
	return stateLabel(o)
}

// beijingMinute is t as people read it: Beijing time to the minute, said so.
func beijingMinute(t time.Time) string {
	return minute(t) + "（北京时间）"
}
