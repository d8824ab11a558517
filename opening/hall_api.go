package opening

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

var (
	hosts       = []kaiping.Role{kaiping.RoleHost}
	supervisors = []kaiping.Role{kaiping.RoleSupervisor}
	hallStaff   = []kaiping.Role{kaiping.RoleHost, kaiping.RoleSupervisor}
	hallReaders = []kaiping.Role{kaiping.RoleBidder, kaiping.RoleHost, kaiping.RoleSupervisor}

	// The duties a route of a tender's hall accepts: staff act only on the tenders they are
	// assigned to (httpapi.Route.Duties), checked before any handler runs.
	hostDuty       = []kaiping.Duty{kaiping.DutyHost}
	supervisorDuty = []kaiping.Duty{kaiping.DutySupervisor}
	hallDuties     = []kaiping.Duty{kaiping.DutyHost, kaiping.DutySupervisor}
	tenderOfPath   = httpapi.TenderParam("id")
)

// Routes returns the opening hall's endpoints, all under
// /api/v1/tenders/:id/sections/:section/hall:
//
//	GET  /hall                         bidder        own view: state, times, server time, check-in, envelopes, record
//	GET  /hall/board                   host, supervisor          attendance, every bidder's status, objections, queue
//	GET  /hall/events?after=N          bidder, host, supervisor  events after version N
//	POST /hall/transitions             host          {"to": ..., "window_minutes": n}: move the hall
//	POST /hall/checkins                bidder        check in (签到)
//	GET  /hall/envelopes               bidder        own envelopes with headers, to unwrap file keys locally
//	POST /hall/unlocks                 bidder        {"envelope_id", "file_key"}: hand in a file key
//	GET  /hall/record                  bidder in the set, host, supervisor   the opening record
//	POST /hall/confirmations           bidder        {"digest", "signature"}: confirm the record
//	POST /hall/objections              bidder        {"text"}: object (异议)
//	POST /hall/objections/:objection/answer   host   {"answer"}
//	GET  /hall/rescue-stanzas?bidder_id=   rescue key holder   the E points of a bid's rescue stanzas
//	POST /hall/rescue-partials         rescue key holder   {"bidder_id", "partials"}: partial decryptions with proofs
//	POST /hall/media                   host, bidder registered, supervisor   a grant to the broadcast room (开标直播): {"grant", "role"}
//	POST /hall/proposals               host          {"step", "window_minutes"|"results"}: propose a step the tender guards with a co-signature
//	GET  /hall/proposals               host, supervisor   this round's proposals
//	POST /hall/proposals/:proposal/cosign   supervisor   co-sign (监督会签): the step is carried out
//
// Hosts and supervisors act only on the tenders an administrator assigned them to (duty
// host, supervisor); an administrator runs no hall.
func (h *Hall) Routes() []httpapi.Route {
	const p = "/api/v1/tenders/:id/sections/:section/hall"
	return []httpapi.Route{
		{Method: fiber.MethodGet, Path: p, Roles: bidders, Handler: handle(h, fiber.StatusOK, h.handleView)},
		{Method: fiber.MethodGet, Path: p + "/board", Roles: hallStaff, Duties: hallDuties, Tender: tenderOfPath, Handler: handle(h, fiber.StatusOK, h.handleBoard)},
		{Method: fiber.MethodGet, Path: p + "/events", Roles: hallReaders, Duties: hallDuties, Tender: tenderOfPath, Handler: handle(h, fiber.StatusOK, h.handleEvents)},
		{Method: fiber.MethodPost, Path: p + "/transitions", Roles: hosts, Duties: hostDuty, Tender: tenderOfPath, Ledgered: "hall.transition", Handler: handle(h, fiber.StatusOK, h.handleMove)},
		{Method: fiber.MethodPost, Path: p + "/checkins", Roles: bidders, Ledgered: "hall.checkin", Handler: handle(h, fiber.StatusOK, h.handleCheckIn)},
		{Method: fiber.MethodGet, Path: p + "/envelopes", Roles: bidders, Handler: handle(h, fiber.StatusOK, h.handleEnvelopes)},
		{Method: fiber.MethodPost, Path: p + "/unlocks", Roles: bidders, Ledgered: "hall.unlock", Handler: handle(h, fiber.StatusAccepted, h.handleUnlock)},
		{Method: fiber.MethodGet, Path: p + "/record", Roles: hallReaders, Duties: hallDuties, Tender: tenderOfPath, Handler: handle(h, fiber.StatusOK, h.handleRecord)},
		{Method: fiber.MethodPost, Path: p + "/confirmations", Roles: bidders, Ledgered: "hall.confirm", Handler: handle(h, fiber.StatusCreated, h.handleConfirm)},
		{Method: fiber.MethodPost, Path: p + "/objections", Roles: bidders, Ledgered: "hall.objection", Handler: handle(h, fiber.StatusCreated, h.handleObject)},
		{Method: fiber.MethodPost, Path: p + "/objections/:objection/answer", Roles: hosts, Duties: hostDuty, Tender: tenderOfPath, Ledgered: "hall.objection_answer", Handler: handle(h, fiber.StatusOK, h.handleAnswer)},
		{Method: fiber.MethodGet, Path: p + "/rescue-stanzas", Roles: supervisors, Duties: supervisorDuty, Tender: tenderOfPath, Handler: handle(h, fiber.StatusOK, h.handleRescueStanzas)},
		{Method: fiber.MethodPost, Path: p + "/rescue-partials", Roles: supervisors, Duties: supervisorDuty, Tender: tenderOfPath, Ledgered: "hall.rescue_partials", Handler: handle(h, fiber.StatusAccepted, h.handleRescuePartials)},
		{Method: fiber.MethodPost, Path: p + "/media", Roles: mediaWatchers, Duties: hallDuties, Tender: tenderOfPath, Handler: handle(h, fiber.StatusOK, h.handleMedia)},
		{Method: fiber.MethodPost, Path: p + "/proposals", Roles: hosts, Duties: hostDuty, Tender: tenderOfPath, Ledgered: "hall.cosign_propose", Handler: handle(h, fiber.StatusCreated, h.handlePropose)},
		{Method: fiber.MethodGet, Path: p + "/proposals", Roles: hallStaff, Duties: hallDuties, Tender: tenderOfPath, Handler: handle(h, fiber.StatusOK, h.handleProposals)},
		{Method: fiber.MethodPost, Path: p + "/proposals/:proposal/cosign", Roles: supervisors, Duties: supervisorDuty, Tender: tenderOfPath, Ledgered: "hall.cosign", Handler: handle(h, fiber.StatusOK, h.handleCosign)},
	}
}

// overseer reports whether the caller sees the whole hall: the host and supervisors
// assigned to the tender. A bidder who also holds a staff role sees only its own.
func overseer(c *fiber.Ctx) bool { return httpapi.Assigned(c) }

// hallRequest reads what every hall route needs: the actor, the tender ID and the section.
func (h *Hall) hallRequest(c *fiber.Ctx) (kaiping.Actor, kaiping.ID, string, error) {
	a := httpapi.ActorOf(c, h.clock)
	id, err := idParam(c, "id")
	return a, id, c.Params("section"), err
}

// handle makes a fiber handler of one hall operation: it reads the path, decodes a POST's
// JSON body (if any) into Req strictly, and answers the result as JSON with status.
func handle[Req, Resp any](h *Hall, status int, do func(c *fiber.Ctx, a kaiping.Actor, id kaiping.ID, section string, req Req) (Resp, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, id, section, err := h.hallRequest(c)
		if err != nil {
			return err
		}
		var req Req
		if c.Method() == fiber.MethodPost && len(c.Body()) > 0 {
			if err := httpapi.DecodeJSON(c, &req); err != nil {
				return err
			}
		}
		resp, err := do(c, a, id, section, req)
		if err != nil {
			return err
		}
		return c.Status(status).JSON(resp)
	}
}

type none struct{}

func (h *Hall) handleView(c *fiber.Ctx, a kaiping.Actor, id kaiping.ID, sec string, _ none) (BidderHallView, error) {
	return h.BidderView(c.UserContext(), a, id, sec)
}

func (h *Hall) handleBoard(c *fiber.Ctx, _ kaiping.Actor, id kaiping.ID, sec string, _ none) (BoardView, error) {
	return h.Board(c.UserContext(), id, sec)
}

func (h *Hall) handleEvents(c *fiber.Ctx, a kaiping.Actor, id kaiping.ID, sec string, _ none) (fiber.Map, error) {
	after, err := strconv.ParseInt(c.Query("after", "0"), 10, 64)
	if err != nil || after < 0 {
		return nil, invalid("hall.events_after", "after 须为非负整数（上次收到的版本号）")
	}
	evs, err := h.Events(c.UserContext(), a, overseer(c), id, sec, after)
	return fiber.Map{"events": evs}, err
}

func (h *Hall) handleMove(c *fiber.Ctx, a kaiping.Actor, id kaiping.ID, sec string, req TransitionRequest) (HallStatus, error) {
	return h.Move(c.UserContext(), a, id, sec, req)
}

func (h *Hall) handleCheckIn(c *fiber.Ctx, a kaiping.Actor, id kaiping.ID, sec string, _ none) (CheckIn, error) {
	return h.CheckIn(c.UserContext(), a, id, sec)
}

func (h *Hall) handleEnvelopes(c *fiber.Ctx, a kaiping.Actor, id kaiping.ID, sec string, _ none) (fiber.Map, error) {
	envs, err := h.Envelopes(c.UserContext(), a, id, sec)
	return fiber.Map{"envelopes": envs}, err
}

func (h *Hall) handleUnlock(c *fiber.Ctx, a kaiping.Actor, id kaiping.ID, sec string, req UnlockRequest) (UnlockStatus, error) {
	st, err := h.Unlock(c.UserContext(), a, id, sec, req)
	if kaiping.CodeOf(err) == "hall.busy" {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(h.cfg.BusyRetry.Seconds())))
	}
	return st, err
}

func (h *Hall) handleRecord(c *fiber.Ctx, a kaiping.Actor, id kaiping.ID, sec string, _ none) (PublishedRecord, error) {
	return h.Record(c.UserContext(), a, overseer(c), id, sec)
}

func (h *Hall) handleConfirm(c *fiber.Ctx, a kaiping.Actor, id kaiping.ID, sec string, req ConfirmRequest) (Confirmation, error) {
	return h.Confirm(c.UserContext(), a, id, sec, req)
}

func (h *Hall) handleObject(c *fiber.Ctx, a kaiping.Actor, id kaiping.ID, sec string, req ObjectionRequest) (Objection, error) {
	return h.Object(c.UserContext(), a, id, sec, req)
}

func (h *Hall) handleAnswer(c *fiber.Ctx, a kaiping.Actor, id kaiping.ID, sec string, req AnswerRequest) (Objection, error) {
	oid, err := pathID(c, "objection", kaiping.E(kaiping.KindNotFound, "hall.objection_not_found", "异议不存在"))
	if err != nil {
		return Objection{}, err
	}
	return h.Answer(c.UserContext(), a, id, sec, oid, req)
}

func (h *Hall) handleRescueStanzas(c *fiber.Ctx, a kaiping.Actor, id kaiping.ID, sec string, _ struct{}) (RescueStanzas, error) {
	return h.RescueStanzas(c.UserContext(), a, id, sec, kaiping.ID(c.Query("bidder_id")))
}

func (h *Hall) handleRescuePartials(c *fiber.Ctx, a kaiping.Actor, id kaiping.ID, sec string, req RescuePartialsRequest) (RescueProgress, error) {
	return h.SubmitRescuePartials(c.UserContext(), a, id, sec, req)
}

func (h *Hall) handlePropose(c *fiber.Ctx, a kaiping.Actor, id kaiping.ID, sec string, req ProposalRequest) (Proposal, error) {
	return h.Propose(c.UserContext(), a, id, sec, req)
}

func (h *Hall) handleProposals(c *fiber.Ctx, _ kaiping.Actor, id kaiping.ID, sec string, _ none) (fiber.Map, error) {
	ps, err := h.Proposals(c.UserContext(), id, sec)
	return fiber.Map{"proposals": ps}, err
}

func (h *Hall) handleCosign(c *fiber.Ctx, a kaiping.Actor, id kaiping.ID, sec string, _ none) (HallStatus, error) {
	pid, err := pathID(c, "proposal", kaiping.E(kaiping.KindNotFound, "hall.proposal_not_found", "本标段本轮没有这份会签申请"))
	if err != nil {
		return HallStatus{}, err
	}
	return h.Cosign(c.UserContext(), a, id, sec, pid)
}
