// Package postgres is Kaiping's PostgreSQL adapter: the connection pool, the embedded schema
// migrations (applied with tern under its advisory lock) and the translation of database errors
// into kaiping error kinds. Raw SQL with pgx v5 lives here and nowhere in the domain packages.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"

	"github.com/kaiping/kaiping"
)

//go:embed migrations/*.sql
var migrations embed.FS

// versionTable is where tern records the schema version.
const versionTable = "schema_version"

// DB is the connection pool shared by every store in this package.
type DB struct {
	Pool *pgxpool.Pool
}

// Open connects to url and checks the connection. An unreachable server is KindUnavailable.
func Open(ctx context.Context, url string, maxConns int32) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, &kaiping.Error{Kind: kaiping.KindInvalid, Code: "config.database_url",
			Message: "数据库连接串格式错误 (database.url is not a valid PostgreSQL URL)", Op: "postgres.Open", Err: err}
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, translate("postgres.Open", err)
	}
	db := &DB{Pool: pool}
	if err := db.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Ping checks that the database answers, within 3 seconds.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := db.Pool.Ping(ctx); err != nil {
		return translate("postgres.Ping", err)
	}
	return nil
}

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

// Migrate applies every embedded migration not yet applied. tern holds a PostgreSQL advisory
// lock while it works, so several kaiping processes starting at once migrate exactly once.
// It returns the schema version reached.
func Migrate(ctx context.Context, url string) (int32, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, translate("postgres.Migrate", err)
	}
	defer conn.Close(ctx)
	m, err := migrate.NewMigrator(ctx, conn, versionTable)
	if err != nil {
		return 0, translate("postgres.Migrate", err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return 0, kaiping.Internal("postgres.Migrate", err)
	}
	if err := m.LoadMigrations(sub); err != nil {
		return 0, kaiping.Internal("postgres.Migrate", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return 0, translate("postgres.Migrate", err)
	}
	v, err := m.GetCurrentVersion(ctx)
	if err != nil {
		return 0, translate("postgres.Migrate", err)
	}
	return v, nil
}

// InTx runs fn in a transaction and commits it if fn returns nil; otherwise it rolls back, so
// a failed operation leaves nothing half-written.
//
// A transaction PostgreSQL aborts as a deadlock victim or a serialization failure is run
// again, up to txAttempts times in all: two transactions that each write a conflicting row
// (two overlapping bookings, checked by an exclusion constraint) before taking the ledger's
// append lock can deadlock, and one of them must simply try again. fn may therefore run more
// than once; it must do nothing but work in tx and set its results.
func (db *DB) InTx(ctx context.Context, op string, fn func(pgx.Tx) error) error {
	var err error
	for attempt := 1; attempt <= txAttempts; attempt++ {
		if err = db.inTx(ctx, fn); !retryable(err) || ctx.Err() != nil || attempt == txAttempts {
			break
		}
		// Transactions aborted together and run again at once meet again: a random wait,
		// growing with the attempts, spreads them out (a thousand concurrent bookings
		// deadlocked some of theirs five times over without it).
		select {
		case <-ctx.Done():
		case <-time.After(rand.N(time.Duration(attempt) * txBackoff)):
		}
	}
	return translate(op, err)
}

// txAttempts bounds how often InTx runs a transaction that keeps being aborted; txBackoff
// is the longest wait after the first attempt (after the n-th, n times it).
const (
	txAttempts = 8
	txBackoff  = 10 * time.Millisecond
)

func (db *DB) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// retryable reports whether PostgreSQL aborted the transaction as a deadlock victim or for a
// serialization failure, so that running it again may succeed.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// translate turns a pgx or PostgreSQL error into a *kaiping.Error. Errors that already carry a
// kind pass through unchanged, so domain errors raised inside a transaction keep their code.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	var ke *kaiping.Error
	if errors.As(err, &ke) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &kaiping.Error{Kind: kaiping.KindNotFound, Code: "not_found", Message: "记录不存在", Op: op, Err: err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return &kaiping.Error{Kind: kaiping.KindConflict, Code: "duplicate", Message: "记录已存在", Op: op, Err: err}
		case "23P01": // exclusion_violation (overlapping bookings)
			return &kaiping.Error{Kind: kaiping.KindConflict, Code: "overlap", Message: "时间段与已有记录冲突", Op: op, Err: err}
		case "23503": // foreign_key_violation
			return &kaiping.Error{Kind: kaiping.KindInvalid, Code: "reference", Message: "引用的记录不存在", Op: op, Err: err}
		case "23514", "23502", "22P02", "22001": // check, not null, bad text representation, too long
			return &kaiping.Error{Kind: kaiping.KindInvalid, Code: "invalid", Message: "数据不符合约束", Op: op, Err: err}
		case "40001", "40P01": // serialization failure, deadlock
			return &kaiping.Error{Kind: kaiping.KindConflict, Code: "retry", Message: "并发冲突，请重试", Op: op, Err: err}
		case "57P01", "57P02", "57P03", "53300": // shutdown, cannot connect now, too many connections
			return unavailable(op, err)
		}
		return kaiping.Internal(op, err)
	}
	if connectionLost(err) {
		return unavailable(op, err)
	}
	return kaiping.Internal(op, err)
}

// connectionLost reports whether err is the connection to PostgreSQL failing rather than a
// statement: refused, reset, cut mid-answer (a pooled connection whose server stopped ends
// with an unexpected EOF), or timed out. The caller gets 503 and tries again; what a
// transaction cut at its commit did is then read back, never guessed.
func connectionLost(err error) bool {
	var connErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connErr) || pgconn.SafeToRetry(err) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.As(err, &netErr)
}

func unavailable(op string, err error) error {
	return &kaiping.Error{Kind: kaiping.KindUnavailable, Code: "database_unavailable",
		Message: "数据库暂时无法访问", Op: op, Err: fmt.Errorf("%w", err)}
}
