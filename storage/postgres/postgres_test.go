package postgres

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/internal/devenv"
)

func TestMain(m *testing.M) { devenv.Main(m, devenv.NeedPostgres) }

func mustDB(tb testing.TB) *DB {
	tb.Helper()
	url := devenv.Database(tb)
	if _, err := Migrate(context.Background(), url); err != nil {
		tb.Fatal(err)
	}
	db, err := Open(context.Background(), url, 10)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.Close)
	return db
}

// TestMigrateConcurrently starts four migrations of one empty database at once: tern's
// advisory lock must let exactly one apply each step, and all must end at the same version.
func TestMigrateConcurrently(t *testing.T) {
	url := devenv.Database(t)
	var wg sync.WaitGroup
	versions := make([]int32, 4)
	errs := make([]error, 4)
	for i := range versions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			versions[i], errs[i] = Migrate(context.Background(), url)
		}()
	}
	wg.Wait()
	for i := range versions {
		if errs[i] != nil || versions[i] != versions[0] || versions[0] < 2 {
			t.Fatalf("migration %d: version %d, err %v (first reached %d)", i, versions[i], errs[i], versions[0])
		}
	}
	// And again: nothing left to do.
	if v, err := Migrate(context.Background(), url); err != nil || v != versions[0] {
		t.Fatalf("second migrate: %d, %v", v, err)
	}
}

func TestTranslate(t *testing.T) {
	db := mustDB(t)
	ctx := context.Background()
	_, err := db.Pool.Exec(ctx, `CREATE TABLE t (id int PRIMARY KEY, n int CHECK (n > 0), ref int REFERENCES t (id))`)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(sql string) error {
		return db.InTx(ctx, "test", func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, sql)
			return err
		})
	}
	if err := exec(`INSERT INTO t VALUES (1, 1, NULL)`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		kind kaiping.Kind
		code string
	}{
		{"unique", exec(`INSERT INTO t VALUES (1, 1, NULL)`), kaiping.KindConflict, "duplicate"},
		{"check", exec(`INSERT INTO t VALUES (2, -1, NULL)`), kaiping.KindInvalid, "invalid"},
		{"foreign key", exec(`INSERT INTO t VALUES (3, 1, 99)`), kaiping.KindInvalid, "reference"},
		{"no rows", db.InTx(ctx, "test", func(tx pgx.Tx) error {
			var n int
			return tx.QueryRow(ctx, `SELECT n FROM t WHERE id = 42`).Scan(&n)
		}), kaiping.KindNotFound, "not_found"},
		{"domain error passes through", db.InTx(ctx, "test", func(pgx.Tx) error {
			return kaiping.E(kaiping.KindTooLate, "bid.late", "已截止")
		}), kaiping.KindTooLate, "bid.late"},
		{"syntax error is internal", exec(`SELEC 1`), kaiping.KindInternal, "internal"},
	}
	for _, tt := range tests {
		if kaiping.KindOf(tt.err) != tt.kind || kaiping.CodeOf(tt.err) != tt.code {
			t.Errorf("%s: %v → kind %s code %s, want %s %s", tt.name, tt.err, kaiping.KindOf(tt.err), kaiping.CodeOf(tt.err), tt.kind, tt.code)
		}
	}
	// The failed transactions left nothing behind.
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 1 {
		t.Errorf("rows = %d, %v; want only the first", n, err)
	}
}

func TestOpenUnreachable(t *testing.T) {
	start := time.Now()
	_, err := Open(context.Background(), "postgres://postgres@127.0.0.1:1/x?connect_timeout=2", 1)
	if kaiping.KindOf(err) != kaiping.KindUnavailable || kaiping.CodeOf(err) != "database_unavailable" {
		t.Fatalf("err = %v, want database_unavailable", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %s to give up", time.Since(start))
	}
	if _, err := Open(context.Background(), "not a url ::", 1); kaiping.CodeOf(err) != "config.database_url" {
		t.Errorf("bad URL: %v", err)
	}
}
