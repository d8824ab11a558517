package opening

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

var (
	staff      = []kaiping.Role{kaiping.RoleHost, kaiping.RoleAdmin}
	adminsOnly = []kaiping.Role{kaiping.RoleAdmin}
	bidders    = []kaiping.Role{kaiping.RoleBidder}
)

// Routes returns the opening endpoints:
//
//	POST /api/v1/tenders                                      host, admin   create a tender
//	GET  /api/v1/tenders                                      any role      list tenders (public facts only)
//	GET  /api/v1/tenders/:id                                  any role      one tender
//	POST /api/v1/tenders/:id/sections/:section/registrations  bidder        register (投标报名)
//	GET  /api/v1/tenders/:id/sections/:section/registrations  host, supervisor (assigned)   after the deadline
//	GET  /api/v1/tenders/:id/rescue/share                     supervisor (assigned)   own rescue key share (holders only)
//	POST /api/v1/blacklist                                    admin         add an entry
//	GET  /api/v1/blacklist                                    admin, supervisor
//
// Who registered is never shown to bidders, and to the tender's own staff only after the
// deadline: 《招标投标法》 Art. 22 forbids disclosing potential bidders before it.
func (s *Service) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: fiber.MethodPost, Path: "/api/v1/tenders", Roles: staff, Handler: s.handleCreateTender},
		{Method: fiber.MethodGet, Path: "/api/v1/tenders", Roles: httpapi.AnyRole, Handler: s.handleTenders},
		{Method: fiber.MethodGet, Path: "/api/v1/tenders/:id", Roles: httpapi.AnyRole, Handler: s.handleTender},
		{Method: fiber.MethodPost, Path: "/api/v1/tenders/:id/sections/:section/registrations", Roles: bidders, Ledgered: "tender.register", Handler: s.handleRegister},
		{Method: fiber.MethodGet, Path: "/api/v1/tenders/:id/sections/:section/registrations", Roles: hallStaff, Duties: hallDuties, Tender: tenderOfPath, Handler: s.handleRegistrations},
		{Method: fiber.MethodGet, Path: "/api/v1/tenders/:id/rescue/share", Roles: supervisors, Duties: supervisorDuty, Tender: tenderOfPath, Handler: s.handleRescueShare},
		{Method: fiber.MethodPost, Path: "/api/v1/blacklist", Roles: adminsOnly, Handler: s.handleAddBlacklist},
		{Method: fiber.MethodGet, Path: "/api/v1/blacklist", Roles: []kaiping.Role{kaiping.RoleAdmin, kaiping.RoleSupervisor}, Handler: s.handleBlacklist},
	}
}

// pathID copies the path parameter name (fiber reuses its buffers) and checks it is an ID,
// so a malformed ID is a 404 like any unknown one rather than a database error.
func pathID(c *fiber.Ctx, name string, notFound error) (kaiping.ID, error) {
	id := kaiping.ID(c.Params(name))
	if !id.Valid() {
		return "", notFound
	}
	return kaiping.ID(strings.Clone(string(id))), nil
}

// idParam is the tender ID of the path.
func idParam(c *fiber.Ctx, name string) (kaiping.ID, error) {
	return pathID(c, name, kaiping.E(kaiping.KindNotFound, "tender.not_found", "招标项目不存在"))
}

// tenderParam loads the tender named by the path's :id.
func (s *Service) tenderParam(c *fiber.Ctx) (Tender, error) {
	id, err := idParam(c, "id")
	if err != nil {
		return Tender{}, err
	}
	return s.store.Tender(c.UserContext(), id)
}

func (s *Service) handleCreateTender(c *fiber.Ctx) error {
	var t Tender
	if err := httpapi.DecodeJSON(c, &t); err != nil {
		return err
	}
	t, err := s.CreateTender(c.UserContext(), httpapi.ActorOf(c, s.clock), t)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(t)
}

func (s *Service) handleRescueShare(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	sh, err := s.RescueShare(c.UserContext(), httpapi.ActorOf(c, s.clock), id)
	if err != nil {
		return err
	}
	return c.JSON(sh)
}

func (s *Service) handleTenders(c *fiber.Ctx) error {
	ts, err := s.store.Tenders(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"tenders": ts})
}

func (s *Service) handleTender(c *fiber.Ctx) error {
	t, err := s.tenderParam(c)
	if err != nil {
		return err
	}
	return c.JSON(t)
}

// RegisterRequest is the body of a registration.
type RegisterRequest struct {
	Certificate string `json:"certificate_fingerprint"`
}

func (s *Service) handleRegister(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var req RegisterRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	p, _ := httpapi.PrincipalOf(c)
	r, err := s.Register(c.UserContext(), httpapi.ActorOf(c, s.clock), p.Name, id, c.Params("section"), req.Certificate)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(r)
}

func (s *Service) handleRegistrations(c *fiber.Ctx) error {
	t, err := s.tenderParam(c)
	if err != nil {
		return err
	}
	sec, err := t.Section(c.Params("section"))
	if err != nil {
		return err
	}
	if s.clock.Now().Before(t.Deadline) {
		return kaiping.E(kaiping.KindTooEarly, "register.list_too_early", "投标截止前不得透露潜在投标人的名称、数量（《招标投标法》第二十二条）")
	}
	rs, err := s.store.Registrations(c.UserContext(), t.ID, sec.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"registrations": rs})
}

func (s *Service) handleAddBlacklist(c *fiber.Ctx) error {
	var b BlacklistEntry
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	b, err := s.AddBlacklist(c.UserContext(), httpapi.ActorOf(c, s.clock), b)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(b)
}

func (s *Service) handleBlacklist(c *fiber.Ctx) error {
	bs, err := s.store.Blacklist(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"blacklist": bs})
}
