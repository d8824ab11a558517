package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
)

// TestInTxRetriesDeadlock: two transactions lock two rows in opposite orders, so PostgreSQL
// kills one as a deadlock victim; InTx runs the victim again and both succeed.
func TestInTxRetriesDeadlock(t *testing.T) {
	db := mustDB(t)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `CREATE TABLE deadlock_pair (id int PRIMARY KEY, n int NOT NULL);
		INSERT INTO deadlock_pair VALUES (1, 0), (2, 0)`); err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	firstLocked := sync.WaitGroup{}
	firstLocked.Add(2)
	bump := func(first, second int) func(pgx.Tx) error {
		attempt := 0
		return func(tx pgx.Tx) error {
			runs.Add(1)
			attempt++
			if _, err := tx.Exec(ctx, `UPDATE deadlock_pair SET n = n + 1 WHERE id = $1`, first); err != nil {
				return err
			}
			if attempt == 1 {
				// Both hold their first row before either asks for its second.
				firstLocked.Done()
				firstLocked.Wait()
			}
			_, err := tx.Exec(ctx, `UPDATE deadlock_pair SET n = n + 1 WHERE id = $1`, second)
			return err
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = db.InTx(ctx, "test.a", bump(1, 2)) })
	wg.Go(func() { errs[1] = db.InTx(ctx, "test.b", bump(2, 1)) })
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("after a deadlock: %v, %v", errs[0], errs[1])
	}
	if runs.Load() < 3 {
		t.Errorf("%d runs: the deadlock victim was not run again", runs.Load())
	}
	var n1, n2 int
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT n FROM deadlock_pair WHERE id = 1), (SELECT n FROM deadlock_pair WHERE id = 2)`).Scan(&n1, &n2); err != nil || n1 != 2 || n2 != 2 {
		t.Errorf("rows %d, %d, %v: want both bumped twice, each exactly once per transaction", n1, n2, err)
	}
}

// TestTranslateLostConnection: a connection that fails (refused, reset, cut mid-answer as a
// pooled connection to a stopped server is) is the database being unavailable, 503, never
// an internal error; a statement's own failure is not.
func TestTranslateLostConnection(t *testing.T) {
	for name, err := range map[string]error{
		"cut mid-answer":  fmt.Errorf("failed to receive message: %w", io.ErrUnexpectedEOF),
		"reset":           &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)},
		"refused":         fmt.Errorf("dial: %w", syscall.ECONNREFUSED),
		"closed":          fmt.Errorf("write: %w", net.ErrClosed),
		"deadline passed": context.DeadlineExceeded,
	} {
		if k := kaiping.KindOf(translate("op", err)); k != kaiping.KindUnavailable {
			t.Errorf("%s: kind %v, want unavailable", name, k)
		}
	}
	if k := kaiping.KindOf(translate("op", errors.New("syntax error at or near"))); k != kaiping.KindInternal {
		t.Errorf("a statement's error: kind %v, want internal", k)
	}
}
