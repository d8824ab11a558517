package app

import (
	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// ledgerRoutes publish what anyone needs to check receipts against the audit ledger:
//
//	GET /api/v1/ledger/public-key   public     the platform public key (PEM)
//	GET /api/v1/ledger/checkpoint   any role   the latest signed checkpoint
//
// A bidder should compare the public key with the one the centre publishes elsewhere (its
// website, the tender notice): a key fetched from the same server it checks proves little.
func (a *App) ledgerRoutes() []httpapi.Route {
	return []httpapi.Route{
		{Method: fiber.MethodGet, Path: "/api/v1/ledger/public-key", Public: true, Handler: func(c *fiber.Ctx) error {
			pem, err := a.Ledger.PublicKeyPEM()
			if err != nil {
				return kaiping.Internal("app.ledgerPublicKey", err)
			}
			c.Set(fiber.HeaderContentType, "application/x-pem-file")
			return c.Send(pem)
		}},
		{Method: fiber.MethodGet, Path: "/api/v1/ledger/checkpoint", Roles: httpapi.AnyRole, Handler: func(c *fiber.Ctx) error {
			cp, err := a.Ledger.Checkpoint(c.UserContext(), a.DB.Pool)
			if err != nil {
				return err
			}
			return c.JSON(fiber.Map{"checkpoint": string(cp.Text()), "algorithm": cp.Algorithm, "signature": cp.Signature})
		}},
	}
}
