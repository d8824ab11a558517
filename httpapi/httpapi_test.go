package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
)

// tokenAuth accepts the tokens in its map.
type tokenAuth map[string]kaiping.Principal

func (a tokenAuth) Authenticate(_ context.Context, token string) (kaiping.Principal, error) {
	if p, ok := a[token]; ok {
		return p, nil
	}
	return kaiping.Principal{}, kaiping.E(kaiping.KindUnauthenticated, "auth.token_invalid", "登录凭证无效")
}

func TestMountRefusesUndeclaredRoles(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a route with no roles that is not public was mounted")
		}
	}()
	var reg Registry
	reg.Mount(fiber.New(), tokenAuth{}, Route{Method: "GET", Path: "/x", Handler: func(c *fiber.Ctx) error { return nil }})
}

func TestRolesAndErrors(t *testing.T) {
	f := fiber.New(fiber.Config{ErrorHandler: ErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	auth := tokenAuth{
		"host":   {ID: kaiping.NewID(), Roles: []kaiping.Role{kaiping.RoleHost}},
		"bidder": {ID: kaiping.NewID(), Roles: []kaiping.Role{kaiping.RoleBidder}},
	}
	var reg Registry
	ok := func(c *fiber.Ctx) error { return c.SendString("ok") }
	reg.Mount(f, auth,
		Route{Method: "GET", Path: "/host", Roles: []kaiping.Role{kaiping.RoleHost, kaiping.RoleAdmin}, Handler: ok},
		Route{Method: "GET", Path: "/any", Roles: AnyRole, Handler: ok},
		Route{Method: "GET", Path: "/public", Public: true, Handler: ok},
		Route{Method: "GET", Path: "/late", Public: true, Handler: func(*fiber.Ctx) error {
			return kaiping.E(kaiping.KindTooLate, "bid.deadline_passed", "投标截止时间已过")
		}},
		Route{Method: "GET", Path: "/bug", Public: true, Handler: func(*fiber.Ctx) error {
			return kaiping.Internal("test.bug", errors.New("secret detail"))
		}},
		Route{Method: "POST", Path: "/json", Public: true, Handler: func(c *fiber.Ctx) error {
			var v struct{ A int }
			if err := DecodeJSON(c, &v); err != nil {
				return err
			}
			return c.JSON(v)
		}},
	)
	if len(reg.Routes) != 6 {
		t.Fatalf("registry has %d routes", len(reg.Routes))
	}
	tests := []struct {
		method, path, token, body string
		status                    int
		code                      string
	}{
		{"GET", "/host", "host", "", 200, ""},
		{"GET", "/host", "bidder", "", 403, "auth.role_forbidden"},
		{"GET", "/host", "", "", 401, "auth.missing_token"},
		{"GET", "/host", "nonsense", "", 401, "auth.token_invalid"},
		{"GET", "/any", "bidder", "", 200, ""},
		{"GET", "/public", "", "", 200, ""},
		{"GET", "/late", "", "", 410, "bid.deadline_passed"},
		{"GET", "/bug", "", "", 500, "internal"},
		{"GET", "/nowhere", "", "", 404, "route_not_found"},
		{"POST", "/json", "", `{"A":1}`, 200, ""},
		{"POST", "/json", "", ``, 400, "request.empty_body"},
		{"POST", "/json", "", `{"A":"one"}`, 400, "request.wrong_type"},
		{"POST", "/json", "", `{"B":1}`, 400, "request.unknown_field"},
		{"POST", "/json", "", `{"A":1} {"A":2}`, 400, "request.trailing_data"},
		{"POST", "/json", "", `{"A":`, 400, "request.malformed_json"},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path+"/"+tt.token+tt.body, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := f.Test(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.code == "" {
				return
			}
			var eb ErrorBody
			if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Code != tt.code || eb.Error.Message == "" {
				t.Fatalf("body %s, want code %s with a message", body, tt.code)
			}
			if strings.Contains(string(body), "secret detail") {
				t.Fatal("an internal error's detail reached the client")
			}
		})
	}
}
