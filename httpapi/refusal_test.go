package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
)

// refusalList keeps what the middleware hands it. The real RefusalLedger
// (storage/postgres.RefusalLog) is exercised by cmd/kaiping/app's TestRefusedAttemptsLedgered;
// this one lets the middleware's choice of what is a refusal be tested on its own.
type refusalList struct {
	mu   sync.Mutex
	list []Refusal
}

func (l *refusalList) RecordRefusal(_ context.Context, r Refusal) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, r)
}

func TestMountRefusesLedgeredWithoutRefusals(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a ledgered route was mounted without the registry's Refusals")
		}
	}()
	var reg Registry
	reg.Mount(fiber.New(), tokenAuth{}, Route{Method: "POST", Path: "/x", Roles: AnyRole, Ledgered: "x", Handler: func(*fiber.Ctx) error { return nil }})
}

// TestRefusalsLedgered: a ledgered route hands every refusal of an authenticated caller to
// the ledger — the role gate's and the handler's, with the principal, roles, route, path
// parameters, tender and reason — and nothing else: not an accepted request, not an outage
// or a throttle (not the caller's refusal), not a caller without a session.
func TestRefusalsLedgered(t *testing.T) {
	f := fiber.New(fiber.Config{ErrorHandler: ErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	host := kaiping.Principal{ID: kaiping.NewID(), Roles: []kaiping.Role{kaiping.RoleHost}}
	auth := tokenAuth{"host": host, "bidder": {ID: kaiping.NewID(), Roles: []kaiping.Role{kaiping.RoleBidder}}}
	answers := map[string]error{
		"ok":          nil,
		"late":        kaiping.E(kaiping.KindTooLate, "bid.deadline_passed", "投标截止时间已过"),
		"early":       kaiping.E(kaiping.KindTooEarly, "hall.window_not_open", "解密窗口尚未开启"),
		"invalid":     kaiping.E(kaiping.KindInvalid, "hall.partial_invalid", "部分解密无效"),
		"conflict":    kaiping.E(kaiping.KindConflict, "hall.state", "状态不符"),
		"outage":      kaiping.E(kaiping.KindUnavailable, "storage.unavailable", "存储不可用"),
		"bug":         kaiping.Internal("test", io.ErrUnexpectedEOF),
		"throttled":   kaiping.E(kaiping.KindThrottled, "auth.throttled", "稍后再试"),
		"not_a_party": kaiping.E(kaiping.KindForbidden, "hall.not_bidder", "不是本标段投标人"),
	}
	refusals := &refusalList{}
	reg := Registry{Refusals: refusals}
	reg.Mount(f, auth, Route{Method: "POST", Path: "/api/v1/tenders/:id/do/:what", Roles: []kaiping.Role{kaiping.RoleHost},
		Ledgered: "test.do", Handler: func(c *fiber.Ctx) error {
			if err := answers[c.Params("what")]; err != nil {
				return err
			}
			return c.SendString("ok")
		}})
	tender := kaiping.NewID()
	tests := []struct {
		token, what string
		code        string // "" when nothing is to be ledgered
	}{
		{"host", "ok", ""},
		{"host", "late", "bid.deadline_passed"},
		{"host", "early", "hall.window_not_open"},
		{"host", "invalid", "hall.partial_invalid"},
		{"host", "conflict", "hall.state"},
		{"host", "not_a_party", "hall.not_bidder"},
		{"host", "outage", ""},
		{"host", "bug", ""},
		{"host", "throttled", ""},
		{"bidder", "ok", "auth.role_forbidden"},
		{"", "late", ""},
		{"nonsense", "late", ""},
	}
	for _, tt := range tests {
		refusals.list = nil
		req := httptest.NewRequest("POST", "/api/v1/tenders/"+string(tender)+"/do/"+tt.what, nil)
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		if _, err := f.Test(req); err != nil {
			t.Fatal(err)
		}
		switch {
		case tt.code == "" && len(refusals.list) != 0:
			t.Errorf("%s %s: ledgered %+v, want nothing", tt.token, tt.what, refusals.list)
		case tt.code == "":
		case len(refusals.list) != 1:
			t.Errorf("%s %s: %d refusals ledgered, want 1", tt.token, tt.what, len(refusals.list))
		default:
			r := refusals.list[0]
			if r.Action != "test.do" || r.Code != tt.code || r.Message == "" || r.Tender != tender || r.Principal != auth[tt.token].ID ||
				len(r.Roles) != 1 || r.Params["what"] != tt.what || r.Route != "POST /api/v1/tenders/:id/do/:what" || !r.Address.IsValid() {
				t.Errorf("%s %s: ledgered %+v", tt.token, tt.what, r)
			}
		}
	}
}
