package evaluation

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// SessionMediaRoutes returns the endpoints of the committees' rooms (session_media.go):
//
//	POST /api/v1/expert/sessions/:id/media                          expert (member, confirmed at the seat)  a grant: publish, receive the group
//	POST /api/v1/sessions/:id/media                                 evaluation host†, supervisor†  a grant (?group=, default the first): the host publishes and receives all, a supervisor receives all unseen
//	POST /api/v1/venue/sessions/:id/media                           venue staff  a hidden grant (?group=) receiving only their venues' seats
//	POST /api/v1/sessions/:id/groups/:group/seats/:member/mute      evaluation host†  mute or unmute a seat's audio or video in the room
//	POST /api/v1/sessions/:id/groups/:group/seats/:member/remove    evaluation host†  disconnect a seat from the room
//
// († assigned to the session's tender with that duty.) Every grant answers a
// SessionMediaGrant. Muting and removing act on the room only: removing a seat from the room
// is not removing the member from the committee (POST /api/v1/sessions/:id/members/:member/
// remove, which records that they left, voids their work and draws the replacement); a seat
// removed from the room may join again with a new grant. Refusals here are not legally
// significant acts and are not ledgered; the mute and the removal themselves are.
func (s *Service) SessionMediaRoutes() []httpapi.Route {
	post := fiber.MethodPost
	return []httpapi.Route{
		{Method: post, Path: "/api/v1/expert/sessions/:id/media", Roles: experts, Handler: s.handleMemberMedia},
		{Method: post, Path: "/api/v1/sessions/:id/media", Roles: sessionStaff, Duties: drawDuties, Tender: s.sessionTender, Handler: s.handleStaffMedia},
		{Method: post, Path: "/api/v1/venue/sessions/:id/media", Roles: venueStaff, Handler: s.handleVenueMedia},
		{Method: post, Path: "/api/v1/sessions/:id/groups/:group/seats/:member/mute", Roles: drawHosts, Duties: evalHostDuty, Tender: s.sessionTender, Handler: s.handleSeatMute},
		{Method: post, Path: "/api/v1/sessions/:id/groups/:group/seats/:member/remove", Roles: drawHosts, Duties: evalHostDuty, Tender: s.sessionTender, Handler: s.handleSeatRemove},
	}
}

func (s *Service) handleMemberMedia(c *fiber.Ctx) error {
	id, err := sessionID.of(c)
	if err != nil {
		return err
	}
	g, err := s.MemberMediaGrant(c.UserContext(), principal(c), id)
	return ok(c, g, err)
}

func (s *Service) handleStaffMedia(c *fiber.Ctx) error {
	id, err := sessionID.of(c)
	if err != nil {
		return err
	}
	role := MediaSupervisor
	if httpapi.HasDuty(c, kaiping.DutyEvaluationHost) {
		role = MediaEvalHost
	}
	g, err := s.StaffMediaGrant(c.UserContext(), principal(c), role, id, strings.Clone(c.Query("group")))
	return ok(c, g, err)
}

func (s *Service) handleVenueMedia(c *fiber.Ctx) error {
	id, err := sessionID.of(c)
	if err != nil {
		return err
	}
	g, err := s.VenueMediaGrant(c.UserContext(), principal(c), id, strings.Clone(c.Query("group")))
	return ok(c, g, err)
}

func (s *Service) handleSeatMute(c *fiber.Ctx) error {
	id, member, err := s.sessionMember(c)
	if err != nil {
		return err
	}
	var req SeatMuteRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	sess, err := s.MuteSeat(c.UserContext(), httpapi.ActorOf(c, s.clock), id, strings.Clone(c.Params("group")), member, req)
	return ok(c, sess, err)
}

func (s *Service) handleSeatRemove(c *fiber.Ctx) error {
	id, member, err := s.sessionMember(c)
	if err != nil {
		return err
	}
	sess, err := s.RemoveSeat(c.UserContext(), httpapi.ActorOf(c, s.clock), id, strings.Clone(c.Params("group")), member)
	return ok(c, sess, err)
}
