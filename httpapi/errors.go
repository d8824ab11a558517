// Package httpapi is the HTTP plumbing every domain package shares: the one place errors become
// status codes, route declarations with the roles each route allows, the authentication
// middleware and strict JSON decoding. It knows nothing of any domain.
package httpapi

import (
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
)

// Problem is the JSON body of every error response: a stable code for programs and a readable
// message (Simplified Chinese) for people.
type Problem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ErrorBody wraps Problem as {"error": {...}}.
type ErrorBody struct {
	Error Problem `json:"error"`
}

// Status maps an error kind to its HTTP status. This is the only place that mapping lives.
func Status(k kaiping.Kind) int {
	switch k {
	case kaiping.KindInvalid:
		return fiber.StatusBadRequest
	case kaiping.KindUnauthenticated:
		return fiber.StatusUnauthorized
	case kaiping.KindForbidden:
		return fiber.StatusForbidden
	case kaiping.KindNotFound:
		return fiber.StatusNotFound
	case kaiping.KindConflict:
		return fiber.StatusConflict
	case kaiping.KindTooEarly:
		return fiber.StatusTooEarly
	case kaiping.KindTooLate:
		// 410 Gone: the window this request belonged to has closed for good.
		return fiber.StatusGone
	case kaiping.KindUnavailable:
		return fiber.StatusServiceUnavailable
	case kaiping.KindThrottled:
		return fiber.StatusTooManyRequests
	}
	return fiber.StatusInternalServerError
}

// ErrorHandler is the fiber error handler: it answers every error as a Problem. Internal
// errors are logged once, with their detail, and shown only as a generic message.
func ErrorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		var fe *fiber.Error
		if errors.As(err, &fe) {
			// fiber's own errors: unknown route, wrong method, body too large, ...
			return c.Status(fe.Code).JSON(ErrorBody{fiberProblem(fe.Code)})
		}
		kind := kaiping.KindOf(err)
		status := Status(kind)
		p := Problem{Code: kaiping.CodeOf(err), Message: "服务器内部错误"}
		var ke *kaiping.Error
		switch {
		case kind == kaiping.KindInternal:
			p.Code = "internal"
			log.Error("internal error", "method", c.Method(), "path", c.Path(), "err", err)
		case errors.As(err, &ke):
			p.Message = ke.Message
			if ke.RetryAfter > 0 {
				// Whole seconds, rounded up: 0 would invite an immediate retry.
				c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int((ke.RetryAfter+time.Second-1)/time.Second)))
			}
			if kind == kaiping.KindUnavailable {
				log.Warn("dependency unavailable", "path", c.Path(), "err", err)
			}
		}
		return c.Status(status).JSON(ErrorBody{p})
	}
}

// fiberProblems answers fiber's own errors (no route, wrong method, body too large, ...).
var fiberProblems = map[int]Problem{
	fiber.StatusNotFound:              {Code: "route_not_found", Message: "接口不存在"},
	fiber.StatusMethodNotAllowed:      {Code: "method_not_allowed", Message: "不支持该请求方法"},
	fiber.StatusRequestEntityTooLarge: {Code: "body_too_large", Message: "请求体过大"},
	fiber.StatusBadRequest:            {Code: "bad_request", Message: "请求格式错误"},
}

func fiberProblem(status int) Problem {
	if p, ok := fiberProblems[status]; ok {
		return p
	}
	return Problem{Code: "http_" + strconv.Itoa(status), Message: "请求无法处理"}
}
