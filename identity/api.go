package identity

import (
	"encoding/base64"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// Routes returns the identity endpoints:
//
//	POST /api/v1/auth/challenge          public   a login nonce
//	POST /api/v1/auth/login              public   certificate + signed nonce → session token
//	GET  /api/v1/me                      any role the caller's principal
//	POST /api/v1/principals              admin    register a principal with its certificate
//	GET  /api/v1/principals              admin    list principals
//	POST /api/v1/principals/:id/disable  admin    disable: its sessions end (停用)
//	POST /api/v1/principals/:id/enable   admin    enable again
//	PUT  /api/v1/principals/:id/roles    admin    replace its roles {"roles": [...]}
//	DELETE /api/v1/principals/:id/certificates/:fingerprint  admin  revoke a certificate (注销)
//
// Each change is ledgered and takes effect on the principal's next request.
func (s *Service) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: fiber.MethodPost, Path: "/api/v1/auth/challenge", Public: true, Handler: s.handleChallenge},
		{Method: fiber.MethodPost, Path: "/api/v1/auth/login", Public: true, Handler: s.handleLogin},
		{Method: fiber.MethodGet, Path: "/api/v1/me", Roles: httpapi.AnyRole, Handler: s.handleMe},
		{Method: fiber.MethodPost, Path: "/api/v1/principals", Roles: []kaiping.Role{kaiping.RoleAdmin}, Handler: s.handleRegister},
		{Method: fiber.MethodGet, Path: "/api/v1/principals", Roles: []kaiping.Role{kaiping.RoleAdmin}, Handler: s.handleList},
		{Method: fiber.MethodPost, Path: "/api/v1/principals/:id/disable", Roles: []kaiping.Role{kaiping.RoleAdmin}, Handler: s.handleDisable(true)},
		{Method: fiber.MethodPost, Path: "/api/v1/principals/:id/enable", Roles: []kaiping.Role{kaiping.RoleAdmin}, Handler: s.handleDisable(false)},
		{Method: fiber.MethodPut, Path: "/api/v1/principals/:id/roles", Roles: []kaiping.Role{kaiping.RoleAdmin}, Handler: s.handleSetRoles},
		{Method: fiber.MethodDelete, Path: "/api/v1/principals/:id/certificates/:fingerprint", Roles: []kaiping.Role{kaiping.RoleAdmin}, Handler: s.handleRevoke},
	}
}

// principalParam is the :id of a principal route; anything not an ID names nobody.
func principalParam(c *fiber.Ctx) (kaiping.ID, error) {
	id := kaiping.ID(strings.Clone(c.Params("id")))
	if !id.Valid() {
		return "", kaiping.E(kaiping.KindNotFound, "principal.not_found", "用户不存在")
	}
	return id, nil
}

func (s *Service) handleDisable(disabled bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := principalParam(c)
		if err != nil {
			return err
		}
		if err := s.SetDisabled(c.UserContext(), httpapi.ActorOf(c, s.clock), id, disabled); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// SetRolesRequest is the body of PUT /api/v1/principals/:id/roles.
type SetRolesRequest struct {
	Roles []kaiping.Role `json:"roles"`
}

func (s *Service) handleSetRoles(c *fiber.Ctx) error {
	id, err := principalParam(c)
	if err != nil {
		return err
	}
	var req SetRolesRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	if err := s.SetRoles(c.UserContext(), httpapi.ActorOf(c, s.clock), id, req.Roles); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Service) handleRevoke(c *fiber.Ctx) error {
	id, err := principalParam(c)
	if err != nil {
		return err
	}
	fp := strings.ToLower(strings.Clone(c.Params("fingerprint")))
	if err := s.RevokeCertificate(c.UserContext(), httpapi.ActorOf(c, s.clock), id, fp); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Service) handleChallenge(c *fiber.Ctx) error {
	return c.JSON(s.Challenge())
}

// LoginRequest is the body of POST /api/v1/auth/login.
type LoginRequest struct {
	Certificate string `json:"certificate"` // PEM: the leaf first, then any intermediates
	Nonce       string `json:"nonce"`
	Signature   string `json:"signature"` // base64 (standard) of the signature over LoginMessage(nonce)
}

func (s *Service) handleLogin(c *fiber.Ctx) error {
	var req LoginRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	if req.Certificate == "" || req.Nonce == "" || req.Signature == "" {
		return kaiping.E(kaiping.KindInvalid, "auth.fields_missing", "登录需要 certificate、nonce 和 signature 三个字段")
	}
	sig, err := base64.StdEncoding.DecodeString(req.Signature)
	if err != nil {
		return kaiping.E(kaiping.KindInvalid, "auth.signature_encoding", "signature 必须是 base64 编码")
	}
	sess, err := s.Login(c.UserContext(), httpapi.ActorOf(c, s.clock), []byte(req.Certificate), req.Nonce, sig)
	if err != nil {
		return err
	}
	return c.JSON(sess)
}

func (s *Service) handleMe(c *fiber.Ctx) error {
	p, _ := httpapi.PrincipalOf(c)
	return c.JSON(p)
}

func (s *Service) handleRegister(c *fiber.Ctx) error {
	var np NewPrincipal
	if err := httpapi.DecodeJSON(c, &np); err != nil {
		return err
	}
	p, err := s.Register(c.UserContext(), httpapi.ActorOf(c, s.clock), np)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}

func (s *Service) handleList(c *fiber.Ctx) error {
	ps, err := s.store.Principals(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"principals": ps})
}
