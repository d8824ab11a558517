package app

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/web"
	"github.com/kaiping/kaiping/httpapi"
)

// maxBodyBytes bounds JSON request bodies. Bid files never pass through the API server: they
// go straight to object storage on presigned URLs.
const maxBodyBytes = 1 << 20

func (a *App) newFiber() *fiber.App {
	f := fiber.New(fiber.Config{
		AppName:               "kaiping",
		ErrorHandler:          httpapi.ErrorHandler(a.log),
		BodyLimit:             maxBodyBytes,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		DisableStartupMessage: true,
		// The client address is httpapi.ClientAddress's business, not fiber's (ProxyHeader
		// stays empty: fiber would believe the leftmost X-Forwarded-For entry). The check
		// stays on so that X-Forwarded-Proto and -Host are believed from trusted proxies only.
		EnableTrustedProxyCheck: true,
		TrustedProxies:          a.cfg.TrustedProxies,
	})
	f.Use(recover.New())
	f.Use(a.metrics())
	f.Use("/api", httpapi.NoStore)

	ops := []httpapi.Route{
		{Method: fiber.MethodGet, Path: "/healthz", Public: true, Handler: func(c *fiber.Ctx) error {
			return c.JSON(fiber.Map{"status": "ok"})
		}},
		// Ready or not, nothing more: the details (which dependency, its error, which names
		// the database's user and host) are on the internal listener.
		{Method: fiber.MethodGet, Path: "/readyz", Public: true, Handler: a.handlePublicReady},
	}
	a.Routes.Mount(f, a.Identity, ops...)
	// After the operations routes, which record nothing and which a load balancer's health
	// check calls directly, without X-Forwarded-For; every route after this has a client
	// address or is refused.
	f.Use(httpapi.ClientAddress(a.proxies))
	a.Routes.Mount(f, a.Identity, a.Identity.Routes()...)
	a.Routes.Mount(f, a.Identity, a.Opening.Routes()...)
	a.Routes.Mount(f, a.Identity, a.Opening.StaffRoutes()...)
	a.Routes.Mount(f, a.Identity, a.Submit.Routes()...)
	a.Routes.Mount(f, a.Identity, a.TimeStamps.Routes()...)
	a.Routes.Mount(f, a.Identity, a.Hall.Routes()...)
	a.Routes.Mount(f, a.Identity, a.Live.Routes()...)
	a.Routes.Mount(f, a.Identity, a.SessionLive.Routes()...)
	a.Routes.Mount(f, a.Identity, a.Evaluation.Routes()...)
	a.Routes.Mount(f, a.Identity, a.Publications.Routes()...)
	a.Routes.Mount(f, a.Identity, a.Inbox.Routes()...)
	a.Routes.Mount(f, a.Identity, a.ledgerRoutes()...)
	a.Routes.Mount(f, a.Identity, a.mediaRoutes()...)
	a.Routes.Mount(f, a.Identity, web.Routes()...)
	return f
}

// newInternalFiber is the operations listener's app (internal_listen): metrics and the
// detailed readiness, unauthenticated, so it must be reachable by the monitoring system only.
func (a *App) newInternalFiber() *fiber.App {
	f := fiber.New(fiber.Config{
		AppName:               "kaiping-internal",
		ErrorHandler:          httpapi.ErrorHandler(a.log),
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		DisableStartupMessage: true,
	})
	f.Use(recover.New())
	f.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	f.Get("/readyz", a.handleReady)
	// Aggregate counters only, nothing about any tender or user.
	f.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{})))
	return f
}

func (a *App) handlePublicReady(c *fiber.Ctx) error {
	for name, err := range a.Ready(c.UserContext()) {
		if err != nil {
			a.log.Warn("not ready", "check", name, "err", err)
			out := fiber.Map{"status": "unavailable"}
			if name == "clock" {
				// Says nothing about the installation, and tells a bidder why nothing
				// moves on the deadline.
				out["reason"] = kaiping.MessageOf(err)
			}
			return c.Status(fiber.StatusServiceUnavailable).JSON(out)
		}
	}
	return c.JSON(fiber.Map{"status": "ok"})
}

func (a *App) handleReady(c *fiber.Ctx) error {
	checks := fiber.Map{}
	ready := true
	for name, err := range a.Ready(c.UserContext()) {
		if err != nil {
			ready = false
			checks[name] = err.Error()
			continue
		}
		checks[name] = "ok"
	}
	if !ready {
		a.log.Warn("not ready", "checks", checks)
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "checks": checks})
	}
	return c.JSON(fiber.Map{"status": "ok", "checks": checks})
}

// methodLabel returns a label that owns its bytes: c.Method() is a view of fiber's request
// buffer, reused by the connection's next request, and kept in a Prometheus label it changed
// under the registry (POST read as GET; two series with one label set made /metrics answer
// 500). A method outside the standard ones counts as "other", so that nobody can grow the
// metrics by inventing methods.
func methodLabel(m string) string {
	switch m {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch,
		fiber.MethodDelete, fiber.MethodConnect, fiber.MethodOptions, fiber.MethodTrace:
		return strings.Clone(m)
	}
	return "other"
}

// metrics counts requests by route pattern (never the raw path, which holds IDs) and status.
func (a *App) metrics() fiber.Handler {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kaiping_http_requests_total", Help: "HTTP requests by method, route and status.",
	}, []string{"method", "route", "status"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "kaiping_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route"})
	a.registry.MustRegister(requests, duration)
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		status := c.Response().StatusCode()
		if err != nil {
			// The error handler has not run yet; count what it will answer.
			if fe, ok := err.(*fiber.Error); ok {
				status = fe.Code
			} else {
				status = httpapi.Status(kaiping.KindOf(err))
			}
		}
		// The route pattern is the registered string; copied all the same, since a route
		// fiber makes up for an unmatched request holds the raw path's buffer.
		route := strings.Clone(c.Route().Path)
		method := methodLabel(c.Method())
		requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
		duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		return err
	}
}
