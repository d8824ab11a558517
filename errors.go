package kaiping

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error by what the caller can do about it. The HTTP layer maps kinds to
// status codes in exactly one place.
type Kind uint8

// The error kinds.
const (
	KindInternal        Kind = iota // a bug or an outage; logged, never shown in detail
	KindInvalid                     // malformed or unacceptable input
	KindUnauthenticated             // no, bad or expired credentials
	KindForbidden                   // authenticated, but this principal may not do this
	KindNotFound                    // no such thing (or not visible to this principal)
	KindConflict                    // the state does not allow it (duplicate, already done)
	KindTooEarly                    // not yet: a window has not opened
	KindTooLate                     // a deadline has passed
	KindUnavailable                 // a dependency (database, object storage) cannot be reached
	KindThrottled                   // too many attempts: wait (Error.RetryAfter) and try again
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindUnauthenticated:
		return "unauthenticated"
	case KindForbidden:
		return "forbidden"
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindTooEarly:
		return "too_early"
	case KindTooLate:
		return "too_late"
	case KindUnavailable:
		return "unavailable"
	case KindThrottled:
		return "throttled"
	}
	return "internal"
}

// Error is the one error type of the service. Code is a stable machine-readable identifier
// (e.g. "auth.nonce_replayed") and Message a readable sentence in Simplified Chinese; both are
// shown to the caller unless the kind is internal. Op and Err are for logs only.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Op      string
	Err     error
	// RetryAfter, for KindThrottled, is how long the caller should wait (Retry-After).
	RetryAfter time.Duration
}

// E builds an *Error of the given kind with a stable code and a public message.
func E(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Errorf is E with a formatted message.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps err as an internal error raised by op; its detail is logged, not shown.
func Internal(op string, err error) *Error {
	return &Error{Kind: KindInternal, Code: "internal", Message: "服务器内部错误", Op: op, Err: err}
}

func (e *Error) Error() string {
	s := e.Code
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of the first *Error in err's chain, KindInternal if there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// CodeOf returns the stable code of the first *Error in err's chain, "internal" if none.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != "" {
		return e.Code
	}
	return "internal"
}

// IsKind reports whether err carries kind k.
func IsKind(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// MessageOf returns the public message of the first *Error in err's chain, "" if none.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}
