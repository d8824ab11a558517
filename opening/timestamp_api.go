package opening

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// Routes returns the time-stamp endpoints: a receipt's, for the bidder whose receipt it is,
// and a section's records', for those who may read the records:
//
//	GET /api/v1/receipts/:seq/time-stamp                               the receipt's stamp (pending until the TSA gave it)
//	GET /api/v1/tenders/:id/sections/:section/hall/record/time-stamps  every exported record's stamp
func (t *TimeStamps) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: fiber.MethodGet, Path: "/api/v1/receipts/:seq/time-stamp", Roles: bidders, Handler: t.handleReceipt},
		{Method: fiber.MethodGet, Path: "/api/v1/tenders/:id/sections/:section/hall/record/time-stamps", Roles: recordReaders,
			Duties: hallDuties, Tender: tenderOfPath, Handler: t.handleRecords},
	}
}

func (t *TimeStamps) handleRecords(c *fiber.Ctx) error {
	// The records' own access rule: the tender's host and supervisors, the bidders in the set.
	_, sec, err := t.records.section(c)
	if err != nil {
		return err
	}
	stamps, err := t.Records(c.UserContext(), sec.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"time_stamps": stamps})
}

func (t *TimeStamps) handleReceipt(c *fiber.Ctx) error {
	seq, err := strconv.ParseInt(c.Params("seq"), 10, 64)
	if err != nil || seq < 0 {
		return kaiping.E(kaiping.KindInvalid, "receipt.seq", "回执的日志序号须为非负整数")
	}
	ts, err := t.OfReceipt(c.UserContext(), httpapi.ActorOf(c, t.clock), seq)
	if err != nil {
		return err
	}
	return c.JSON(ts)
}
