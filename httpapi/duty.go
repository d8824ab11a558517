package httpapi

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
)

// Staffing says which duties a principal holds on a tender (an administrator's
// assignments, not yet revoked). storage/postgres implements it.
type Staffing interface {
	Duties(ctx context.Context, tender, principal kaiping.ID) ([]kaiping.Duty, error)
}

// TenderOf finds the tender a request acts on (from its path, or through the object the
// path names). An unknown object is the route's own not-found error.
type TenderOf func(c *fiber.Ctx) (kaiping.ID, error)

// TenderParam reads the tender ID from the path parameter name. A malformed ID is the same
// 404 as an unknown one.
func TenderParam(name string) TenderOf {
	return func(c *fiber.Ctx) (kaiping.ID, error) {
		id := kaiping.ID(c.Params(name))
		if !id.Valid() {
			return "", kaiping.E(kaiping.KindNotFound, "tender.not_found", "招标项目不存在")
		}
		return kaiping.ID(strings.Clone(string(id))), nil
	}
}

// TenderQuery reads the tender ID from the query parameter name (GET …?tender=).
func TenderQuery(name string) TenderOf {
	return func(c *fiber.Ctx) (kaiping.ID, error) {
		id := kaiping.ID(c.Query(name))
		if !id.Valid() {
			return "", kaiping.Errorf(kaiping.KindInvalid, "request.tender", "须用 ?%s= 指定招标项目", name)
		}
		return kaiping.ID(strings.Clone(string(id))), nil
	}
}

// TenderInBody reads the tender ID from the JSON body's field name, for a request that
// creates something on a tender (a draw). The handler still decodes the body strictly.
func TenderInBody(name string) TenderOf {
	return func(c *fiber.Ctx) (kaiping.ID, error) {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(c.Body(), &fields); err != nil {
			return "", invalidJSON(err)
		}
		var id kaiping.ID
		if err := json.Unmarshal(fields[name], &id); err != nil || !id.Valid() {
			return "", kaiping.Errorf(kaiping.KindInvalid, "request.tender", "须在请求体的 %s 字段指定招标项目", name)
		}
		return id, nil
	}
}

// staffRoles are the roles whose work on a tender needs an assignment. Bidders, experts
// and venue staff are checked on the object by the handler (their registration, their
// draw, their venue); administrators manage tenders and assignments, and pass only the
// routes that list RoleAdmin (a tender-scoped route lists it only for management).
var staffRoles = []kaiping.Role{kaiping.RoleHost, kaiping.RoleSupervisor}

const dutiesKey = "kaiping.duties"

// requireDuty lets through a caller assigned to the request's tender with one of the
// route's duties, and a caller who holds one of the route's other roles (a bidder on a
// hall route), whose right to the object the handler checks. A staff member without the
// assignment is refused, whatever else they hold, before the handler runs.
func requireDuty(staff Staffing, rt Route) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, _ := PrincipalOf(c)
		tender, err := rt.Tender(c)
		if err != nil {
			return err
		}
		if err := checkDuty(c, staff, p, tender, rt.Roles, rt.Duties); err != nil {
			return err
		}
		return c.Next()
	}
}

// checkDuty looks up p's duties on tender when p holds a staff role, keeps those the route
// accepts in the request, and refuses a caller left with no way in.
func checkDuty(c *fiber.Ctx, staff Staffing, p kaiping.Principal, tender kaiping.ID, roles []kaiping.Role, accepted []kaiping.Duty) error {
	var held []kaiping.Duty
	if holdsAny(p, staffRoles) {
		var err error
		if held, err = HeldDuties(c.UserContext(), staff, tender, p, accepted); err != nil {
			return err
		}
	}
	c.Locals(dutiesKey, held)
	if len(held) > 0 {
		return nil
	}
	for _, r := range roles {
		// A party to the tender (or an administrator where the route says so, or anyone on
		// an AnyRole route): the handler checks the object, with HasDuty for staff.
		if r == "*" || !slices.Contains(staffRoles, r) && p.Has(r) {
			return nil
		}
	}
	return NotAssigned(accepted)
}

// HeldDuties returns the duties among accepted that p holds on tender: assigned and not
// revoked, with the role the duty needs. A live connection asks again at every ping, so
// that an assignment revoked while watching ends the watch as it refuses the next request.
func HeldDuties(ctx context.Context, staff Staffing, tender kaiping.ID, p kaiping.Principal, accepted []kaiping.Duty) ([]kaiping.Duty, error) {
	duties, err := staff.Duties(ctx, tender, p.ID)
	if err != nil {
		return nil, err
	}
	var held []kaiping.Duty
	for _, d := range duties {
		if slices.Contains(accepted, d) && p.Has(d.Role()) {
			held = append(held, d)
		}
	}
	return held, nil
}

// NotAssigned is the refusal of a staff member who holds none of duties on the tender.
func NotAssigned(duties []kaiping.Duty) error {
	labels := make([]string, len(duties))
	for i, d := range duties {
		labels[i] = d.Label()
	}
	return kaiping.Errorf(kaiping.KindForbidden, "tender.not_assigned",
		"您未被指派为本项目的%s，无权执行此操作", strings.Join(labels, "或"))
}

// HasDuty reports whether the caller was let through as assigned staff with duty d (by the
// route's duty check or RequireDuty). A caller let through as a party has none.
func HasDuty(c *fiber.Ctx, d kaiping.Duty) bool {
	held, _ := c.Locals(dutiesKey).([]kaiping.Duty)
	return slices.Contains(held, d)
}

// Assigned reports whether the caller was let through as assigned staff of any duty.
func Assigned(c *fiber.Ctx) bool {
	held, _ := c.Locals(dutiesKey).([]kaiping.Duty)
	return len(held) > 0
}

func holdsAny(p kaiping.Principal, roles []kaiping.Role) bool {
	for _, r := range roles {
		if p.Has(r) {
			return true
		}
	}
	return false
}
