package postgres

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
	"github.com/kaiping/kaiping/storage/ledger"
)

// RefusalLog ledgers refused attempts (httpapi.RefusalLedger), coalescing a principal's
// repeats of one refusal within RefusalWindow into one entry and a count (migration 016).
type RefusalLog struct {
	db     *DB
	ledger *ledger.Ledger
	clock  kaiping.Clock
	log    *slog.Logger
}

var _ httpapi.RefusalLedger = (*RefusalLog)(nil)

// RefusalWindow is how long a principal's repeats of one refusal (same action, same code)
// share one ledger entry.
const RefusalWindow = time.Minute

// NewRefusalLog returns the refusal ledger on db.
func NewRefusalLog(db *DB, l *ledger.Ledger, clock kaiping.Clock, log *slog.Logger) *RefusalLog {
	return &RefusalLog{db: db, ledger: l, clock: clock, log: log}
}

// RecordRefusal implements httpapi.RefusalLedger: the ledger entry "attempt.refused", whose
// subject is the tender (if the request named one) and whose detail says what was attempted,
// on which objects, in which roles, and why it was refused. A failure is logged; the refusal
// stands.
func (l *RefusalLog) RecordRefusal(ctx context.Context, r httpapi.Refusal) {
	a := kaiping.ActorAt(r.Principal, r.Address, l.clock.Now())
	window := a.At.Truncate(RefusalWindow)
	err := l.db.InTx(ctx, "pg.RecordRefusal", func(tx pgx.Tx) error {
		var attempts int
		if err := tx.QueryRow(ctx, `INSERT INTO refused_attempts (principal_id, action, code, window_start, attempts, last_at)
			VALUES ($1, $2, $3, $4, 1, $5)
			ON CONFLICT (principal_id, action, code, window_start)
			DO UPDATE SET attempts = refused_attempts.attempts + 1, last_at = EXCLUDED.last_at
			RETURNING attempts`, r.Principal, r.Action, r.Code, window, a.At).Scan(&attempts); err != nil {
			return err
		}
		if attempts > 1 {
			return nil // counted; the window's entry is ledgered already
		}
		detail := map[string]any{
			"action": r.Action, "route": r.Route, "params": r.Params, "roles": r.Roles,
			"kind": r.Kind.String(), "code": r.Code, "reason": r.Message, "window_start": window,
		}
		var before struct {
			start    time.Time
			attempts int
		}
		err := tx.QueryRow(ctx, `SELECT window_start, attempts FROM refused_attempts
			WHERE principal_id = $1 AND action = $2 AND code = $3 AND window_start < $4
			ORDER BY window_start DESC LIMIT 1`, r.Principal, r.Action, r.Code, window).Scan(&before.start, &before.attempts)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		case before.attempts > 1:
			// The repeats of the last window were only counted: their count enters the
			// ledger with the next entry of the same refusal.
			detail["previous_window"] = map[string]any{"window_start": before.start, "attempts": before.attempts}
		}
		e, err := l.ledger.Append(ctx, tx, a, "attempt.refused", string(r.Tender), detail)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE refused_attempts SET ledger_seq = $5
			WHERE principal_id = $1 AND action = $2 AND code = $3 AND window_start = $4`,
			r.Principal, r.Action, r.Code, window, e.Seq)
		return err
	})
	if err != nil {
		l.log.Error("ledger a refused attempt", "action", r.Action, "code", r.Code, "principal", r.Principal, "err", err)
	}
}
