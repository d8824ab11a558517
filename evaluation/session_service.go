package evaluation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/draw"
)

// maxGroups bounds a session's committee groups (a framework procurement has a few).
const maxGroups = 20

// CreateSession sets up a session from drawn and dispatched committees: one group per draw,
// each with its sections. Every draw must be the tender's, drawn with its seed revealed
// ("session.draw_not_drawn"), every current member must have accepted
// ("session.members_pending"), have a login ("session.expert_no_login") and a seat
// ("session.not_dispatched"), and every draw must name the same host site.
func (s *Service) CreateSession(ctx context.Context, a kaiping.Actor, req CreateSessionRequest) (Session, error) {
	if !req.Tender.Valid() {
		return Session{}, invalid("session.tender", "须指定招标项目")
	}
	if len(req.Groups) == 0 || len(req.Groups) > maxGroups {
		return Session{}, invalid("session.groups", "评标会议须有 1 至 %d 个评标小组", maxGroups)
	}
	facts, err := s.store.TenderFacts(ctx, req.Tender)
	if err != nil {
		return Session{}, err
	}
	sess := Session{
		ID: kaiping.NewID(), Tender: facts.ID, TenderCode: facts.Code, TenderTitle: facts.Title,
		GovernmentProcurement: facts.GovernmentProcurement, State: SessionScheduled,
		Suspensions: []Suspension{}, CreatedBy: a.Principal, CreatedAt: a.At, UpdatedAt: a.At,
	}
	taken := map[string]bool{}
	draws := map[kaiping.ID]bool{}
	seats := map[kaiping.ID]bool{} // the representatives'
	for i, gr := range req.Groups {
		g, members, window, host, err := s.group(ctx, facts, fmt.Sprintf("G%d", i+1), gr, taken, seats)
		if err != nil {
			return Session{}, err
		}
		if draws[g.Draw] {
			return Session{}, invalid("session.draw_twice", "同一次抽取不能组成两个评标小组")
		}
		draws[g.Draw] = true
		if sess.HostVenue == "" {
			sess.HostVenue, sess.Window = host, window
		} else if host != sess.HostVenue {
			return Session{}, invalid("session.host_venue_mismatch", "各评标小组的抽取须为同一主场")
		}
		sess.Window.Start = minTime(sess.Window.Start, window.Start)
		sess.Window.End = maxTime(sess.Window.End, window.End)
		sess.Groups = append(sess.Groups, g)
		sess.Members = append(sess.Members, members...)
	}
	if !a.At.Before(sess.Window.End) {
		return Session{}, kaiping.E(kaiping.KindTooLate, "session.window_past", "抽取所定的评标时间已经结束，不能再组织评标会议")
	}
	if err := s.store.CreateSession(ctx, a, sess); err != nil {
		return Session{}, err
	}
	return s.store.Session(ctx, sess.ID)
}

// group builds one group of a new session from its request.
func (s *Service) group(ctx context.Context, facts TenderFacts, id string, gr GroupRequest, taken map[string]bool, seats map[kaiping.ID]bool) (Group, []SessionMember, draw.Period, kaiping.ID, error) {
	fail := func(err error) (Group, []SessionMember, draw.Period, kaiping.ID, error) {
		return Group{}, nil, draw.Period{}, "", err
	}
	name := strings.TrimSpace(gr.Name)
	if name == "" || runes(name) > maxNameRunes {
		return fail(invalid("session.group_name", "评标小组名称不能为空，且不超过 %d 字", maxNameRunes))
	}
	g := Group{ID: id, Name: name, Draw: gr.Draw, VoteRound: 1, Votes: []Vote{},
		ExtensionRequests: []ExtensionRequest{}, Extensions: []Extension{}}
	if len(gr.Sections) == 0 {
		return fail(invalid("session.sections", "%s 须至少评审一个标段", name))
	}
	for _, code := range gr.Sections {
		i := slices.IndexFunc(facts.Sections, func(x GroupSection) bool { return x.Code == code })
		if i < 0 {
			return fail(kaiping.Errorf(kaiping.KindInvalid, "session.section", "本项目没有标段 %q", code))
		}
		if taken[code] {
			return fail(kaiping.Errorf(kaiping.KindInvalid, "session.section_twice", "标段 %s 已分给另一个评标小组", code))
		}
		taken[code] = true
		g.Sections = append(g.Sections, facts.Sections[i])
	}
	d, err := s.store.Draw(ctx, gr.Draw)
	if err != nil {
		return fail(err)
	}
	if d.Tender != facts.ID {
		return fail(invalid("session.draw_other_tender", "抽取 %s 不属于本项目", d.ID))
	}
	if d.Status != DrawDrawn {
		return fail(kaiping.Errorf(kaiping.KindConflict, "session.draw_not_drawn",
			"抽取当前为 %s：须抽取完成并公布随机种子后才能组织评标会议", d.Status))
	}
	g.Size = d.Request.CommitteeSize
	drawn, err := s.drawMembers(ctx, d)
	if err != nil {
		return fail(err)
	}
	var members []SessionMember
	for _, m := range drawn {
		switch {
		case !m.Accepted:
			return fail(kaiping.Errorf(kaiping.KindConflict, "session.members_pending", "专家 %s 尚未确认参加", m.Name))
		case m.Principal == "":
			return fail(kaiping.Errorf(kaiping.KindConflict, "session.expert_no_login", "专家 %s 尚无登录证书，无法在线参加评标", m.Name))
		case m.Seat == "":
			return fail(kaiping.Errorf(kaiping.KindConflict, "session.not_dispatched", "专家 %s 尚未分配评标工位，请先调度", m.Name))
		}
		m.Group = id
		members = append(members, m)
	}
	if len(gr.Representatives) != d.Request.TendererReps {
		return fail(kaiping.Errorf(kaiping.KindInvalid, "session.representatives",
			"%s 的抽取为招标人代表留了 %d 个名额，须逐一指定（当前 %d 人）", name, d.Request.TendererReps, len(gr.Representatives)))
	}
	for _, r := range gr.Representatives {
		if seats[r.Seat] {
			return fail(invalid("session.representative_seat", "两名招标人代表不能坐同一工位"))
		}
		seats[r.Seat] = true
		m, err := s.representative(ctx, d.HostVenue, d.Request.Session, r)
		if err != nil {
			return fail(err)
		}
		m.Group = id
		members = append(members, m)
	}
	return g, members, d.Request.Session, d.HostVenue, nil
}

// representative checks a tenderer's representative and their seat at the host site, which
// must be reserved for the whole window: dispatch then never seats an expert there.
func (s *Service) representative(ctx context.Context, host kaiping.ID, window draw.Period, r RepresentativeRequest) (SessionMember, error) {
	p, err := s.store.Principal(ctx, r.Principal)
	if err != nil {
		return SessionMember{}, err
	}
	if !p.Has(kaiping.RoleExpert) {
		return SessionMember{}, kaiping.Errorf(kaiping.KindInvalid, "session.representative_role", "%s 须持有评委（expert）角色才能登录评标工位", p.Name)
	}
	seat, err := s.store.Seat(ctx, r.Seat)
	if err != nil {
		return SessionMember{}, err
	}
	v, err := s.store.Venue(ctx, seat.Venue)
	if err != nil {
		return SessionMember{}, err
	}
	if seat.Venue != host || seat.Status != SeatAvailable {
		return SessionMember{}, kaiping.E(kaiping.KindInvalid, "session.representative_seat", "招标人代表须坐在主场的可用工位")
	}
	reserved, err := s.store.ReservedFor(ctx, seat.ID, window)
	if err != nil {
		return SessionMember{}, err
	}
	if !reserved {
		return SessionMember{}, kaiping.E(kaiping.KindConflict, "session.representative_seat_unreserved",
			"招标人代表的工位须先在主场预订，且预订须覆盖整个评标时间（专家调度不会占用已预订的工位）")
	}
	return SessionMember{ID: p.ID, Kind: MemberRepresentative, Principal: p.ID, Name: p.Name, Venue: v.ID, VenueCode: v.Code,
		City: v.City, Seat: seat.ID, SeatCode: seat.Code, HostSite: true, Accepted: true}, nil
}

// drawMembers lists the draw's members as session members: every member who ever held a
// place, the current ones with their seat.
func (s *Service) drawMembers(ctx context.Context, d Draw) ([]SessionMember, error) {
	members, err := s.store.Members(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	assigned, err := s.store.Assignments(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	var out []SessionMember
	for _, m := range members {
		if !m.State.current() {
			continue
		}
		e, err := s.store.Expert(ctx, m.Expert)
		if err != nil {
			return nil, err
		}
		sm := SessionMember{ID: e.ID, Kind: MemberDrawn, Principal: e.Principal, Name: e.Name, Code: e.Code,
			Accepted: m.State == MemberAccepted}
		for _, as := range assigned {
			if as.Expert == m.Expert {
				sm.Venue, sm.VenueCode, sm.City, sm.Seat, sm.SeatCode, sm.HostSite = as.Venue, as.VenueCode, as.City, as.Seat, as.SeatCode, as.Host
			}
		}
		out = append(out, sm)
	}
	return out, nil
}

// change runs rule on the session after bringing its members in line with its draws.
func (s *Service) change(ctx context.Context, a kaiping.Actor, id kaiping.ID, rule func(*Session) ([]SessionChange, error)) (Session, error) {
	cur, err := s.current(ctx, id)
	if err != nil {
		return Session{}, err
	}
	return s.store.ChangeSession(ctx, a, id, func(sess *Session) ([]SessionChange, error) {
		out := sess.sync(cur, a.At)
		more, err := rule(sess)
		if err != nil {
			return nil, err
		}
		return append(out, more...), nil
	})
}

// Session returns a session.
func (s *Service) Session(ctx context.Context, id kaiping.ID) (Session, error) {
	return s.store.Session(ctx, id)
}

// Sessions lists a tender's sessions.
func (s *Service) Sessions(ctx context.Context, tender kaiping.ID) ([]Session, error) {
	return s.store.Sessions(ctx, tender)
}

// OpenCheckIn starts check-in, at the earliest CheckInLead before the session's start.
func (s *Service) OpenCheckIn(ctx context.Context, a kaiping.Actor, id kaiping.ID) (Session, error) {
	return s.roomsFollow(ctx)(s.change(ctx, a, id, func(sess *Session) ([]SessionChange, error) {
		return sess.openCheckIn(a.At, s.cfg.CheckInLead)
	}))
}

// ConfirmMember records that venue staff a checked member's identity in person at seat.
func (s *Service) ConfirmMember(ctx context.Context, a kaiping.Actor, id, member, seat kaiping.ID) (Session, error) {
	venues, err := s.store.StaffVenues(ctx, a.Principal)
	if err != nil {
		return Session{}, err
	}
	return s.change(ctx, a, id, func(sess *Session) ([]SessionChange, error) {
		if err := sess.inWindow(a.At, s.cfg.CheckInLead); err != nil {
			return nil, err
		}
		return sess.confirm(member, seat, a.Principal, venues, a.At)
	})
}

// PledgeText is the integrity pledge (评标承诺书) every member signs before seeing any bid.
const PledgeText = `评标专家承诺书

本人作为本项目评标委员会成员，郑重承诺：
一、本人与本项目投标人不存在利害关系；如存在应当回避的情形，将主动提出回避。
二、严格遵守《中华人民共和国招标投标法》及其实施条例等规定，客观、公正地履行职责，遵守职业道德，
    按照招标文件规定的评标标准和方法评审，对所提出的评审意见承担个人责任。
三、不私下接触投标人，不收受投标人、中介人、其他利害关系人的财物或者其他好处，不向招标人征询确定中标人的意向。
四、不透露对投标文件的评审和比较、中标候选人的推荐情况以及与评标有关的其他情况。
五、评标期间按规定交存通讯工具，不擅离职守。
如有违反，愿承担相应法律责任。`

// PledgeDigest is the SHA-256 (hex) of PledgeText.
func PledgeDigest() string {
	sum := sha256.Sum256([]byte(PledgeText))
	return hex.EncodeToString(sum[:])
}

// PledgeMessage is what a member's certificate key signs to pledge in a session: a domain
// string, the session, the member and the digest of the pledge text, so that a signature
// is good for this pledge only.
func PledgeMessage(session, member kaiping.ID, digest string) []byte {
	return []byte("KAIPING-PLEDGE-V1\n" + string(session) + "\n" + string(member) + "\n" + digest + "\n")
}

// PledgeRequest is a member's signed pledge: the fingerprint of the login certificate whose
// key signed PledgeMessage, and the signature.
type PledgeRequest struct {
	Digest      string `json:"digest"`
	Certificate string `json:"certificate_fingerprint"`
	Signature   []byte `json:"signature"`
}

// Pledge records the signed integrity pledge of the member logged in as a.Principal.
func (s *Service) Pledge(ctx context.Context, a kaiping.Actor, id kaiping.ID, req PledgeRequest) (Session, error) {
	if req.Digest != PledgeDigest() {
		return Session{}, invalid("session.pledge_text", "所签署的不是当前的评标承诺书，请刷新页面后重新签署")
	}
	der, err := s.store.PrincipalCertificate(ctx, a.Principal, req.Certificate)
	if err != nil {
		return Session{}, err
	}
	return s.change(ctx, a, id, func(sess *Session) ([]SessionChange, error) {
		m, err := s.expertActing(sess, a)
		if err != nil {
			return nil, err
		}
		if err := verifyPledge(der, PledgeMessage(sess.ID, m.ID, req.Digest), req.Signature); err != nil {
			return nil, err
		}
		return sess.pledge(m, Pledge{Digest: req.Digest, Certificate: req.Certificate, Signature: req.Signature, At: a.At})
	})
}

// expertActing is the sitting member a.Principal, inside the window.
func (s *Service) expertActing(sess *Session, a kaiping.Actor) (*SessionMember, error) {
	m, err := sess.acting(a.Principal)
	if err != nil {
		return nil, err
	}
	if err := sess.inWindow(a.At, s.cfg.CheckInLead); err != nil {
		return nil, err
	}
	return m, nil
}

// DeclarationRequest is a member's 回避 declaration.
type DeclarationRequest struct {
	Conflict bool   `json:"conflict"`
	Reason   string `json:"reason"`
}

// Declare records the 回避 declaration of the member logged in as a.Principal. A declared
// conflict takes the member off the committee at once and draws the replacement from the
// draw's sequence (条例 Art. 48), who is then dispatched to a seat.
func (s *Service) Declare(ctx context.Context, a kaiping.Actor, id kaiping.ID, req DeclarationRequest) (Session, error) {
	reason := strings.TrimSpace(req.Reason)
	if req.Conflict && reason == "" || runes(reason) > maxReasonRunes {
		return Session{}, invalid("session.declare_reason", "声明回避须写明原因（不超过 %d 字）", maxReasonRunes)
	}
	var gone *SessionMember
	sess, err := s.change(ctx, a, id, func(sess *Session) ([]SessionChange, error) {
		m, err := s.expertActing(sess, a)
		if err != nil {
			return nil, err
		}
		out, err := sess.declare(m, Declaration{Conflict: req.Conflict, Reason: reason, At: a.At})
		if req.Conflict {
			cp := *m
			gone = &cp
		}
		return out, err
	})
	if err != nil || gone == nil {
		return sess, err
	}
	return s.replace(ctx, a, sess, *gone, MemberRecused, reason)
}

// replace draws the replacement of a member whose place ended, seats them, and brings the
// session in line. A representative is not drawn: the host names another (AddRepresentative).
// Should the process stop in between, the session shows the member recusing or left and
// ReplaceMember finishes it.
func (s *Service) replace(ctx context.Context, a kaiping.Actor, sess Session, m SessionMember, outcome MemberState, reason string) (Session, error) {
	if m.Kind != MemberDrawn {
		return sess, nil
	}
	g := sess.group(m.Group)
	if _, err := s.answer(ctx, a, g.Draw, m.ID, outcome, reason, false); err != nil {
		return Session{}, err
	}
	if _, err := s.Dispatch(ctx, a, g.Draw); err != nil {
		// The replacement is drawn and recorded; the host seats them by hand (Override).
		s.log.Warn("session: dispatch the replacement", "session_id", sess.ID, "draw_id", g.Draw, "err", err)
	}
	return s.change(ctx, a, sess.ID, func(*Session) ([]SessionChange, error) { return nil, nil })
}

// ReplaceMember draws the replacement of a member who declared a conflict or left, when it
// has not been drawn yet (the process stopped in between).
func (s *Service) ReplaceMember(ctx context.Context, a kaiping.Actor, id, member kaiping.ID) (Session, error) {
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return Session{}, err
	}
	m, err := sess.member(member)
	if err != nil {
		return Session{}, err
	}
	switch m.Stage() {
	case StageRecusing:
		return s.replace(ctx, a, sess, *m, MemberRecused, m.Declared.Reason)
	case StageLeft:
		return s.replace(ctx, a, sess, *m, MemberLeft, m.Left.Reason)
	}
	return Session{}, kaiping.E(kaiping.KindConflict, "session.nothing_to_replace", "该成员在席，或已被替换：无需递补")
}

// RemoveMember records, on the host's word, that a member left the seat (removed, or gone
// past the grace): they may not come back, and the replacement is drawn.
func (s *Service) RemoveMember(ctx context.Context, a kaiping.Actor, id, member kaiping.ID, reason string) (Session, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || runes(reason) > maxReasonRunes {
		return Session{}, invalid("session.reason", "须写明原因（不超过 %d 字）", maxReasonRunes)
	}
	var gone SessionMember
	sess, err := s.change(ctx, a, id, func(sess *Session) ([]SessionChange, error) {
		m, err := sess.member(member)
		if err != nil {
			return nil, err
		}
		out, err := sess.remove(m, reason, a.Principal, a.At)
		gone = *m
		return out, err
	})
	if err != nil {
		return Session{}, err
	}
	return s.replace(ctx, a, sess, gone, MemberLeft, reason)
}

// Vote records the chair vote of the member logged in as a.Principal.
func (s *Service) Vote(ctx context.Context, a kaiping.Actor, id, candidate kaiping.ID) (Session, error) {
	return s.change(ctx, a, id, func(sess *Session) ([]SessionChange, error) {
		m, err := s.expertActing(sess, a)
		if err != nil {
			return nil, err
		}
		return sess.vote(m, candidate, a.At)
	})
}

// StartReview begins review once every group is complete and has its chair.
func (s *Service) StartReview(ctx context.Context, a kaiping.Actor, id kaiping.ID) (Session, error) {
	return s.change(ctx, a, id, func(sess *Session) ([]SessionChange, error) { return sess.startReview(a.At) })
}

// StartSigning moves review on to signing the report.
// Every section must be summarized: the reviews are read first and the session's version
// pins them (every review change bumps it), so a summary taken back meanwhile is caught.
func (s *Service) StartSigning(ctx context.Context, a kaiping.Actor, id kaiping.ID) (Session, error) {
	before, err := s.store.Session(ctx, id)
	if err != nil {
		return Session{}, err
	}
	reviews, err := s.store.Reviews(ctx, id)
	if err != nil {
		return Session{}, err
	}
	return s.change(ctx, a, id, func(sess *Session) ([]SessionChange, error) {
		if sess.Version != before.Version {
			return nil, kaiping.E(kaiping.KindConflict, "session.changed", "评标会议状态刚刚发生变化，请刷新后重试")
		}
		if err := sess.summarized(reviews); err != nil {
			return nil, err
		}
		return sess.startSigning()
	})
}

// Close ends the session once every member has signed the report (or refused without a
// reason) and its files are archived under the compliance lock.
func (s *Service) Close(ctx context.Context, a kaiping.Actor, id kaiping.ID) (Session, error) {
	if _, err := s.archiveReport(ctx, a, id); err != nil {
		return Session{}, err
	}
	return s.roomsFollow(ctx)(s.change(ctx, a, id, func(sess *Session) ([]SessionChange, error) { return sess.close() }))
}

func reasonOf(req ReasonRequest, what string) (string, error) {
	r := strings.TrimSpace(req.Reason)
	if r == "" || runes(r) > maxReasonRunes {
		return "", invalid("session.reason", "%s须写明原因（不超过 %d 字）", what, maxReasonRunes)
	}
	return r, nil
}

// Suspend pauses the session on a fault, with the reason.
func (s *Service) Suspend(ctx context.Context, a kaiping.Actor, id kaiping.ID, req ReasonRequest) (Session, error) {
	reason, err := reasonOf(req, "暂停")
	if err != nil {
		return Session{}, err
	}
	return s.change(ctx, a, id, func(sess *Session) ([]SessionChange, error) {
		return sess.suspend(reason, a.Principal, a.At, s.cfg.SuspendBeforeReview, s.cfg.SuspendDuringReview)
	})
}

// Resume continues a suspended session within its limit.
func (s *Service) Resume(ctx context.Context, a kaiping.Actor, id kaiping.ID) (Session, error) {
	return s.change(ctx, a, id, func(sess *Session) ([]SessionChange, error) { return sess.resume(a.At) })
}

// Void ends a session that cannot go on, with the reason: a new committee must be formed.
func (s *Service) Void(ctx context.Context, a kaiping.Actor, id kaiping.ID, req ReasonRequest) (Session, error) {
	reason, err := reasonOf(req, "作废")
	if err != nil {
		return Session{}, err
	}
	return s.roomsFollow(ctx)(s.change(ctx, a, id, func(sess *Session) ([]SessionChange, error) { return sess.void(reason) }))
}

// RequestExtension records that the member logged in as a.Principal finds the time too short.
func (s *Service) RequestExtension(ctx context.Context, a kaiping.Actor, id kaiping.ID, req ReasonRequest) (Session, error) {
	reason, err := reasonOf(req, "申请延长评标时间")
	if err != nil {
		return Session{}, err
	}
	return s.change(ctx, a, id, func(sess *Session) ([]SessionChange, error) {
		m, err := s.expertActing(sess, a)
		if err != nil {
			return nil, err
		}
		return sess.requestExtension(m, reason, a.At)
	})
}

// ExtendRequest is the host's extension of the session's end.
type ExtendRequest struct {
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
}

// Extend moves the session's end.
func (s *Service) Extend(ctx context.Context, a kaiping.Actor, id kaiping.ID, req ExtendRequest) (Session, error) {
	reason, err := reasonOf(ReasonRequest{Reason: req.Reason}, "延长评标时间")
	if err != nil {
		return Session{}, err
	}
	return s.change(ctx, a, id, func(sess *Session) ([]SessionChange, error) {
		return sess.extend(req.Until, reason, a.Principal, a.At)
	})
}

// AddRepresentative names a tenderer's representative in place of one who recused or left.
func (s *Service) AddRepresentative(ctx context.Context, a kaiping.Actor, id kaiping.ID, group string, req RepresentativeRequest) (Session, error) {
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return Session{}, err
	}
	m, err := s.representative(ctx, sess.HostVenue, sess.Window, req)
	if err != nil {
		return Session{}, err
	}
	m.Group = group
	return s.change(ctx, a, id, func(sess *Session) ([]SessionChange, error) { return sess.addRepresentative(m) })
}

// SessionEvents lists the events after version after that r may read.
func (s *Service) SessionEvents(ctx context.Context, id kaiping.ID, after int64, r SessionReader, limit int) ([]SessionEvent, error) {
	return s.store.SessionEvents(ctx, id, after, r, limit)
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
