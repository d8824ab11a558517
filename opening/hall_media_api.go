package opening

import (
	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// mediaWatchers may ask for a grant to the hall's broadcast: hosts publish, bidders and
// supervisors watch.
var mediaWatchers = []kaiping.Role{kaiping.RoleHost, kaiping.RoleBidder, kaiping.RoleSupervisor}

func (h *Hall) handleMedia(c *fiber.Ctx, _ kaiping.Actor, id kaiping.ID, sec string, _ none) (HallMediaGrant, error) {
	who, _ := httpapi.PrincipalOf(c)
	role := MediaBidder
	switch {
	case httpapi.HasDuty(c, kaiping.DutyHost):
		role = MediaHost
	case httpapi.HasDuty(c, kaiping.DutySupervisor):
		role = MediaSupervisor
	}
	return h.MediaGrant(c.UserContext(), who, role, id, sec)
}
