package ledger_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/storage/ledger"
)

// tamperLogSize is the size of the log each tampering case starts from.
const tamperLogSize = 10

// rootOf computes the tree head of entries independently of the package, with tlog and a
// slice of stored hashes: what an attacker rewriting root_hash columns would compute.
func rootOf(tb testing.TB, entries []ledger.Entry) tlog.Hash {
	tb.Helper()
	var stored []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, e := range entries {
		hs, err := tlog.StoredHashes(int64(i), e.LeafData(), r)
		if err != nil {
			tb.Fatal(err)
		}
		stored = append(stored, hs...)
	}
	root, err := tlog.TreeHash(int64(len(entries)), r)
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

// bytea renders b as a PostgreSQL bytea literal.
func bytea(b []byte) string { return fmt.Sprintf(`'\x%x'::bytea`, b) }

// copyRow is SQL inserting a copy of entry from's row under seq to, with root_hash and
// signature as given (SQL expressions), or copied when empty.
func copyRow(from, to int64, root, sig string) string {
	if root == "" {
		root = "root_hash"
	}
	if sig == "" {
		sig = "signature"
	}
	return fmt.Sprintf(`INSERT INTO ledger_entries
		SELECT %d, at, operator, address, action, subject, detail, %s, %s FROM ledger_entries WHERE seq = %d`, to, root, sig, from)
}

func TestVerifyNamesTheFirstTamperedEntry(t *testing.T) {
	tests := []struct {
		name    string
		attack  func(tb testing.TB, entries []ledger.Entry) []string
		seq     int64
		problem string
	}{
		{"edit at", sqls(`UPDATE ledger_entries SET at = at + interval '1 microsecond' WHERE seq = 4`),
			4, "signature does not match the recomputed tree head (row edited?)"},
		{"edit operator", sqls(`UPDATE ledger_entries SET operator = 'system' WHERE seq = 1`),
			1, "signature does not match"},
		{"edit address", sqls(`UPDATE ledger_entries SET address = '10.1.2.3' WHERE seq = 2`),
			2, "signature does not match"},
		{"edit action", sqls(`UPDATE ledger_entries SET action = 'bid.withdrawn' WHERE seq = 3`),
			3, "signature does not match"},
		{"edit subject", sqls(`UPDATE ledger_entries SET subject = 'another-tender' WHERE seq = 5`),
			5, "signature does not match"},
		{"edit detail", sqls(`UPDATE ledger_entries SET detail = convert_to('{"price":"1.00"}', 'UTF8') WHERE seq = 6`),
			6, "signature does not match"},
		{"append one byte to the first detail", sqls(`UPDATE ledger_entries SET detail = detail || '\x20'::bytea WHERE seq = 0`),
			0, "signature does not match"},
		{"edit root_hash", sqls(`UPDATE ledger_entries SET root_hash = (SELECT root_hash FROM ledger_entries WHERE seq = 6) WHERE seq = 7`),
			7, "root_hash differs from the recomputed tree head"},
		{"edit signature", sqls(`UPDATE ledger_entries SET signature = (SELECT signature FROM ledger_entries WHERE seq = 7) WHERE seq = 8`),
			8, "signature does not match"},
		{"edit seq", sqls(`UPDATE ledger_entries SET seq = 500 WHERE seq = 5`),
			5, "missing (deleted?)"},
		{"edit a row and recompute every root_hash", func(tb testing.TB, entries []ledger.Entry) []string {
			forged := append([]ledger.Entry(nil), entries...)
			forged[4].Operator = "system"
			out := []string{`UPDATE ledger_entries SET operator = 'system' WHERE seq = 4`}
			for i := 4; i < len(forged); i++ {
				root := rootOf(tb, forged[:i+1])
				out = append(out, fmt.Sprintf(`UPDATE ledger_entries SET root_hash = %s WHERE seq = %d`, bytea(root[:]), i))
			}
			return out
		}, 4, "signature does not match"},
		{"delete a middle row", sqls(`DELETE FROM ledger_entries WHERE seq = 5`),
			5, "missing (deleted?)"},
		{"delete a middle row and its hashes", sqls(
			`DELETE FROM ledger_entries WHERE seq = 5`,
			fmt.Sprintf(`DELETE FROM ledger_hashes WHERE idx >= %d AND idx < %d`, tlog.StoredHashIndex(0, 5), tlog.StoredHashCount(6))),
			5, "missing (deleted?)"},
		{"delete the first row", sqls(`DELETE FROM ledger_entries WHERE seq = 0`),
			0, "missing (deleted?)"},
		{"delete the last row but not its hashes", sqls(`DELETE FROM ledger_entries WHERE seq = 9`),
			9, "ledger_hashes still holds its hashes"},
		{"insert a forged row at the end", sqls(copyRow(9, 10, "", "")),
			10, "signature does not match"},
		{"insert a forged row with the right root_hash", func(tb testing.TB, entries []ledger.Entry) []string {
			forged := entries[9]
			forged.Seq = 10
			root := rootOf(tb, append(append([]ledger.Entry(nil), entries...), forged))
			return []string{copyRow(9, 10, bytea(root[:]), bytea(make([]byte, 64)))}
		}, 10, "signature does not match"},
		{"insert a forged row before the first", sqls(
			`ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_seq_check`,
			copyRow(0, -1, "", "")),
			-1, "out of sequence before entry 0"},
		{"insert a second row with a seq in use", sqls(
			`ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_pkey`,
			copyRow(3, 3, "", "")),
			3, "more than one row has this seq"},
		{"swap two rows", sqls(
			`UPDATE ledger_entries SET seq = 1000 WHERE seq = 2`,
			`UPDATE ledger_entries SET seq = 2 WHERE seq = 6`,
			`UPDATE ledger_entries SET seq = 6 WHERE seq = 1000`),
			2, "signature does not match"},
		{"swap two neighbours", sqls(
			`UPDATE ledger_entries SET seq = 1000 WHERE seq = 7`,
			`UPDATE ledger_entries SET seq = 7 WHERE seq = 8`,
			`UPDATE ledger_entries SET seq = 8 WHERE seq = 1000`),
			7, "signature does not match"},
		{"change a cached leaf hash", sqls(fmt.Sprintf(`UPDATE ledger_hashes SET hash = sha256('x') WHERE idx = %d`, tlog.StoredHashIndex(0, 4))),
			4, fmt.Sprintf("ledger_hashes row %d differs", tlog.StoredHashIndex(0, 4))},
		{"change a cached interior hash", sqls(fmt.Sprintf(`UPDATE ledger_hashes SET hash = sha256('x') WHERE idx = %d`, tlog.StoredHashIndex(1, 1))),
			3, fmt.Sprintf("ledger_hashes row %d differs", tlog.StoredHashIndex(1, 1))},
		{"delete a cached hash", sqls(fmt.Sprintf(`DELETE FROM ledger_hashes WHERE idx = %d`, tlog.StoredHashIndex(0, 7))),
			7, fmt.Sprintf("ledger_hashes row %d is missing", tlog.StoredHashIndex(0, 7))},
		{"add a cached hash beyond the log", sqls(fmt.Sprintf(`INSERT INTO ledger_hashes VALUES (%d, sha256('x'))`, tlog.StoredHashCount(tamperLogSize))),
			10, "missing, but ledger_hashes still holds its hashes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool, _, v, entries := mustTamperLog(t)
			tamper(t, pool, tt.attack(t, entries)...)
			rep, err := ledger.Verify(context.Background(), pool, v, testOrigin)
			wantEntryError(t, err, tt.seq, tt.problem)
			if want := max(tt.seq, 0); rep.Size != want {
				t.Errorf("report covers %d entries, want the %d before the bad one", rep.Size, want)
			}
		})
	}
}

// sqls returns an attack made of fixed statements.
func sqls(stmts ...string) func(testing.TB, []ledger.Entry) []string {
	return func(testing.TB, []ledger.Entry) []string { return stmts }
}

// mustTamperLog is a fresh log of tamperLogSize entries that verifies.
func mustTamperLog(tb testing.TB) (*pgxpool.Pool, *ledger.Ledger, ledger.Verifier, []ledger.Entry) {
	tb.Helper()
	pool := mustPool(tb)
	s := mustSigner(tb, ledger.AlgEd25519)
	l := ledger.New(s, testOrigin)
	entries := mustFill(tb, pool, l, tamperLogSize)
	v := mustVerifier(tb, s)
	mustVerify(tb, pool, v, tamperLogSize)
	return pool, l, v, entries
}

func TestVerifyWithTheWrongKeyOrOriginFailsAtTheFirstEntry(t *testing.T) {
	pool, _, _, _ := mustTamperLog(t)
	ctx := context.Background()
	other := mustVerifier(t, mustSigner(t, ledger.AlgEd25519))
	_, err := ledger.Verify(ctx, pool, other, testOrigin)
	wantEntryError(t, err, 0, "wrong public key")
	sm2 := mustVerifier(t, mustSigner(t, ledger.AlgSM2))
	_, err = ledger.Verify(ctx, pool, sm2, testOrigin)
	wantEntryError(t, err, 0, "wrong public key")

	s := mustSigner(t, ledger.AlgEd25519)
	pool2 := mustPool(t)
	mustFill(t, pool2, ledger.New(s, testOrigin), 2)
	_, err = ledger.Verify(ctx, pool2, mustVerifier(t, s), "another.example.gov.cn/ledger")
	wantEntryError(t, err, 0, "origin")
	_, err = ledger.Verify(ctx, pool2, mustVerifier(t, s), "not an origin")
	wantKind(t, err, kaiping.KindInvalid, "config.ledger_origin")
}

// Page boundaries must neither hide damage nor invent it.
func TestVerifyAcrossPages(t *testing.T) {
	ctx := context.Background()
	pool, _, v, _ := mustTamperLog(t)
	for _, page := range []int{1, 2, 3, 9, 10, 11} {
		rep, err := ledger.VerifyPaged(ctx, pool, v, testOrigin, page)
		if err != nil || rep.Size != tamperLogSize {
			t.Errorf("page size %d: %+v, %v; want %d entries", page, rep, err, tamperLogSize)
		}
	}
	tamper(t, pool, `DELETE FROM ledger_entries WHERE seq = 6`)
	for _, page := range []int{1, 2, 3, 6, 7} {
		_, err := ledger.VerifyPaged(ctx, pool, v, testOrigin, page)
		wantEntryError(t, err, 6, "missing (deleted?)")
	}

	pool, _, v, _ = mustTamperLog(t)
	tamper(t, pool, `UPDATE ledger_entries SET subject = '' WHERE seq = 3`)
	for _, page := range []int{1, 3, 4} {
		_, err := ledger.VerifyPaged(ctx, pool, v, testOrigin, page)
		wantEntryError(t, err, 3, "signature does not match")
	}
}

// Deleting the newest entries with their hashes and signatures leaves a log that verifies on
// its own; a checkpoint published before the deletion exposes it.
func TestVerifyAgainstAPublishedCheckpoint(t *testing.T) {
	ctx := context.Background()
	pool, l, v, _ := mustTamperLog(t)
	early := mustCheckpointAt(t, pool, l, 4)
	latest, err := l.Checkpoint(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, cp := range []ledger.SignedCheckpoint{early, latest} {
		rep, err := ledger.VerifyAgainst(ctx, pool, v, cp)
		if err != nil || rep.Size != tamperLogSize || rep.Against == nil || *rep.Against != cp.Checkpoint {
			t.Fatalf("VerifyAgainst(size %d) = %+v, %v; want the whole log, checked", cp.Size, rep, err)
		}
	}

	t.Run("a forged checkpoint", func(t *testing.T) {
		forged := latest
		forged.Size++
		_, err := ledger.VerifyAgainst(ctx, pool, v, forged)
		wantKind(t, err, kaiping.KindInvalid, "ledger.bad_checkpoint")
	})

	t.Run("a checkpoint of a rewritten log", func(t *testing.T) {
		// Someone holding the platform key built another history of the same length and
		// published its checkpoint: it verifies, but not against this log.
		other := mustPool(t)
		mustFill(t, other, l, tamperLogSize)
		rewritten := mustCheckpointAt(t, other, l, 5)
		_, err := ledger.VerifyAgainst(ctx, pool, v, rewritten)
		wantEntryError(t, err, 4, "differs from the published checkpoint")
	})

	t.Run("the tail deleted", func(t *testing.T) {
		tamper(t, pool,
			`DELETE FROM ledger_entries WHERE seq >= 8`,
			fmt.Sprintf(`DELETE FROM ledger_hashes WHERE idx >= %d`, tlog.StoredHashCount(8)))
		rep := mustVerify(t, pool, v, 8) // undetectable from the rows alone
		if _, err := ledger.VerifyAgainst(ctx, pool, v, early); err != nil {
			t.Errorf("VerifyAgainst(size 4) after deleting entries 8 and 9: %v", err)
		}
		rep, err := ledger.VerifyAgainst(ctx, pool, v, latest)
		wantEntryError(t, err, 8, "tail deleted")
		if rep.Size != 8 {
			t.Errorf("report covers %d entries, want 8", rep.Size)
		}
	})
}

// Append builds on ledger_hashes; it must refuse to build on a damaged cache rather than sign
// tree heads that Verify would later reject.
func TestAppendRefusesADamagedCache(t *testing.T) {
	ctx := context.Background()
	pool, l, v, _ := mustTamperLog(t)
	// The right edge of a tree of 10 is the subtrees [0,8) and [8,10).
	tamper(t, pool, fmt.Sprintf(`UPDATE ledger_hashes SET hash = sha256('x') WHERE idx = %d`, tlog.StoredHashIndex(1, 4)))
	_, err := ledgerAppend(ctx, pool, l)
	if !kaiping.IsKind(err, kaiping.KindInternal) {
		t.Fatalf("Append on a damaged cache: %v, want an internal error", err)
	}
	_, err = ledger.Verify(ctx, pool, v, testOrigin)
	wantEntryError(t, err, 9, "differs from the recomputed hash (cache damaged?)")
}
