package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/storage/ledger"
)

func TestAppendRecordsWhoWhenWhereWhat(t *testing.T) {
	ctx := context.Background()
	pool := mustPool(t)
	s := mustSigner(t, ledger.AlgEd25519)
	v := mustVerifier(t, s)
	l := ledger.New(s, testOrigin)

	bidder := kaiping.Actor{
		Principal: "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f",
		Address:   netip.MustParseAddr("::1"),
		At:        t0,
	}
	tests := []struct {
		name   string
		actor  kaiping.Actor
		detail any
		want   ledger.Entry
	}{
		{"bidder with detail", bidder, map[string]any{"price": "1234567.89", "单位": "元"}, ledger.Entry{
			Seq: 0, At: time.Date(2026, 11, 21, 9, 30, 0, 123456000, time.UTC),
			Operator: string(bidder.Principal), Address: "::1", Action: "bid.submitted", Subject: "tender-1",
			Detail: []byte(`{"price":"1234567.89","单位":"元"}`),
		}},
		{"system without detail", kaiping.SystemActor(t0.Add(time.Second)), nil, ledger.Entry{
			Seq: 1, At: time.Date(2026, 11, 21, 9, 30, 1, 123456000, time.UTC),
			Operator: "system", Address: "", Action: "bid.submitted", Subject: "tender-1", Detail: []byte{},
		}},
		{"raw JSON kept byte for byte", bidder, []byte(`not json, base64 by encoding/json`), ledger.Entry{
			Seq: 2, At: time.Date(2026, 11, 21, 9, 30, 0, 123456000, time.UTC),
			Operator: string(bidder.Principal), Address: "::1", Action: "bid.submitted", Subject: "tender-1",
			Detail: []byte(`"bm90IGpzb24sIGJhc2U2NCBieSBlbmNvZGluZy9qc29u"`),
		}},
	}
	for _, tt := range tests {
		got := mustAppend(t, pool, l, tt.actor, "bid.submitted", "tender-1", tt.detail)
		if !sameEntry(got, tt.want) {
			t.Errorf("%s: Append = %+v, want %+v", tt.name, got, tt.want)
		}
		stored, err := l.ReadEntry(ctx, pool, got.Seq)
		if err != nil {
			t.Fatalf("%s: ReadEntry: %v", tt.name, err)
		}
		if !sameEntry(stored, tt.want) || !bytes.Equal(stored.LeafData(), got.LeafData()) {
			t.Errorf("%s: stored %+v, want %+v", tt.name, stored, tt.want)
		}
		if stored.At.Location() != time.UTC {
			t.Errorf("%s: stored time in %v, want UTC", tt.name, stored.At.Location())
		}
	}

	cp, err := l.Checkpoint(ctx, pool)
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	if cp.Size != 3 || cp.Origin != testOrigin || cp.Algorithm != ledger.AlgEd25519 || !cp.Time.Equal(tests[2].want.At) {
		t.Errorf("Checkpoint = %+v, want size 3 of %s at %v", cp, testOrigin, tests[2].want.At)
	}
	if err := cp.Verify(v); err != nil {
		t.Errorf("Checkpoint.Verify: %v", err)
	}
	rep := mustVerify(t, pool, v, 3)
	if rep.Root != cp.Root || rep.Checkpoint() != cp.Checkpoint || rep.Hashes == 0 {
		t.Errorf("Verify report %+v disagrees with checkpoint %+v", rep, cp)
	}
	for size := int64(1); size <= 3; size++ {
		c := mustCheckpointAt(t, pool, l, size)
		if c.Size != size || c.Verify(v) != nil {
			t.Errorf("CheckpointAt(%d) = %+v, does not verify", size, c)
		}
	}
	if _, err := l.CheckpointAt(ctx, pool, 4); !kaiping.IsKind(err, kaiping.KindNotFound) {
		t.Errorf("CheckpointAt(4) on a log of 3: %v, want not found", err)
	}
	if _, err := l.ReadEntry(ctx, pool, 3); !kaiping.IsKind(err, kaiping.KindNotFound) {
		t.Errorf("ReadEntry(3) on a log of 3: %v, want not found", err)
	}
}

func sameEntry(a, b ledger.Entry) bool {
	return a.Seq == b.Seq && a.At.Equal(b.At) && a.Operator == b.Operator && a.Address == b.Address &&
		a.Action == b.Action && a.Subject == b.Subject && bytes.Equal(a.Detail, b.Detail)
}

func TestEmptyLedger(t *testing.T) {
	ctx := context.Background()
	pool := mustPool(t)
	s := mustSigner(t, ledger.AlgEd25519)
	l := ledger.New(s, testOrigin)
	if _, err := l.Checkpoint(ctx, pool); !kaiping.IsKind(err, kaiping.KindNotFound) {
		t.Errorf("Checkpoint of an empty ledger: %v, want not found", err)
	}
	rep := mustVerify(t, pool, mustVerifier(t, s), 0)
	// RFC 6962: the empty tree's hash is SHA-256 of the empty string.
	if got := rep.Root.String(); got != "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" {
		t.Errorf("empty root %s, want SHA-256(\"\")", got)
	}
}

// The entry must commit or roll back with the caller's state change.
func TestAppendIsPartOfTheCallersTransaction(t *testing.T) {
	ctx := context.Background()
	pool := mustPool(t)
	s := mustSigner(t, ledger.AlgEd25519)
	v := mustVerifier(t, s)
	l := ledger.New(s, testOrigin)
	if _, err := pool.Exec(ctx, `CREATE TABLE bids (id text PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	submit := func(id string, fail bool) error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO bids (id) VALUES ($1)`, id); err != nil {
				return err
			}
			if _, err := l.Append(ctx, tx, actor(0), "bid.submitted", id, nil); err != nil {
				return err
			}
			if fail {
				return errors.New("deadline passed while writing")
			}
			return nil
		})
	}
	count := func(sql string) (n int) {
		t.Helper()
		if err := pool.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	if err := submit("rolled-back", true); err == nil {
		t.Fatal("submit: no error")
	}
	if b, e, h := count(`SELECT count(*) FROM bids`), count(`SELECT count(*) FROM ledger_entries`), count(`SELECT count(*) FROM ledger_hashes`); b+e+h != 0 {
		t.Fatalf("after rollback: %d bids, %d entries, %d hashes, want none", b, e, h)
	}
	mustVerify(t, pool, v, 0)

	if err := submit("committed", false); err != nil {
		t.Fatal(err)
	}
	if b, e := count(`SELECT count(*) FROM bids`), count(`SELECT count(*) FROM ledger_entries`); b != 1 || e != 1 {
		t.Fatalf("after commit: %d bids, %d entries, want 1 and 1", b, e)
	}
	e, err := l.ReadEntry(ctx, pool, 0)
	if err != nil || e.Subject != "committed" {
		t.Fatalf("entry 0 = %+v, %v; want the committed bid at seq 0 (the rolled-back append used no seq)", e, err)
	}
	mustVerify(t, pool, v, 1)
}

func TestConcurrentAppendsAreContiguous(t *testing.T) {
	ctx := context.Background()
	pool := mustPool(t)
	s := mustSigner(t, ledger.AlgEd25519)
	l := ledger.New(s, testOrigin)
	const n = 50
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seqs []int64
	)
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				e, err := l.Append(ctx, tx, actor(i), "seat.checked_in", string(kaiping.NewID()), map[string]int{"goroutine": i})
				if err != nil {
					return err
				}
				mu.Lock()
				seqs = append(seqs, e.Seq)
				mu.Unlock()
				return nil
			})
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Append: %v", err)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for i, seq := range seqs {
		if seq != int64(i) {
			t.Fatalf("seqs %v: want 0..%d each once", seqs, n-1)
		}
	}
	if len(seqs) != n {
		t.Fatalf("%d appends succeeded, want %d", len(seqs), n)
	}
	mustVerify(t, pool, mustVerifier(t, s), n)
}

func TestAppendRefusesMalformedEntries(t *testing.T) {
	ctx := context.Background()
	pool := mustPool(t)
	s := mustSigner(t, ledger.AlgEd25519)
	good := actor(0)
	tests := []struct {
		name    string
		origin  string
		actor   kaiping.Actor
		action  string
		subject string
		detail  any
		kind    kaiping.Kind
	}{
		{"zero time", testOrigin, kaiping.Actor{Principal: good.Principal}, "bid.submitted", "x", nil, kaiping.KindInternal},
		{"empty action", testOrigin, good, "", "x", nil, kaiping.KindInternal},
		{"invalid UTF-8", testOrigin, good, "bid.submitted", "\xff", nil, kaiping.KindInternal},
		{"NUL in text", testOrigin, good, "bid\x00submitted", "x", nil, kaiping.KindInternal},
		{"detail not JSON", testOrigin, good, "bid.submitted", "x", make(chan int), kaiping.KindInternal},
		{"detail too large", testOrigin, good, "bid.submitted", "x", string(make([]byte, 1<<20)), kaiping.KindInternal},
		{"origin with space", "ggzy example", good, "bid.submitted", "x", nil, kaiping.KindInvalid},
		{"origin with plus", "ggzy+ledger", good, "bid.submitted", "x", nil, kaiping.KindInvalid},
		{"empty origin", "", good, "bid.submitted", "x", nil, kaiping.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := ledger.New(s, tt.origin)
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				_, err := l.Append(ctx, tx, tt.actor, tt.action, tt.subject, tt.detail)
				return err
			})
			if err == nil || kaiping.KindOf(err) != tt.kind {
				t.Fatalf("Append: %v, want kind %v", err, tt.kind)
			}
		})
	}
	mustVerify(t, pool, mustVerifier(t, s), 0)
}

// The migration makes the tables append-only against honest mistakes; tamper_test.go shows
// that the signatures catch whoever gets past that.
func TestTablesAreAppendOnly(t *testing.T) {
	ctx := context.Background()
	pool := mustPool(t)
	l := ledger.New(mustSigner(t, ledger.AlgEd25519), testOrigin)
	mustFill(t, pool, l, 3)
	for _, sql := range []string{
		`UPDATE ledger_entries SET operator = 'someone else' WHERE seq = 1`,
		`DELETE FROM ledger_entries WHERE seq = 2`,
		`TRUNCATE ledger_entries CASCADE`,
		`UPDATE ledger_hashes SET hash = hash WHERE idx = 0`,
		`DELETE FROM ledger_hashes`,
		`TRUNCATE ledger_hashes`,
	} {
		if _, err := pool.Exec(ctx, sql); err == nil {
			t.Errorf("%s: allowed", sql)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM ledger_entries`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d entries (%v), want 3", n, err)
	}
}

// Under REPEATABLE READ the snapshot may predate the append lock; a concurrent append must
// then fail the transaction (for the caller to retry), never fork or skip.
func TestRepeatableReadAppendFailsRatherThanForks(t *testing.T) {
	ctx := context.Background()
	pool := mustPool(t)
	s := mustSigner(t, ledger.AlgEd25519)
	l := ledger.New(s, testOrigin)
	mustFill(t, pool, l, 2)

	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM ledger_entries`).Scan(&n); err != nil { // takes the snapshot
		t.Fatal(err)
	}
	mustAppend(t, pool, l, actor(5), "bid.withdrawn", "other", nil) // commits after that snapshot
	if _, err := l.Append(ctx, tx, actor(6), "bid.submitted", "stale", nil); err == nil {
		if err := tx.Commit(ctx); err == nil {
			t.Fatal("a stale REPEATABLE READ append committed")
		}
	}
	mustVerify(t, pool, mustVerifier(t, s), 3)
}
