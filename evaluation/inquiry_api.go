package evaluation

import (
	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

var (
	inquiryBidders = []kaiping.Role{kaiping.RoleBidder}
	inquiryID      = param{"id", "inquiry.not_found", "澄清事项不存在"}
)

// InquiryRoutes returns the endpoints of the committee's written requests to bidders:
//
//	POST /api/v1/expert/sessions/:id/inquiries   expert (the group's chair)  send a request to a bidder
//	GET  /api/v1/expert/sessions/:id/inquiries   expert (member)  the group's requests and answers
//	GET  /api/v1/sessions/:id/inquiries          supervisor†  every request of the session, answers included
//	POST /api/v1/inquiries/:id/approve           supervisor†  approve a pending request: it goes out
//	POST /api/v1/inquiries/:id/refuse            supervisor†  refuse a pending request, with the reason
//	GET  /api/v1/bidder/inquiries                bidder       the requests sent to me, in every session
//	POST /api/v1/bidder/inquiries/:id/answer     bidder (the one asked)  answer in writing, signed
//
// († assigned to the session's tender as its supervisor.) There is no route by which a
// bidder starts a clarification: the committee may not accept one it did not ask for.
func (s *Service) InquiryRoutes() []httpapi.Route {
	get, post := fiber.MethodGet, fiber.MethodPost
	supervise := func(path, action string, h fiber.Handler) httpapi.Route {
		return httpapi.Route{Method: post, Path: path, Roles: supervisors, Duties: supervision, Tender: s.inquiryTender, Ledgered: action, Handler: h}
	}
	return []httpapi.Route{
		{Method: post, Path: "/api/v1/expert/sessions/:id/inquiries", Roles: experts, Ledgered: ActionInquirySent,
			Handler: bodyTo(s, sessionID, fiber.StatusCreated, s.SendInquiry)},
		{Method: get, Path: "/api/v1/expert/sessions/:id/inquiries", Roles: experts, Handler: s.handleGroupInquiries},
		{Method: get, Path: "/api/v1/sessions/:id/inquiries", Roles: supervisors, Duties: supervision, Tender: s.sessionTender,
			Handler: s.handleSessionInquiries},
		supervise("/api/v1/inquiries/:id/approve", ActionInquiryApproved, s.handleApprove),
		supervise("/api/v1/inquiries/:id/refuse", ActionInquiryRefusedSup, bodyTo(s, inquiryID, fiber.StatusOK, s.RefuseInquiry)),
		{Method: get, Path: "/api/v1/bidder/inquiries", Roles: inquiryBidders, Handler: s.handleMyInquiries},
		{Method: post, Path: "/api/v1/bidder/inquiries/:id/answer", Roles: inquiryBidders, Ledgered: ActionInquiryAnswered,
			Handler: bodyTo(s, inquiryID, fiber.StatusOK, s.AnswerInquiry)},
	}
}

// inquiryTender finds the tender of the inquiry the path names, for the duty check.
func (s *Service) inquiryTender(c *fiber.Ctx) (kaiping.ID, error) {
	id, err := inquiryID.of(c)
	if err != nil {
		return "", err
	}
	q, err := s.store.Inquiry(c.UserContext(), id)
	return q.Tender, err
}

func (s *Service) handleGroupInquiries(c *fiber.Ctx) error {
	id, err := sessionID.of(c)
	if err != nil {
		return err
	}
	qs, err := s.GroupInquiries(c.UserContext(), principal(c).ID, id)
	return ok(c, fiber.Map{"inquiries": qs}, err)
}

func (s *Service) handleSessionInquiries(c *fiber.Ctx) error {
	id, err := sessionID.of(c)
	if err != nil {
		return err
	}
	qs, err := s.SessionInquiries(c.UserContext(), id)
	return ok(c, fiber.Map{"inquiries": qs}, err)
}

func (s *Service) handleApprove(c *fiber.Ctx) error {
	id, err := inquiryID.of(c)
	if err != nil {
		return err
	}
	q, err := s.ApproveInquiry(c.UserContext(), httpapi.ActorOf(c, s.clock), id)
	return ok(c, q, err)
}

// MyInquiriesView is the bidder's list, with what its certificate key signs to answer.
type MyInquiriesView struct {
	Inquiries []BidderInquiry `json:"inquiries"`
	// Message is what the key signs, with the inquiry's ID, the SHA-256 (hex) of the answer's
	// text (UTF-8) and the decision (answer, confirm or refuse) in the places named.
	Message string `json:"message_format"`
}

func (s *Service) handleMyInquiries(c *fiber.Ctx) error {
	qs, err := s.MyInquiries(c.UserContext(), principal(c).ID)
	return ok(c, MyInquiriesView{Inquiries: qs, Message: `KAIPING-INQUIRY-ANSWER-V1\n<inquiry_id>\n<sha256(text)>\n<decision>\n`}, err)
}
