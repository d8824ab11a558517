package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/storage/ledger"
	"github.com/kaiping/kaiping/storage/postgres"
)

func TestMain(m *testing.M) { devenv.Main(m, devenv.NeedPostgres) }

// testOrigin names the test logs, as a centre would name its own.
const testOrigin = "ggzy.example.gov.cn/kaiping/ledger"

// t0 is a time with nanoseconds and a non-UTC zone, so every test exercises the truncation
// to microseconds and the conversion to UTC.
var t0 = time.Date(2026, 11, 21, 17, 30, 0, 123456789, time.FixedZone("CST", 8*3600))

// mustPool gives the test its own migrated database and a pool on it, closed at the end.
func mustPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	ctx := context.Background()
	url := devenv.Database(tb)
	if _, err := postgres.Migrate(ctx, url); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	pool, err := pgxpool.New(ctx, url+"&pool_max_conns=20")
	if err != nil {
		tb.Fatalf("pgxpool: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// mustSigner returns a fresh platform key of alg, loaded from PEM as production loads it.
func mustSigner(tb testing.TB, alg string) ledger.Signer {
	tb.Helper()
	p, err := ledger.GenerateKeyPEM(alg)
	if err != nil {
		tb.Fatalf("GenerateKeyPEM(%s): %v", alg, err)
	}
	s, err := ledger.ParseSigner(p)
	if err != nil {
		tb.Fatalf("ParseSigner(%s): %v", alg, err)
	}
	return s
}

// mustVerifier returns the verifier of s, loaded from its public key PEM.
func mustVerifier(tb testing.TB, s ledger.Signer) ledger.Verifier {
	tb.Helper()
	v, err := ledger.VerifierFor(s)
	if err != nil {
		tb.Fatalf("VerifierFor: %v", err)
	}
	return v
}

// actor returns the i-th test actor: a bidder at a loopback address, or the system.
func actor(i int) kaiping.Actor {
	at := t0.Add(time.Duration(i) * 1500 * time.Millisecond)
	if i%4 == 3 {
		return kaiping.SystemActor(at)
	}
	return kaiping.Actor{
		Principal: kaiping.ID(fmt.Sprintf("00000000-0000-4000-8000-%012d", i)),
		Address:   netip.AddrFrom4([4]byte{127, 0, 0, byte(1 + i%200)}),
		At:        at,
	}
}

// mustAppend appends one entry in its own committed transaction.
func mustAppend(tb testing.TB, pool *pgxpool.Pool, l *ledger.Ledger, a kaiping.Actor, action, subject string, detail any) ledger.Entry {
	tb.Helper()
	var e ledger.Entry
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		var err error
		e, err = l.Append(context.Background(), tx, a, action, subject, detail)
		return err
	})
	if err != nil {
		tb.Fatalf("Append(%s %s): %v", action, subject, err)
	}
	return e
}

// mustFill appends n varied entries and returns them.
func mustFill(tb testing.TB, pool *pgxpool.Pool, l *ledger.Ledger, n int) []ledger.Entry {
	tb.Helper()
	var out []ledger.Entry
	for i := range n {
		var detail any
		switch i % 3 {
		case 0:
			detail = map[string]any{"price": fmt.Sprintf("%d.00", 1000000+i), "envelope": "summary", "序号": i}
		case 1:
			detail = struct {
				Digest string `json:"digest"`
			}{fmt.Sprintf("sha256:%064x", i)}
		}
		out = append(out, mustAppend(tb, pool, l, actor(i), fmt.Sprintf("bid.step%d", i%5), string(kaiping.NewID()), detail))
	}
	return out
}

// mustCheckpointAt returns the signed checkpoint of the first size entries.
func mustCheckpointAt(tb testing.TB, pool *pgxpool.Pool, l *ledger.Ledger, size int64) ledger.SignedCheckpoint {
	tb.Helper()
	cp, err := l.CheckpointAt(context.Background(), pool, size)
	if err != nil {
		tb.Fatalf("CheckpointAt(%d): %v", size, err)
	}
	return cp
}

// mustVerify runs Verify and fails the test unless the log verifies with size entries.
func mustVerify(tb testing.TB, pool *pgxpool.Pool, v ledger.Verifier, size int64) ledger.Report {
	tb.Helper()
	rep, err := ledger.Verify(context.Background(), pool, v, testOrigin)
	if err != nil {
		tb.Fatalf("Verify: %v", err)
	}
	if rep.Size != size {
		tb.Fatalf("Verify: size %d, want %d", rep.Size, size)
	}
	return rep
}

// tamper runs stmts as an attacker with the database owner's rights: with the append-only
// triggers disabled for the moment.
func tamper(tb testing.TB, pool *pgxpool.Pool, stmts ...string) {
	tb.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, s := range []string{
			`ALTER TABLE ledger_entries DISABLE TRIGGER USER`,
			`ALTER TABLE ledger_hashes DISABLE TRIGGER USER`,
		} {
			if _, err := tx.Exec(ctx, s); err != nil {
				return err
			}
		}
		for _, sql := range stmts {
			if _, err := tx.Exec(ctx, sql); err != nil {
				return fmt.Errorf("%s: %w", sql, err)
			}
		}
		for _, s := range []string{
			`ALTER TABLE ledger_entries ENABLE TRIGGER USER`,
			`ALTER TABLE ledger_hashes ENABLE TRIGGER USER`,
		} {
			if _, err := tx.Exec(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("tamper: %v", err)
	}
}

// wantEntryError fails the test unless err is a tampering report naming entry seq with a
// problem containing problem.
func wantEntryError(tb testing.TB, err error, seq int64, problem string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("verification passed, want entry %d to fail with %q", seq, problem)
	}
	if k, c := kaiping.KindOf(err), kaiping.CodeOf(err); k != kaiping.KindInvalid || c != "ledger.tampered" {
		tb.Fatalf("error %v: kind %v code %q, want invalid ledger.tampered", err, k, c)
	}
	var ee *ledger.EntryError
	if !errors.As(err, &ee) {
		tb.Fatalf("error %v carries no *ledger.EntryError", err)
	}
	if ee.Seq != seq || !strings.Contains(ee.Problem, problem) {
		tb.Fatalf("error %q: want entry %d with %q", err, seq, problem)
	}
}

// wantKind fails the test unless err carries kind k and code.
func wantKind(tb testing.TB, err error, k kaiping.Kind, code string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("no error, want %v %s", k, code)
	}
	if kaiping.KindOf(err) != k || kaiping.CodeOf(err) != code {
		tb.Fatalf("error %v: kind %v code %q, want %v %q", err, kaiping.KindOf(err), kaiping.CodeOf(err), k, code)
	}
}

// ledgerAppend appends one entry in its own transaction and returns what Append returned.
func ledgerAppend(ctx context.Context, pool *pgxpool.Pool, l *ledger.Ledger) (ledger.Entry, error) {
	var e ledger.Entry
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var err error
		e, err = l.Append(ctx, tx, actor(1), "bid.submitted", "t", nil)
		return err
	})
	return e, err
}
