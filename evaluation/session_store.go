package evaluation

import (
	"context"

	"github.com/kaiping/kaiping"
)

// SessionStore keeps evaluation sessions and their events.
type SessionStore interface {
	// CreateSession stores a new session with its session.create entry and event, and binds
	// its draws to it: a draw already in a session (even a void one: a new committee is a new
	// draw) is KindConflict "session.draw_taken".
	CreateSession(ctx context.Context, a kaiping.Actor, s Session) error
	// Session returns one session ("session.not_found").
	Session(ctx context.Context, id kaiping.ID) (Session, error)
	// Sessions lists a tender's sessions, newest first.
	Sessions(ctx context.Context, tender kaiping.ID) ([]Session, error)
	// VenueSessions lists the sessions neither closed nor void with a member seated at one of
	// venues.
	VenueSessions(ctx context.Context, venues []kaiping.ID) ([]Session, error)
	// MemberSessions lists the sessions in which principal is or was a member, newest first.
	MemberSessions(ctx context.Context, principal kaiping.ID) ([]Session, error)
	// ChangeSession runs decide on the session under its lock, then writes the session back
	// with one ledger entry and one event per change decide returned, all in one transaction.
	// A refusal of decide writes nothing; so does a change without an audience.
	ChangeSession(ctx context.Context, a kaiping.Actor, id kaiping.ID, decide func(*Session) ([]SessionChange, error)) (Session, error)
	// SessionEvents lists the session's events after version after that r may read, at most
	// limit, by version.
	SessionEvents(ctx context.Context, id kaiping.ID, after int64, r SessionReader, limit int) ([]SessionEvent, error)
	// PrincipalCertificate returns the DER certificate fingerprint registered to principal,
	// if the platform has not revoked it; else KindForbidden "session.certificate".
	PrincipalCertificate(ctx context.Context, principal kaiping.ID, fingerprint string) ([]byte, error)
	// Principal returns a registered principal ("principal.not_found").
	Principal(ctx context.Context, id kaiping.ID) (kaiping.Principal, error)
}
