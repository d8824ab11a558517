package httpapi

import (
	"context"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
)

// Route declares one endpoint and who may call it. Every route either lists the roles allowed
// (the principal must hold at least one) or is explicitly Public; Mount refuses anything else,
// so a route cannot be added without deciding its authorization.
type Route struct {
	Method string
	Path   string
	Roles  []kaiping.Role // allowed roles; AnyRole for every authenticated principal
	Public bool           // no authentication at all (login, health)
	// Duties, when set, scope the route to one tender: a host or supervisor must be
	// assigned to the tender Tender finds with one of these duties (checked before the
	// handler); callers let in by another of Roles (a bidder) are checked by the handler.
	Duties []kaiping.Duty
	Tender TenderOf
	// Ledgered names the legally significant action the route attempts ("hall.unlock"):
	// every refusal it answers an authenticated caller, the role and duty gates included,
	// is kept in the audit ledger (refusal.go). Empty for routes whose refusals are no
	// one's business but the caller's (reads, pages).
	Ledgered string
	Handler  fiber.Handler
}

// AnyRole allows any authenticated principal, whatever its roles.
var AnyRole = []kaiping.Role{"*"}

// Authenticator turns a bearer token into the principal it was issued to.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (kaiping.Principal, error)
}

// Registry remembers every mounted route, so tests can walk them all.
type Registry struct {
	Routes []Route
	// Staff answers the duty checks of tender-scoped routes; Mount refuses such a route
	// without it.
	Staff Staffing
	// Refusals ledgers the refused attempts of Ledgered routes; Mount refuses such a route
	// without it.
	Refusals RefusalLedger
}

// Mount registers routes on r, each behind authentication and its role check.
func (reg *Registry) Mount(r fiber.Router, auth Authenticator, routes ...Route) {
	for _, rt := range routes {
		if !rt.Public && len(rt.Roles) == 0 {
			panic(fmt.Sprintf("httpapi: route %s %s declares no roles and is not public", rt.Method, rt.Path))
		}
		if len(rt.Duties) > 0 && (rt.Public || rt.Tender == nil || reg.Staff == nil) {
			panic(fmt.Sprintf("httpapi: route %s %s declares duties without a tender, roles or the registry's Staff", rt.Method, rt.Path))
		}
		if rt.Ledgered != "" && (rt.Public || reg.Refusals == nil) {
			panic(fmt.Sprintf("httpapi: route %s %s is ledgered but public or without the registry's Refusals", rt.Method, rt.Path))
		}
		handlers := []fiber.Handler{}
		if !rt.Public {
			handlers = append(handlers, authenticate(auth))
			if rt.Ledgered != "" {
				handlers = append(handlers, ledgerRefusals(reg.Refusals, rt))
			}
			handlers = append(handlers, requireRoles(rt.Roles))
		}
		if len(rt.Duties) > 0 {
			handlers = append(handlers, requireDuty(reg.Staff, rt))
		}
		handlers = append(handlers, rt.Handler)
		r.Add(rt.Method, rt.Path, handlers...)
		reg.Routes = append(reg.Routes, rt)
	}
}

const principalKey = "kaiping.principal"

// BearerProtocol prefixes the session token a browser offers as a WebSocket subprotocol:
// browsers cannot set the Authorization header on a WebSocket.
const BearerProtocol = "bearer."

// BearerToken finds the request's session token: "Authorization: Bearer <token>", or on a
// WebSocket upgrade the subprotocol "bearer.<token>". The copy outlives fiber's buffers.
func BearerToken(c *fiber.Ctx) string {
	if t, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer "); ok {
		return strings.Clone(t)
	}
	if !strings.EqualFold(c.Get(fiber.HeaderUpgrade), "websocket") {
		return ""
	}
	for _, p := range strings.Split(c.Get(fiber.HeaderSecWebSocketProtocol), ",") {
		if t, ok := strings.CutPrefix(strings.TrimSpace(p), BearerProtocol); ok {
			return strings.Clone(t)
		}
	}
	return ""
}

const tokenKey = "kaiping.token"

// authenticate reads the session token (BearerToken) and puts the principal in the context.
func authenticate(auth Authenticator) fiber.Handler {
	return func(c *fiber.Ctx) error {
		token := BearerToken(c)
		if token == "" {
			return kaiping.E(kaiping.KindUnauthenticated, "auth.missing_token", "未登录：请先使用数字证书登录")
		}
		p, err := auth.Authenticate(c.UserContext(), token)
		if err != nil {
			return err
		}
		c.Locals(principalKey, p)
		c.Locals(tokenKey, token)
		return c.Next()
	}
}

// TokenOf returns the session token the request was authenticated with, for a long-lived
// connection that checks its session again later.
func TokenOf(c *fiber.Ctx) string {
	t, _ := c.Locals(tokenKey).(string)
	return t
}

func requireRoles(allowed []kaiping.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, _ := PrincipalOf(c)
		for _, r := range allowed {
			if r == "*" || p.Has(r) {
				return c.Next()
			}
		}
		labels := make([]string, len(allowed))
		for i, r := range allowed {
			labels[i] = r.Label()
		}
		return kaiping.Errorf(kaiping.KindForbidden, "auth.role_forbidden",
			"当前身份无权执行此操作（需要：%s）", strings.Join(labels, "、"))
	}
}

// PrincipalOf returns the authenticated principal of the request, if any.
func PrincipalOf(c *fiber.Ctx) (kaiping.Principal, bool) {
	p, ok := c.Locals(principalKey).(kaiping.Principal)
	return p, ok
}

// ActorOf returns who is making this request, from where, at the clock's time: what a
// state change records in the ledger. The address is the one ClientAddress resolved (the
// rightmost address not of a trusted proxy), never fiber's c.IP(), which believes the
// leftmost X-Forwarded-For entry, the one a client writes itself.
func ActorOf(c *fiber.Ctx, clock kaiping.Clock) kaiping.Actor {
	var principal kaiping.ID
	if p, ok := PrincipalOf(c); ok {
		principal = p.ID
	}
	return kaiping.ActorAt(principal, AddrOf(c), clock.Now())
}
