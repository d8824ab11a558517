package opening

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// Routes returns the time-stamp endpoint, for the bidder whose receipt it is:
//
//	GET /api/v1/receipts/:seq/time-stamp   the receipt's stamp (pending until the TSA gave it)
func (t *TimeStamps) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: fiber.MethodGet, Path: "/api/v1/receipts/:seq/time-stamp", Roles: bidders, Handler: t.handleReceipt},
	}
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
