package httpapi

import "github.com/gofiber/fiber/v2"

// NoStore marks every answer it wraps as not to be kept by browsers or proxies (a session's
// answers name bidders, prices and tokens; a shared computer or a caching proxy must not
// keep them) and as not to be content-sniffed (a JSON answer must never be run as a page).
// It sets the headers before the handler runs, so error answers carry them too.
func NoStore(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	return c.Next()
}
