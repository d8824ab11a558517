package evaluation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

var (
	admins      = []kaiping.Role{kaiping.RoleAdmin}
	poolReaders = []kaiping.Role{kaiping.RoleAdmin, kaiping.RoleSupervisor}
	hosts       = []kaiping.Role{kaiping.RoleHost, kaiping.RoleAdmin}
	drawStaff   = []kaiping.Role{kaiping.RoleHost, kaiping.RoleSupervisor}
	drawHosts   = []kaiping.Role{kaiping.RoleHost}

	// Draws are tender-scoped: hosts and supervisors act on a draw only when assigned to its
	// tender (httpapi.Route.Duties), as its evaluation host or a supervisor.
	evalHostDuty = []kaiping.Duty{kaiping.DutyEvaluationHost}
	drawDuties   = []kaiping.Duty{kaiping.DutyEvaluationHost, kaiping.DutySupervisor}
	experts      = []kaiping.Role{kaiping.RoleExpert}
	venueViewers = []kaiping.Role{kaiping.RoleHost, kaiping.RoleAdmin, kaiping.RoleVenueStaff}
	venueStaff   = []kaiping.Role{kaiping.RoleVenueStaff}
	assessors    = []kaiping.Role{kaiping.RoleAdmin, kaiping.RoleHost}
)

// Routes returns the evaluation endpoints. Route roles are the first check; handlers that
// return who was drawn check the object too (canSeeMembers): before the result is public
// nobody from the tenderer or a bidder sees the committee, whatever role they hold.
//
//	GET  /api/v1/specialties                          any role     the specialty classification
//	GET  /api/v1/cities                               any role     the city catalog
//	POST /api/v1/experts                              admin        add an expert
//	GET  /api/v1/experts                              admin, supervisor  list (?specialty= &city= &status= &limit= &offset=)
//	POST /api/v1/experts/import                       admin        CSV import, all rows or none
//	GET  /api/v1/experts/:id                          admin, supervisor  profile with history, assessments, violations
//	PUT  /api/v1/experts/:id                          admin        update
//	POST /api/v1/experts/:id/status                   admin        suspend, on leave, reactivate
//	POST /api/v1/experts/:id/relations                admin        record a declared relation
//	POST /api/v1/experts/:id/violations               admin        record a violation (optionally a ban)
//	POST /api/v1/experts/:id/assessments              admin, host  assess the expert's work
//	POST /api/v1/experts/:id/history                  admin        import an earlier evaluation
//	GET  /api/v1/expert/me                            expert       own profile and calendar
//	POST /api/v1/expert/relations                     expert       declare a relation
//	POST /api/v1/expert/unavailability                expert       declare a period unavailable
//	DELETE /api/v1/expert/unavailability/:id          expert       withdraw it
//	GET  /api/v1/expert/draws                         expert       own draws and seats
//	POST /api/v1/expert/draws/:id/accept              expert       accept before the deadline
//	POST /api/v1/expert/draws/:id/decline             expert       decline before the deadline
//	POST /api/v1/venues                               admin        add a venue
//	GET  /api/v1/venues                               any role     the seat directory
//	GET  /api/v1/venues/:id                           any role     a venue with its seats
//	PUT  /api/v1/venues/:id                           admin        update
//	POST /api/v1/venues/:id/seats                     admin        add a seat
//	POST /api/v1/venues/:id/staff                     admin        appoint venue staff
//	GET  /api/v1/venues/:id/bookings                  host, admin, venue staff of it  a day's bookings (?date=)
//	PUT  /api/v1/seats/:id                            admin        equipment, status
//	POST /api/v1/seats/:id/bookings                   host, admin  book a seat
//	POST /api/v1/bookings/:id/cancel                  host, admin  cancel a booking
//	GET  /api/v1/venue/bookings                       venue staff  today's bookings at own venues (?date=)
//	POST /api/v1/draws                                evaluation host†  draw a committee
//	GET  /api/v1/draws                                evaluation host†, supervisor†  a tender's draws (?tender=)
//	GET  /api/v1/draws/:id                            any role     commitment, seed, digests, rules: public facts
//	POST /api/v1/draws/:id/reveal                     evaluation host†, supervisor†  reveal an external seed
//	GET  /api/v1/draws/:id/members                    any role*    the committee
//	GET  /api/v1/draws/:id/exclusions                 evaluation host†, supervisor†*  who stepped aside and why, after the deadline
//	GET  /api/v1/draws/:id/snapshot                   evaluation host†, supervisor†*  the canonical snapshot bytes, after the deadline
//	POST /api/v1/draws/:id/members/:expert/release    evaluation host†*  record a decline or no-show, draw the replacement
//	POST /api/v1/draws/:id/dispatch                   evaluation host†*  seat the committee
//	GET  /api/v1/draws/:id/assignments                any role*    the seats
//	PUT  /api/v1/draws/:id/assignments/:expert        evaluation host†*  move an expert, with a reason
//	POST /api/v1/draws/:id/publish                    evaluation host†  make the committee public, once the result is recorded
//
// († a host or supervisor assigned to the draw's tender with that duty; * also checked on
// the object.)
func (s *Service) Routes() []httpapi.Route {
	get, post, put, del := fiber.MethodGet, fiber.MethodPost, fiber.MethodPut, fiber.MethodDelete
	return append([]httpapi.Route{
		{Method: get, Path: "/api/v1/specialties", Roles: httpapi.AnyRole, Handler: s.handleSpecialties},
		{Method: get, Path: "/api/v1/cities", Roles: httpapi.AnyRole, Handler: s.handleCities},

		{Method: post, Path: "/api/v1/experts", Roles: admins, Handler: s.handleCreateExpert},
		{Method: get, Path: "/api/v1/experts", Roles: poolReaders, Handler: s.handleExperts},
		{Method: post, Path: "/api/v1/experts/import", Roles: admins, Handler: s.handleImport},
		{Method: get, Path: "/api/v1/experts/:id", Roles: poolReaders, Handler: s.handleProfile},
		{Method: put, Path: "/api/v1/experts/:id", Roles: admins, Handler: bodyTo(s, expertID, fiber.StatusOK, s.UpdateExpert)},
		{Method: post, Path: "/api/v1/experts/:id/status", Roles: admins, Handler: s.handleStatus},
		{Method: post, Path: "/api/v1/experts/:id/relations", Roles: admins, Handler: bodyTo(s, expertID, fiber.StatusCreated, s.AddRelation)},
		{Method: post, Path: "/api/v1/experts/:id/violations", Roles: admins, Handler: bodyTo(s, expertID, fiber.StatusCreated, s.AddViolation)},
		{Method: post, Path: "/api/v1/experts/:id/assessments", Roles: assessors, Handler: bodyTo(s, expertID, fiber.StatusCreated, s.AddAssessment)},
		{Method: post, Path: "/api/v1/experts/:id/history", Roles: admins, Handler: bodyTo(s, expertID, fiber.StatusCreated, s.AddHistory)},

		{Method: get, Path: "/api/v1/expert/me", Roles: experts, Handler: s.handleMe},
		{Method: post, Path: "/api/v1/expert/relations", Roles: experts, Handler: s.handleDeclareRelation},
		{Method: post, Path: "/api/v1/expert/unavailability", Roles: experts, Handler: s.handleDeclareUnavailable},
		{Method: del, Path: "/api/v1/expert/unavailability/:id", Roles: experts, Handler: s.handleWithdrawUnavailable},
		{Method: get, Path: "/api/v1/expert/draws", Roles: experts, Handler: s.handleExpertDraws},
		{Method: post, Path: "/api/v1/expert/draws/:id/accept", Roles: experts, Handler: s.handleAccept},
		{Method: post, Path: "/api/v1/expert/draws/:id/decline", Roles: experts, Handler: bodyTo(s, drawID, fiber.StatusOK, s.declineOwn)},

		{Method: post, Path: "/api/v1/venues", Roles: admins, Handler: s.handleCreateVenue},
		{Method: get, Path: "/api/v1/venues", Roles: httpapi.AnyRole, Handler: s.handleVenues},
		{Method: get, Path: "/api/v1/venues/:id", Roles: httpapi.AnyRole, Handler: s.handleVenue},
		{Method: put, Path: "/api/v1/venues/:id", Roles: admins, Handler: bodyTo(s, venueID, fiber.StatusOK, s.UpdateVenue)},
		{Method: post, Path: "/api/v1/venues/:id/seats", Roles: admins, Handler: bodyTo(s, venueID, fiber.StatusCreated, s.CreateSeat)},
		{Method: post, Path: "/api/v1/venues/:id/staff", Roles: admins, Handler: bodyTo(s, venueID, fiber.StatusCreated, s.addStaff)},
		{Method: get, Path: "/api/v1/venues/:id/bookings", Roles: venueViewers, Handler: s.handleVenueBookings},
		{Method: put, Path: "/api/v1/seats/:id", Roles: admins, Handler: bodyTo(s, seatID, fiber.StatusOK, s.UpdateSeat)},
		{Method: post, Path: "/api/v1/seats/:id/bookings", Roles: hosts, Handler: bodyTo(s, seatID, fiber.StatusCreated, s.Book)},
		{Method: post, Path: "/api/v1/bookings/:id/cancel", Roles: hosts, Handler: s.handleCancelBooking},
		{Method: get, Path: "/api/v1/venue/bookings", Roles: venueStaff, Handler: s.handleMyBookings},

		{Method: post, Path: "/api/v1/draws", Roles: drawHosts, Duties: evalHostDuty, Tender: httpapi.TenderInBody("tender_id"), Handler: s.handleDraw},
		{Method: get, Path: "/api/v1/draws", Roles: drawStaff, Duties: drawDuties, Tender: httpapi.TenderQuery("tender"), Handler: s.handleDraws},
		{Method: get, Path: "/api/v1/draws/:id", Roles: httpapi.AnyRole, Handler: s.handleGetDraw},
		{Method: post, Path: "/api/v1/draws/:id/reveal", Roles: drawStaff, Duties: drawDuties, Tender: s.drawTender, Handler: bodyTo(s, drawID, fiber.StatusOK, s.reveal)},
		{Method: get, Path: "/api/v1/draws/:id/members", Roles: httpapi.AnyRole, Duties: drawDuties, Tender: s.drawTender, Handler: s.handleMembers},
		{Method: get, Path: "/api/v1/draws/:id/exclusions", Roles: drawStaff, Duties: drawDuties, Tender: s.drawTender, Handler: s.handleExclusions},
		{Method: get, Path: "/api/v1/draws/:id/snapshot", Roles: drawStaff, Duties: drawDuties, Tender: s.drawTender, Handler: s.handleSnapshot},
		{Method: post, Path: "/api/v1/draws/:id/members/:expert/release", Roles: drawHosts, Duties: evalHostDuty, Tender: s.drawTender, Handler: memberBody(s, s.release)},
		{Method: post, Path: "/api/v1/draws/:id/dispatch", Roles: drawHosts, Duties: evalHostDuty, Tender: s.drawTender, Handler: s.handleDispatch},
		{Method: get, Path: "/api/v1/draws/:id/assignments", Roles: httpapi.AnyRole, Duties: drawDuties, Tender: s.drawTender, Handler: s.handleAssignments},
		{Method: put, Path: "/api/v1/draws/:id/assignments/:expert", Roles: drawHosts, Duties: evalHostDuty, Tender: s.drawTender, Handler: memberBody(s, s.override)},
		{Method: post, Path: "/api/v1/draws/:id/publish", Roles: drawHosts, Duties: evalHostDuty, Tender: s.drawTender, Handler: s.handlePublish},
	}, slices.Concat(s.SessionRoutes(), s.SessionMediaRoutes(), s.ReviewRoutes(), s.ReportRoutes(), s.InquiryRoutes())...)
}

// param is a path parameter naming an object, with the error for an unknown one.
type param struct{ name, code, message string }

var (
	expertID   = param{"id", "expert.not_found", "专家不存在"}
	venueID    = param{"id", "venue.not_found", "场地不存在"}
	seatID     = param{"id", "seat.not_found", "工位不存在"}
	drawID     = param{"id", "draw.not_found", "抽取记录不存在"}
	bookingID  = param{"id", "booking.not_found", "预订不存在"}
	calendarID = param{"id", "calendar.not_found", "该不可参加时段不存在"}
	memberID   = param{"expert", "draw.not_member", "该专家不在本次抽取的名单中"}
)

// of copies the parameter (fiber reuses its buffers) and checks it is an ID, so a malformed
// ID is a 404 like any unknown one.
func (p param) of(c *fiber.Ctx) (kaiping.ID, error) {
	id := kaiping.ID(strings.Clone(c.Params(p.name)))
	if !id.Valid() {
		return "", kaiping.E(kaiping.KindNotFound, p.code, p.message)
	}
	return id, nil
}

// bodyTo handles a request naming an object by p and carrying a JSON T: it answers call's
// result with status.
func bodyTo[T, R any](s *Service, p param, status int, call func(context.Context, kaiping.Actor, kaiping.ID, T) (R, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := p.of(c)
		if err != nil {
			return err
		}
		var in T
		if err := httpapi.DecodeJSON(c, &in); err != nil {
			return err
		}
		out, err := call(c.UserContext(), httpapi.ActorOf(c, s.clock), id, in)
		if err != nil {
			return err
		}
		return c.Status(status).JSON(out)
	}
}

// created answers 201 with v, or the error.
func created(c *fiber.Ctx, v any, err error) error {
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(v)
}

// ok answers 200 with v, or the error.
func ok(c *fiber.Ctx, v any, err error) error {
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func principal(c *fiber.Ctx) kaiping.Principal {
	p, _ := httpapi.PrincipalOf(c)
	return p
}

// viewer is the caller as the committee's visibility sees it.
func viewer(c *fiber.Ctx) Viewer {
	return Viewer{Principal: principal(c), Assigned: httpapi.Assigned(c)}
}

// drawTender finds the tender of the draw the path names, for the route's duty check.
func (s *Service) drawTender(c *fiber.Ctx) (kaiping.ID, error) {
	id, err := drawID.of(c)
	if err != nil {
		return "", err
	}
	d, err := s.store.Draw(c.UserContext(), id)
	return d.Tender, err
}

func (s *Service) handleSpecialties(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"specialties": Specialties()})
}

func (s *Service) handleCities(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"cities": Cities()})
}

func (s *Service) handleCreateExpert(c *fiber.Ctx) error {
	var e Expert
	if err := httpapi.DecodeJSON(c, &e); err != nil {
		return err
	}
	e, err := s.CreateExpert(c.UserContext(), httpapi.ActorOf(c, s.clock), e)
	return created(c, e, err)
}

func (s *Service) handleExperts(c *fiber.Ctx) error {
	f := ExpertFilter{
		Specialty: strings.ToUpper(strings.Clone(c.Query("specialty"))),
		City:      strings.Clone(c.Query("city")),
		Status:    ExpertStatus(strings.Clone(c.Query("status"))),
		Limit:     c.QueryInt("limit", 100),
		Offset:    c.QueryInt("offset", 0),
	}
	if f.Limit < 1 || f.Limit > 1000 || f.Offset < 0 {
		return invalid("request.paging", "limit 须在 1 至 1000 之间，offset 不得为负")
	}
	es, err := s.store.Experts(c.UserContext(), f)
	return ok(c, fiber.Map{"experts": es}, err)
}

// ImportResult is the answer to an accepted import file.
type ImportResult struct {
	Imported int    `json:"imported"`
	Digest   string `json:"sha256"`
}

// ImportFailure is the answer to a refused import file: the error and every bad row.
type ImportFailure struct {
	Error httpapi.Problem `json:"error"`
	Rows  []RowError      `json:"rows"`
}

func (s *Service) handleImport(c *fiber.Ctx) error {
	body := append([]byte(nil), c.Body()...)
	sum := sha256.Sum256(body)
	digest := hex.EncodeToString(sum[:])
	n, err := s.Import(c.UserContext(), httpapi.ActorOf(c, s.clock), body, digest)
	var ie *ImportError
	if errors.As(err, &ie) {
		return c.Status(httpapi.Status(kaiping.KindInvalid)).JSON(ImportFailure{
			Error: httpapi.Problem{Code: ie.kerr.Code, Message: ie.kerr.Message}, Rows: ie.Rows})
	}
	return created(c, ImportResult{Imported: n, Digest: digest}, err)
}

func (s *Service) handleProfile(c *fiber.Ctx) error {
	id, err := expertID.of(c)
	if err != nil {
		return err
	}
	p, err := s.store.Profile(c.UserContext(), id)
	return ok(c, p, err)
}

// StatusRequest changes an expert's status.
type StatusRequest struct {
	Status ExpertStatus `json:"status"`
	Reason string       `json:"reason"`
}

func (s *Service) handleStatus(c *fiber.Ctx) error {
	id, err := expertID.of(c)
	if err != nil {
		return err
	}
	var req StatusRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	if err := s.SetStatus(c.UserContext(), httpapi.ActorOf(c, s.clock), id, req.Status, req.Reason); err != nil {
		return err
	}
	e, err := s.store.Expert(c.UserContext(), id)
	return ok(c, e, err)
}

func (s *Service) handleMe(c *fiber.Ctx) error {
	me, err := s.Me(c.UserContext(), principal(c).ID)
	if err != nil {
		return err
	}
	p, err := s.store.Profile(c.UserContext(), me.ID)
	return ok(c, p, err)
}

func (s *Service) handleDeclareRelation(c *fiber.Ctx) error {
	me, err := s.Me(c.UserContext(), principal(c).ID)
	if err != nil {
		return err
	}
	var r Relation
	if err := httpapi.DecodeJSON(c, &r); err != nil {
		return err
	}
	r, err = s.AddRelation(c.UserContext(), httpapi.ActorOf(c, s.clock), me.ID, r)
	return created(c, r, err)
}

func (s *Service) handleDeclareUnavailable(c *fiber.Ctx) error {
	var u Unavailability
	if err := httpapi.DecodeJSON(c, &u); err != nil {
		return err
	}
	u, err := s.DeclareUnavailable(c.UserContext(), httpapi.ActorOf(c, s.clock), u)
	return created(c, u, err)
}

func (s *Service) handleWithdrawUnavailable(c *fiber.Ctx) error {
	id, err := calendarID.of(c)
	if err != nil {
		return err
	}
	if err := s.WithdrawUnavailable(c.UserContext(), httpapi.ActorOf(c, s.clock), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Service) handleExpertDraws(c *fiber.Ctx) error {
	ds, err := s.ExpertDraws(c.UserContext(), principal(c).ID)
	return ok(c, fiber.Map{"draws": ds}, err)
}

// ReasonRequest carries a reason.
type ReasonRequest struct {
	Reason string `json:"reason"`
}

// declineOwn is an expert declining; they learn nothing about who replaces them.
func (s *Service) declineOwn(ctx context.Context, a kaiping.Actor, id kaiping.ID, r ReasonRequest) (Decision, error) {
	d, err := s.Decline(ctx, a, id, r.Reason)
	d.Replacement = nil
	return d, err
}

func (s *Service) handleAccept(c *fiber.Ctx) error {
	id, err := drawID.of(c)
	if err != nil {
		return err
	}
	d, err := s.Accept(c.UserContext(), httpapi.ActorOf(c, s.clock), id)
	return ok(c, d, err)
}

func (s *Service) handleCreateVenue(c *fiber.Ctx) error {
	var v Venue
	if err := httpapi.DecodeJSON(c, &v); err != nil {
		return err
	}
	v, err := s.CreateVenue(c.UserContext(), httpapi.ActorOf(c, s.clock), v)
	return created(c, v, err)
}

func (s *Service) handleVenues(c *fiber.Ctx) error {
	vs, err := s.store.Venues(c.UserContext())
	return ok(c, fiber.Map{"venues": vs}, err)
}

// VenueWithSeats is a venue and its seats.
type VenueWithSeats struct {
	Venue
	Seats []Seat `json:"seats"`
}

func (s *Service) handleVenue(c *fiber.Ctx) error {
	id, err := venueID.of(c)
	if err != nil {
		return err
	}
	v, err := s.store.Venue(c.UserContext(), id)
	if err != nil {
		return err
	}
	seats, err := s.store.Seats(c.UserContext(), id)
	return ok(c, VenueWithSeats{Venue: v, Seats: seats}, err)
}

// StaffRequest appoints a principal as venue staff.
type StaffRequest struct {
	Principal kaiping.ID `json:"principal_id"`
}

func (s *Service) addStaff(ctx context.Context, a kaiping.Actor, venue kaiping.ID, r StaffRequest) (StaffRequest, error) {
	return r, s.AddStaff(ctx, a, venue, r.Principal)
}

func (s *Service) handleVenueBookings(c *fiber.Ctx) error {
	id, err := venueID.of(c)
	if err != nil {
		return err
	}
	bs, err := s.DayBookings(c.UserContext(), principal(c), id, strings.Clone(c.Query("date")))
	return ok(c, fiber.Map{"bookings": bs}, err)
}

func (s *Service) handleMyBookings(c *fiber.Ctx) error {
	bs, err := s.MyDayBookings(c.UserContext(), principal(c), strings.Clone(c.Query("date")))
	return ok(c, fiber.Map{"bookings": bs}, err)
}

func (s *Service) handleCancelBooking(c *fiber.Ctx) error {
	id, err := bookingID.of(c)
	if err != nil {
		return err
	}
	var req ReasonRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	if err := s.CancelBooking(c.UserContext(), httpapi.ActorOf(c, s.clock), id, req.Reason); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Service) handleDraw(c *fiber.Ctx) error {
	var req DrawRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	d, err := s.Draw(c.UserContext(), httpapi.ActorOf(c, s.clock), req)
	return created(c, d, err)
}

func (s *Service) handleDraws(c *fiber.Ctx) error {
	tender := kaiping.ID(strings.Clone(c.Query("tender")))
	if !tender.Valid() {
		return invalid("draw.tender", "须用 ?tender= 指定招标项目")
	}
	ds, err := s.store.Draws(c.UserContext(), tender)
	return ok(c, fiber.Map{"draws": ds}, err)
}

func (s *Service) handleGetDraw(c *fiber.Ctx) error {
	id, err := drawID.of(c)
	if err != nil {
		return err
	}
	d, err := s.store.Draw(c.UserContext(), id)
	return ok(c, d, err)
}

// RevealRequest reveals an external seed.
type RevealRequest struct {
	Seed string `json:"seed"`
}

func (s *Service) reveal(ctx context.Context, a kaiping.Actor, id kaiping.ID, r RevealRequest) (Draw, error) {
	return s.Reveal(ctx, a, id, r.Seed)
}

func (s *Service) handleMembers(c *fiber.Ctx) error {
	id, err := drawID.of(c)
	if err != nil {
		return err
	}
	ms, err := s.Members(c.UserContext(), viewer(c), id)
	return ok(c, fiber.Map{"members": ms}, err)
}

// sealedDraw loads the draw of the path and checks the caller may see who was drawn.
func (s *Service) sealedDraw(c *fiber.Ctx) (Draw, error) {
	id, err := drawID.of(c)
	if err != nil {
		return Draw{}, err
	}
	d, err := s.store.Draw(c.UserContext(), id)
	if err != nil {
		return Draw{}, err
	}
	return d, s.canSeeMembers(c.UserContext(), viewer(c), d)
}

// afterDeadline refuses, before the tender's bid deadline, what would tell who the potential
// bidders are (an expert excluded for a relation to a registered bidder names it):
// 《招标投标法》 Art. 22.
func (s *Service) afterDeadline(ctx context.Context, d Draw) error {
	facts, err := s.store.TenderFacts(ctx, d.Tender)
	if err != nil {
		return err
	}
	if s.clock.Now().Before(facts.Deadline) {
		return kaiping.E(kaiping.KindTooEarly, "draw.too_early", "投标截止前不得透露潜在投标人：回避情况与名单快照在截止后方可查看")
	}
	return nil
}

func (s *Service) handleExclusions(c *fiber.Ctx) error {
	d, err := s.sealedDraw(c)
	if err != nil {
		return err
	}
	if err := s.afterDeadline(c.UserContext(), d); err != nil {
		return err
	}
	_, ex, err := s.store.Snapshot(c.UserContext(), d.ID)
	return ok(c, fiber.Map{"exclusions": ex}, err)
}

func (s *Service) handleSnapshot(c *fiber.Ctx) error {
	d, err := s.sealedDraw(c)
	if err != nil {
		return err
	}
	if err := s.afterDeadline(c.UserContext(), d); err != nil {
		return err
	}
	enc, _, err := s.store.Snapshot(c.UserContext(), d.ID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
	c.Set("X-Kaiping-Digest", d.SnapshotDigest)
	return c.Send(enc)
}

// memberBody handles a request about one member of a draw whose committee the caller may
// see, carrying a JSON T.
func memberBody[T, R any](s *Service, call func(context.Context, kaiping.Actor, kaiping.ID, kaiping.ID, T) (R, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		d, err := s.sealedDraw(c)
		if err != nil {
			return err
		}
		expert, err := memberID.of(c)
		if err != nil {
			return err
		}
		var in T
		if err := httpapi.DecodeJSON(c, &in); err != nil {
			return err
		}
		out, err := call(c.UserContext(), httpapi.ActorOf(c, s.clock), d.ID, expert, in)
		return ok(c, out, err)
	}
}

// ReleaseRequest records a decline or no-show on an expert's behalf.
type ReleaseRequest struct {
	Outcome MemberState `json:"outcome"`
	Reason  string      `json:"reason"`
}

func (s *Service) release(ctx context.Context, a kaiping.Actor, id, expert kaiping.ID, r ReleaseRequest) (Decision, error) {
	return s.Release(ctx, a, id, expert, r.Outcome, r.Reason)
}

func (s *Service) handleDispatch(c *fiber.Ctx) error {
	d, err := s.sealedDraw(c)
	if err != nil {
		return err
	}
	as, err := s.Dispatch(c.UserContext(), httpapi.ActorOf(c, s.clock), d.ID)
	return ok(c, fiber.Map{"assignments": as}, err)
}

func (s *Service) handleAssignments(c *fiber.Ctx) error {
	id, err := drawID.of(c)
	if err != nil {
		return err
	}
	as, err := s.Assignments(c.UserContext(), viewer(c), id)
	return ok(c, fiber.Map{"assignments": as}, err)
}

// OverrideRequest moves an expert to another venue or seat.
type OverrideRequest struct {
	Venue  kaiping.ID `json:"venue_id"`
	Seat   kaiping.ID `json:"seat_id,omitempty"`
	Reason string     `json:"reason"`
}

func (s *Service) override(ctx context.Context, a kaiping.Actor, id, expert kaiping.ID, r OverrideRequest) (SeatAssignment, error) {
	if !r.Venue.Valid() || r.Seat != "" && !r.Seat.Valid() {
		return SeatAssignment{}, invalid("dispatch.venue", "须指定目标场地（及工位）")
	}
	return s.Override(ctx, a, id, expert, r.Venue, r.Seat, r.Reason)
}

func (s *Service) handlePublish(c *fiber.Ctx) error {
	id, err := drawID.of(c)
	if err != nil {
		return err
	}
	d, err := s.Publish(c.UserContext(), httpapi.ActorOf(c, s.clock), id)
	return ok(c, d, err)
}
