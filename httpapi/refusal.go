package httpapi

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
)

// Refused attempts (被拒绝的操作留痕). 《电子招标投标办法》 asks that every operation on the
// platform leave its time, network address and operator in a record nobody can alter; an
// attempt the platform refused — a rescue share handed in before the window, a file key
// offered by someone not a bidder, a record confirmed after the period — is an operation
// too, and often the one a complaint turns on. A route of a legally significant action
// declares it (Route.Ledgered) and every refusal it answers, from the role gate to the
// domain's last check, is ledgered by one middleware.
//
// Why at the route and not in each domain method: a refusal happens in many places (the
// role gate and the duty check before any handler; decoding; the domain's checks; the
// store's checks under the row lock, whose transaction rolls back and so cannot ledger
// anything itself). Only the outermost layer sees them all, with the principal, its roles
// and the address ClientAddress resolved; code per handler would miss the gates and be
// forgotten by the next route. The refusal is ledgered in its own transaction, after the
// refused one rolled back.

// Refusal is one refused attempt at a legally significant action, as the ledger records it.
type Refusal struct {
	// Action names what was attempted (Route.Ledgered), e.g. "hall.unlock".
	Action string
	// Route is the route's method and pattern; Params its path parameters (the objects
	// named, as sent: an unknown one is part of the attempt).
	Route  string
	Params map[string]string
	// Tender is the tender the request named, when it names one ("" otherwise).
	Tender    kaiping.ID
	Principal kaiping.ID
	Roles     []kaiping.Role
	Address   netip.Addr
	// Kind, Code and Message are the refusal as the caller received it.
	Kind    kaiping.Kind
	Code    string
	Message string
}

// RefusalLedger keeps refused attempts in the audit ledger. An implementation stamps the
// time with its clock, bounds what one principal can make it write (repeats coalesced),
// and logs its own failures: a refusal stands whether or not it could be recorded.
type RefusalLedger interface {
	RecordRefusal(ctx context.Context, r Refusal)
}

// refusalKinds are the answers that refuse the attempt itself. An outage (internal,
// unavailable) is ours, not a refusal; a throttled caller is already counted elsewhere;
// unauthenticated callers never reach the middleware (anyone on the internet can be one,
// and the ledger is not theirs to grow).
var refusalKinds = []kaiping.Kind{kaiping.KindInvalid, kaiping.KindForbidden, kaiping.KindNotFound,
	kaiping.KindConflict, kaiping.KindTooEarly, kaiping.KindTooLate}

// maxParamBytes bounds a path parameter as ledgered: a path is the caller's to choose.
const maxParamBytes = 128

// ledgerRefusals runs the rest of the route and hands a refusal of its attempt to rec.
// Mounted after authentication and before the role gate, so that a wrong role and a missing
// assignment are ledgered as well as the domain's refusals.
func ledgerRefusals(rec RefusalLedger, rt Route) fiber.Handler {
	route := rt.Method + " " + rt.Path
	return func(c *fiber.Ctx) error {
		err := c.Next()
		if err == nil {
			return nil
		}
		kind := kaiping.KindOf(err)
		if !slices.Contains(refusalKinds, kind) {
			return err
		}
		p, _ := PrincipalOf(c)
		r := Refusal{Action: rt.Ledgered, Route: route, Params: map[string]string{},
			Principal: p.ID, Roles: p.Roles, Address: AddrOf(c), Kind: kind, Code: kaiping.CodeOf(err), Message: messageOf(err)}
		for _, name := range c.Route().Params {
			r.Params[name] = clip(c.Params(name))
		}
		r.Tender = requestTender(c, rt)
		rec.RecordRefusal(c.UserContext(), r)
		return err
	}
}

// requestTender is the tender a request names: the route's own finder, or its :id under
// /tenders/. A malformed one is no tender (the params keep what was sent).
func requestTender(c *fiber.Ctx, rt Route) kaiping.ID {
	if rt.Tender != nil {
		if id, err := rt.Tender(c); err == nil {
			return id
		}
		return ""
	}
	if strings.HasPrefix(rt.Path, "/api/v1/tenders/:id") {
		if id := kaiping.ID(c.Params("id")); id.Valid() {
			return kaiping.ID(strings.Clone(string(id)))
		}
	}
	return ""
}

func messageOf(err error) string {
	var e *kaiping.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}

// clip copies a path parameter (fiber reuses its buffers), cut to maxParamBytes on a rune
// boundary.
func clip(s string) string {
	if len(s) > maxParamBytes {
		s = strings.ToValidUTF8(s[:maxParamBytes], "")
	}
	return strings.Clone(s)
}
