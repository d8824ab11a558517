package evaluation

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/draw"
	"github.com/kaiping/kaiping/httpapi"
)

var (
	// A session is tender-scoped like its draws: its evaluation host runs it, its supervisors
	// watch it.
	sessionStaff = []kaiping.Role{kaiping.RoleHost, kaiping.RoleSupervisor}
	supervisors  = []kaiping.Role{kaiping.RoleSupervisor}
	supervision  = []kaiping.Duty{kaiping.DutySupervisor}

	sessionID       = param{"id", "session.not_found", "评标会议不存在"}
	sessionMemberID = param{"member", "session.not_member", "该人员不是本次评标委员会的成员"}
)

// SessionRoutes returns the evaluation session's endpoints:
//
//	POST /api/v1/sessions                                  evaluation host†  set up a session from drawn, dispatched committees
//	GET  /api/v1/sessions                                  evaluation host†, supervisor†  a tender's sessions (?tender=)
//	GET  /api/v1/sessions/:id                              evaluation host†, supervisor†  the whole session
//	GET  /api/v1/sessions/:id/events                       evaluation host†, supervisor†  its events (?after=)
//	POST /api/v1/sessions/:id/checkin                      evaluation host†  open check-in
//	POST /api/v1/sessions/:id/review                       evaluation host†  start review
//	POST /api/v1/sessions/:id/signing                      evaluation host†  move on to signing the report
//	POST /api/v1/sessions/:id/close                        evaluation host†  close
//	POST /api/v1/sessions/:id/suspend                      evaluation host†  suspend on a fault, with the reason
//	POST /api/v1/sessions/:id/resume                       evaluation host†  resume within the limit
//	POST /api/v1/sessions/:id/void                         evaluation host†  void: a new committee must be formed
//	POST /api/v1/sessions/:id/extend                       evaluation host†  extend the end
//	POST /api/v1/sessions/:id/members/:member/remove       evaluation host†  record a member left; draw the replacement
//	POST /api/v1/sessions/:id/members/:member/replace      evaluation host†  finish a replacement the process left undone
//	POST /api/v1/sessions/:id/groups/:group/representatives  evaluation host†  name a representative in place of one gone
//	POST /api/v1/sessions/:id/messages                     evaluation host†  a message to every seat, or to one member's
//	GET  /api/v1/sessions/:id/members/:member/photo        evaluation host†, supervisor†  the expert's photo from the pool
//	PUT  /api/v1/experts/:id/photo                         admin        store an expert's photo (JPEG or PNG, ≤ 256 KB)
//	GET  /api/v1/venue/sessions/:id/members/:member/photo  venue staff of the member's venue  the photo, for the identity check
//	GET  /api/v1/sessions/:id/reads                        evaluation host†, supervisor†  who read which bid, when (not the content)
//	POST /api/v1/sessions/:id/bids/:envelope/supervision   supervisor†  read a bid's content, with the reason ledgered
//	GET  /api/v1/expert/pledge                             expert       the pledge text and its digest
//	GET  /api/v1/expert/sessions                           expert       own sessions
//	GET  /api/v1/expert/sessions/:id                       expert (member)  the session as a member sees it
//	GET  /api/v1/expert/sessions/:id/events                expert (member)  its events (?after=)
//	POST /api/v1/expert/sessions/:id/pledge                expert (member)  sign the pledge
//	POST /api/v1/expert/sessions/:id/declaration           expert (member)  declare 回避 or no conflict
//	POST /api/v1/expert/sessions/:id/chair-votes           expert (member)  vote for the chair
//	POST /api/v1/expert/sessions/:id/extension-requests    expert (member)  say the time is too short
//	GET  /api/v1/expert/sessions/:id/bids                  expert (member, ready)  the opened bids of the group's sections
//	GET  /api/v1/expert/sessions/:id/bids/:envelope        expert (member, ready)  one bid's content, streamed, the read ledgered
//	GET  /api/v1/venue/sessions                            venue staff  sessions seated at own venues
//	GET  /api/v1/venue/sessions/:id                        venue staff  the session's seats at own venues
//	GET  /api/v1/venue/sessions/:id/events                 venue staff  its events (?after=)
//	POST /api/v1/venue/sessions/:id/members/:member/confirm  venue staff of the member's venue  confirm identity at the seat
//
// († a host or supervisor assigned to the session's tender with that duty.) What a member or
// venue staff may do is checked on the session itself: membership, seat, venue.
func (s *Service) SessionRoutes() []httpapi.Route {
	get, post, put := fiber.MethodGet, fiber.MethodPost, fiber.MethodPut
	host := func(path, action string, h fiber.Handler) httpapi.Route {
		return httpapi.Route{Method: post, Path: path, Roles: drawHosts, Duties: evalHostDuty, Tender: s.sessionTender, Ledgered: action, Handler: h}
	}
	watch := func(path string, h fiber.Handler) httpapi.Route {
		return httpapi.Route{Method: get, Path: path, Roles: sessionStaff, Duties: drawDuties, Tender: s.sessionTender, Handler: h}
	}
	expert := func(method, path, action string, h fiber.Handler) httpapi.Route {
		return httpapi.Route{Method: method, Path: path, Roles: experts, Ledgered: action, Handler: h}
	}
	return []httpapi.Route{
		{Method: post, Path: "/api/v1/sessions", Roles: drawHosts, Duties: evalHostDuty, Tender: httpapi.TenderInBody("tender_id"),
			Ledgered: ActionSessionCreate, Handler: s.handleCreateSession},
		{Method: get, Path: "/api/v1/sessions", Roles: sessionStaff, Duties: drawDuties, Tender: httpapi.TenderQuery("tender"), Handler: s.handleSessions},
		watch("/api/v1/sessions/:id", s.handleSession),
		watch("/api/v1/sessions/:id/events", s.handleOverseerEvents),
		watch("/api/v1/sessions/:id/reads", s.handleReads),
		host("/api/v1/sessions/:id/checkin", ActionSessionCheckIn, s.hostStep(s.OpenCheckIn)),
		host("/api/v1/sessions/:id/review", ActionSessionReview, s.hostStep(s.StartReview)),
		host("/api/v1/sessions/:id/signing", ActionSessionSigning, s.hostStep(s.StartSigning)),
		host("/api/v1/sessions/:id/close", ActionSessionClose, s.hostStep(s.Close)),
		host("/api/v1/sessions/:id/resume", ActionSessionResume, s.hostStep(s.Resume)),
		host("/api/v1/sessions/:id/suspend", ActionSessionSuspend, bodyTo(s, sessionID, fiber.StatusOK, s.Suspend)),
		host("/api/v1/sessions/:id/void", ActionSessionVoid, bodyTo(s, sessionID, fiber.StatusOK, s.Void)),
		host("/api/v1/sessions/:id/extend", ActionSessionExtend, bodyTo(s, sessionID, fiber.StatusOK, s.Extend)),
		host("/api/v1/sessions/:id/members/:member/remove", ActionSessionLeft, s.handleRemove),
		host("/api/v1/sessions/:id/members/:member/replace", ActionSessionReplace, s.handleReplace),
		host("/api/v1/sessions/:id/groups/:group/representatives", ActionSessionReplace, s.handleAddRepresentative),
		host("/api/v1/sessions/:id/messages", "", bodyTo(s, sessionID, fiber.StatusOK, s.SendMessage)),
		watch("/api/v1/sessions/:id/members/:member/photo", s.handleHostPhoto),
		{Method: put, Path: "/api/v1/experts/:id/photo", Roles: admins, Handler: s.handleSetPhoto},
		{Method: get, Path: "/api/v1/venue/sessions/:id/members/:member/photo", Roles: venueStaff, Handler: s.handleVenuePhoto},
		{Method: post, Path: "/api/v1/sessions/:id/bids/:envelope/supervision", Roles: supervisors, Duties: supervision,
			Tender: s.sessionTender, Ledgered: ActionSessionSupervisorRead, Handler: s.handleSupervisorRead},

		{Method: get, Path: "/api/v1/expert/pledge", Roles: experts, Handler: s.handlePledgeText},
		{Method: get, Path: "/api/v1/expert/sessions", Roles: experts, Handler: s.handleMySessions},
		expert(get, "/api/v1/expert/sessions/:id", "", s.handleMemberSession),
		expert(get, "/api/v1/expert/sessions/:id/events", "", s.handleMemberEvents),
		expert(post, "/api/v1/expert/sessions/:id/pledge", ActionSessionPledge, memberStep(s, s.Pledge)),
		expert(post, "/api/v1/expert/sessions/:id/declaration", ActionSessionDeclare, memberStep(s, s.Declare)),
		expert(post, "/api/v1/expert/sessions/:id/chair-votes", ActionSessionVote, memberStep(s, s.vote)),
		expert(post, "/api/v1/expert/sessions/:id/extension-requests", ActionSessionExtensionAsk, memberStep(s, s.RequestExtension)),
		expert(get, "/api/v1/expert/sessions/:id/bids", "", s.handleBids),
		expert(get, "/api/v1/expert/sessions/:id/bids/:envelope", ActionSessionBidRead, s.handleReadBid),

		{Method: get, Path: "/api/v1/venue/sessions", Roles: venueStaff, Handler: s.handleVenueSessions},
		{Method: get, Path: "/api/v1/venue/sessions/:id", Roles: venueStaff, Handler: s.handleVenueSession},
		{Method: get, Path: "/api/v1/venue/sessions/:id/events", Roles: venueStaff, Handler: s.handleVenueEvents},
		{Method: post, Path: "/api/v1/venue/sessions/:id/members/:member/confirm", Roles: venueStaff, Ledgered: ActionSessionConfirm, Handler: s.handleConfirm},
	}
}

// sessionTender finds the tender of the session the path names, for the duty check.
func (s *Service) sessionTender(c *fiber.Ctx) (kaiping.ID, error) {
	id, err := sessionID.of(c)
	if err != nil {
		return "", err
	}
	sess, err := s.store.Session(c.UserContext(), id)
	return sess.Tender, err
}

// hostStep handles a host's bodiless step on the session the path names.
func (s *Service) hostStep(step func(context.Context, kaiping.Actor, kaiping.ID) (Session, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := sessionID.of(c)
		if err != nil {
			return err
		}
		sess, err := step(c.UserContext(), httpapi.ActorOf(c, s.clock), id)
		return ok(c, sess, err)
	}
}

// memberStep handles a member's step carrying a JSON T on the session the path names, and
// answers with the session as that member sees it (never the others' votes).
func memberStep[T any](s *Service, step func(context.Context, kaiping.Actor, kaiping.ID, T) (Session, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := sessionID.of(c)
		if err != nil {
			return err
		}
		var in T
		if err := httpapi.DecodeJSON(c, &in); err != nil {
			return err
		}
		a := httpapi.ActorOf(c, s.clock)
		sess, err := step(c.UserContext(), a, id, in)
		if err != nil {
			return err
		}
		v, err := memberView(sess, a.Principal)
		return ok(c, v, err)
	}
}

func (s *Service) handleCreateSession(c *fiber.Ctx) error {
	var req CreateSessionRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	sess, err := s.CreateSession(c.UserContext(), httpapi.ActorOf(c, s.clock), req)
	return created(c, sess, err)
}

func (s *Service) handleSessions(c *fiber.Ctx) error {
	ss, err := s.store.Sessions(c.UserContext(), kaiping.ID(strings.Clone(c.Query("tender"))))
	return ok(c, fiber.Map{"sessions": ss}, err)
}

func (s *Service) handleSession(c *fiber.Ctx) error {
	id, err := sessionID.of(c)
	if err != nil {
		return err
	}
	sess, err := s.store.Session(c.UserContext(), id)
	return ok(c, sess, err)
}

// maxEventsPage bounds one page of a session's events.
const maxEventsPage = 500

func (s *Service) events(c *fiber.Ctx, id kaiping.ID, r SessionReader) error {
	after := c.QueryInt("after", 0)
	if after < 0 {
		return invalid("request.after", "after 不得为负")
	}
	evs, err := s.store.SessionEvents(c.UserContext(), id, int64(after), r, maxEventsPage)
	return ok(c, fiber.Map{"events": evs}, err)
}

func (s *Service) handleOverseerEvents(c *fiber.Ctx) error {
	id, err := sessionID.of(c)
	if err != nil {
		return err
	}
	return s.events(c, id, SessionReader{Overseer: true})
}

func (s *Service) handleRemove(c *fiber.Ctx) error {
	id, member, err := s.sessionMember(c)
	if err != nil {
		return err
	}
	var req ReasonRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	sess, err := s.RemoveMember(c.UserContext(), httpapi.ActorOf(c, s.clock), id, member, req.Reason)
	return ok(c, sess, err)
}

func (s *Service) handleReplace(c *fiber.Ctx) error {
	id, member, err := s.sessionMember(c)
	if err != nil {
		return err
	}
	sess, err := s.ReplaceMember(c.UserContext(), httpapi.ActorOf(c, s.clock), id, member)
	return ok(c, sess, err)
}

func (s *Service) sessionMember(c *fiber.Ctx) (kaiping.ID, kaiping.ID, error) {
	id, err := sessionID.of(c)
	if err != nil {
		return "", "", err
	}
	member, err := sessionMemberID.of(c)
	return id, member, err
}

func (s *Service) handleAddRepresentative(c *fiber.Ctx) error {
	id, err := sessionID.of(c)
	if err != nil {
		return err
	}
	var req RepresentativeRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	sess, err := s.AddRepresentative(c.UserContext(), httpapi.ActorOf(c, s.clock), id, strings.Clone(c.Params("group")), req)
	return ok(c, sess, err)
}

// PledgeView is the pledge a member signs.
type PledgeView struct {
	Text   string `json:"text"`
	Digest string `json:"digest"`
	// Message is what the certificate key signs, with the session's and member's IDs in the
	// places named: KAIPING-PLEDGE-V1\n<session>\n<member>\n<digest>\n.
	Message string `json:"message_format"`
}

func (s *Service) handlePledgeText(c *fiber.Ctx) error {
	return c.JSON(PledgeView{Text: PledgeText, Digest: PledgeDigest(), Message: `KAIPING-PLEDGE-V1\n<session_id>\n<member_id>\n<digest>\n`})
}

func (s *Service) handleMySessions(c *fiber.Ctx) error {
	p := principal(c)
	ss, err := s.store.MemberSessions(c.UserContext(), p.ID)
	if err != nil {
		return err
	}
	out := make([]MemberSessionView, 0, len(ss))
	for _, sess := range ss {
		if v, err := memberView(sess, p.ID); err == nil {
			out = append(out, v)
		}
	}
	return c.JSON(fiber.Map{"sessions": out})
}

// MemberSessionView is a session as one member sees it: the committee and its progress, their
// own place, and of the votes and extension requests only their own.
type MemberSessionView struct {
	Session
	Me SessionMember `json:"me"`
}

// memberView is sess as the member logged in as principal sees it; a principal who never sat
// on it is "session.not_member".
func memberView(sess Session, principal kaiping.ID) (MemberSessionView, error) {
	var me *SessionMember
	for i := range sess.Members {
		if m := &sess.Members[i]; m.Principal == principal && (me == nil || m.sitting()) {
			me = m
		}
	}
	if me == nil {
		return MemberSessionView{}, kaiping.E(kaiping.KindForbidden, "session.not_member", "您不是本次评标委员会的成员")
	}
	v := MemberSessionView{Session: sess, Me: *me}
	v.Groups = make([]Group, len(sess.Groups))
	for i, g := range sess.Groups {
		g.Votes = filter(g.Votes, func(x Vote) bool { return x.Voter == me.ID })
		g.ExtensionRequests = filter(g.ExtensionRequests, func(x ExtensionRequest) bool { return x.Member == me.ID })
		v.Groups[i] = g
	}
	return v, nil
}

func filter[T any](xs []T, keep func(T) bool) []T {
	out := []T{}
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// mine reads the session the path names as the calling member sees it.
func (s *Service) mine(c *fiber.Ctx) (MemberSessionView, error) {
	id, err := sessionID.of(c)
	if err != nil {
		return MemberSessionView{}, err
	}
	sess, err := s.store.Session(c.UserContext(), id)
	if err != nil {
		return MemberSessionView{}, err
	}
	return memberView(sess, principal(c).ID)
}

func (s *Service) handleMemberSession(c *fiber.Ctx) error {
	v, err := s.mine(c)
	return ok(c, v, err)
}

func (s *Service) handleMemberEvents(c *fiber.Ctx) error {
	v, err := s.mine(c)
	if err != nil {
		return err
	}
	return s.events(c, v.ID, SessionReader{Member: v.Me.ID, Group: v.Me.Group})
}

// VoteRequest is a member's chair vote.
type VoteRequest struct {
	Candidate kaiping.ID `json:"candidate"`
}

func (s *Service) vote(ctx context.Context, a kaiping.Actor, id kaiping.ID, req VoteRequest) (Session, error) {
	return s.Vote(ctx, a, id, req.Candidate)
}

// VenueSessionView is a session as venue staff see it: its state and window, and the members
// seated at their venues with what an identity check compares.
type VenueSessionView struct {
	ID          kaiping.ID   `json:"id"`
	TenderCode  string       `json:"tender_code"`
	TenderTitle string       `json:"tender_title"`
	State       SessionState `json:"state"`
	Window      draw.Period  `json:"window"`
	Version     int64        `json:"version"`
	Seats       []SeatCheck  `json:"seats"`
}

// SeatCheck is one member at a venue's seat, as the venue staff check them in person.
type SeatCheck struct {
	SessionMember
	Employer string `json:"employer,omitempty"`
	// IDNumber is the member's ID card number with all but the first six and last four
	// digits masked: enough to compare with the card in hand.
	IDNumber string `json:"id_number_masked,omitempty"`
	HasPhoto bool   `json:"has_photo"`
}

// MarshalJSON writes the member (with its stage) and the check's fields in one object.
func (c SeatCheck) MarshalJSON() ([]byte, error) {
	type plain SessionMember
	return json.Marshal(struct {
		plain
		Stage    MemberStage `json:"stage"`
		Employer string      `json:"employer,omitempty"`
		IDNumber string      `json:"id_number_masked,omitempty"`
		HasPhoto bool        `json:"has_photo"`
	}{plain(c.SessionMember), c.Stage(), c.Employer, c.IDNumber, c.HasPhoto})
}

func (s *Service) venueView(ctx context.Context, sess Session, venues []kaiping.ID) (VenueSessionView, error) {
	v := VenueSessionView{ID: sess.ID, TenderCode: sess.TenderCode, TenderTitle: sess.TenderTitle, State: sess.State,
		Window: sess.Window, Version: sess.Version, Seats: []SeatCheck{}}
	for _, m := range sess.Members {
		if !slices.Contains(venues, m.Venue) {
			continue
		}
		sc := SeatCheck{SessionMember: m}
		if m.Kind == MemberDrawn {
			e, err := s.store.Expert(ctx, m.ID)
			if err != nil {
				return v, err
			}
			sc.Employer, sc.IDNumber, sc.HasPhoto = e.Employer, maskID(e.IDNumber), e.HasPhoto
		}
		v.Seats = append(v.Seats, sc)
	}
	if len(v.Seats) == 0 {
		return v, kaiping.E(kaiping.KindForbidden, "session.not_venue_staff", "本次评标会议在您所在场地没有工位")
	}
	return v, nil
}

// maskID keeps the first six and last four characters of an ID number.
func maskID(n string) string {
	if len(n) < 10 {
		return ""
	}
	return n[:6] + strings.Repeat("*", len(n)-10) + n[len(n)-4:]
}

func (s *Service) handleVenueSessions(c *fiber.Ctx) error {
	ctx := c.UserContext()
	venues, err := s.store.StaffVenues(ctx, principal(c).ID)
	if err != nil {
		return err
	}
	ss, err := s.store.VenueSessions(ctx, venues)
	if err != nil {
		return err
	}
	out := make([]VenueSessionView, 0, len(ss))
	for _, sess := range ss {
		v, err := s.venueView(ctx, sess, venues)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	return c.JSON(fiber.Map{"sessions": out})
}

// staffed reads the session the path names and the caller's venues.
func (s *Service) staffed(c *fiber.Ctx) (Session, []kaiping.ID, error) {
	id, err := sessionID.of(c)
	if err != nil {
		return Session{}, nil, err
	}
	ctx := c.UserContext()
	venues, err := s.store.StaffVenues(ctx, principal(c).ID)
	if err != nil {
		return Session{}, nil, err
	}
	sess, err := s.store.Session(ctx, id)
	return sess, venues, err
}

func (s *Service) handleVenueSession(c *fiber.Ctx) error {
	sess, venues, err := s.staffed(c)
	if err != nil {
		return err
	}
	v, err := s.venueView(c.UserContext(), sess, venues)
	return ok(c, v, err)
}

func (s *Service) handleVenueEvents(c *fiber.Ctx) error {
	sess, venues, err := s.staffed(c)
	if err != nil {
		return err
	}
	if _, err := s.venueView(c.UserContext(), sess, venues); err != nil {
		return err
	}
	return s.events(c, sess.ID, SessionReader{Venues: venues})
}

// ConfirmRequest is venue staff's confirmation of a member at a seat.
type ConfirmRequest struct {
	Seat kaiping.ID `json:"seat_id"`
}

func (s *Service) handleConfirm(c *fiber.Ctx) error {
	id, member, err := s.sessionMember(c)
	if err != nil {
		return err
	}
	var req ConfirmRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.UserContext()
	sess, err := s.ConfirmMember(ctx, httpapi.ActorOf(c, s.clock), id, member, req.Seat)
	if err != nil {
		return err
	}
	venues, err := s.store.StaffVenues(ctx, principal(c).ID)
	if err != nil {
		return err
	}
	v, err := s.venueView(ctx, sess, venues)
	return ok(c, v, err)
}
