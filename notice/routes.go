package notice

import (
	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// Routes are the inbox: every principal reads and marks only their own notices.
func (s *Service) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: fiber.MethodGet, Path: "/api/v1/inbox", Roles: httpapi.AnyRole, Handler: s.handleInbox},
		{Method: fiber.MethodPost, Path: "/api/v1/inbox/:id/read", Roles: httpapi.AnyRole, Handler: s.handleRead},
	}
}

func (s *Service) handleInbox(c *fiber.Ctx) error {
	p, _ := httpapi.PrincipalOf(c)
	in, err := s.Inbox(c.UserContext(), p.ID)
	if err != nil {
		return err
	}
	if in.Notices == nil {
		in.Notices = []Notice{}
	}
	return c.JSON(in)
}

func (s *Service) handleRead(c *fiber.Ctx) error {
	p, _ := httpapi.PrincipalOf(c)
	n, err := s.MarkRead(c.UserContext(), p.ID, kaiping.ID(c.Params("id")))
	if err != nil {
		return err
	}
	return c.JSON(n)
}
