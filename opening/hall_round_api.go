package opening

import (
	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// RoundRoutes returns the routes of the second round of two-envelope tenders (双信封),
// under /api/v1/tenders/:id/sections/:section/hall:
//
//	POST /hall/qualification   host   {"results": [{"bidder_id", "passed", "reason"}]}: the technical stage's results
//	GET  /hall/qualification   bidder in the set, host, supervisor   the recorded results
//
// The second round itself runs on the hall's own routes (check-in, transitions, unlocks,
// record, confirmations), which act on the hall's current round.
func (h *Hall) RoundRoutes() []httpapi.Route {
	const p = "/api/v1/tenders/:id/sections/:section/hall/qualification"
	return []httpapi.Route{
		{Method: fiber.MethodPost, Path: p, Roles: hosts, Duties: hostDuty, Tender: tenderOfPath, Ledgered: "hall.qualify", Handler: handle(h, fiber.StatusOK, h.handleQualify)},
		{Method: fiber.MethodGet, Path: p, Roles: hallReaders, Duties: hallDuties, Tender: tenderOfPath, Handler: handle(h, fiber.StatusOK, h.handleQualifications)},
	}
}

func (h *Hall) handleQualify(c *fiber.Ctx, a kaiping.Actor, id kaiping.ID, sec string, req QualificationRequest) (HallStatus, error) {
	return h.Qualify(c.UserContext(), a, id, sec, req)
}

func (h *Hall) handleQualifications(c *fiber.Ctx, a kaiping.Actor, id kaiping.ID, sec string, _ none) (fiber.Map, error) {
	rs, err := h.Qualifications(c.UserContext(), a, overseer(c), id, sec)
	return fiber.Map{"results": rs}, err
}
