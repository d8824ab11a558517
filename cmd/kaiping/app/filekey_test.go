package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
	"github.com/kaiping/kaiping/storage/kek"
	"github.com/kaiping/kaiping/storage/postgres"
)

// mustOpenedHall runs an opening in which three bidders hand in their file keys and every
// envelope decrypts, and returns the real file keys by envelope, as the bidders' tools
// unwrapped them.
func mustOpenedHall(t *testing.T) (*hallWorld, map[kaiping.ID][]byte) {
	t.Helper()
	w := mustHallWorld(t, 3, nil)
	for i, b := range w.bidders {
		w.mustSubmit(t, b, seal.Summary, summaryJSON(fmt.Sprint(1000000+i), 100))
	}
	w.mustSubmit(t, w.bidders[0], seal.Technical, bytes.Repeat([]byte("技术标"), 1000))
	w.sealNow(t)
	w.mustMove(t, opening.HallCheckingIn, 0)
	for _, b := range w.bidders {
		if err := w.checkIn(b); err != nil {
			t.Fatal(err)
		}
	}
	w.mustMove(t, opening.HallDecrypting, 30)
	keys := map[kaiping.ID][]byte{}
	for _, b := range w.bidders {
		for _, e := range w.headers(t, b) {
			keys[e.Envelope] = fileKey(t, b, e)
		}
		w.mustUnlockAll(t, b)
	}
	for _, b := range w.bidders {
		for _, e := range w.waitVerified(t, b).Envelopes {
			if e.State != opening.EnvDecrypted {
				t.Fatalf("%s's %s: %s", b.name, e.Kind, e.State)
			}
		}
	}
	if len(keys) != 4 {
		t.Fatalf("%d file keys, want 4", len(keys))
	}
	return w, keys
}

// assertNoPlainKeys reads every row and column of hall_envelopes with plain SQL, as a
// database dump would, and fails if any of the real file keys is in it: raw, in
// hexadecimal or in base64.
func assertNoPlainKeys(t *testing.T, ta *testApp, keys map[kaiping.ID][]byte) {
	t.Helper()
	rows, err := ta.DB.Pool.Query(context.Background(), `SELECT * FROM hall_envelopes`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
		values, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range values {
			var cell []byte
			switch v := v.(type) {
			case []byte:
				cell = v
			case string:
				cell = []byte(v)
			default:
				cell = fmt.Append(nil, v)
			}
			for env, key := range keys {
				for _, form := range [][]byte{key, []byte(hex.EncodeToString(key)), []byte(base64.StdEncoding.EncodeToString(key))} {
					if bytes.Contains(cell, form) {
						t.Errorf("the file key of envelope %s is in the clear in column %s", env, rows.FieldDescriptions()[i].Name)
					}
				}
			}
		}
	}
	if rows.Err() != nil || n == 0 {
		t.Fatalf("read %d rows: %v", n, rows.Err())
	}
}

// storedKeys reads the stored (wrapped) file keys by envelope.
func storedKeys(t *testing.T, ta *testApp) map[kaiping.ID][]byte {
	t.Helper()
	out := map[kaiping.ID][]byte{}
	rows, err := ta.DB.Pool.Query(context.Background(), `SELECT envelope_id, file_key_wrapped FROM hall_envelopes WHERE file_key_wrapped IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id kaiping.ID
		var w []byte
		if err := rows.Scan(&id, &w); err != nil {
			t.Fatal(err)
		}
		out[id] = w
	}
	return out
}

// ledgerActions counts the ledger entries of action whose detail names reason.
func ledgerActions(t *testing.T, ta *testApp, action, reason string) int {
	t.Helper()
	var n int
	if err := ta.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM ledger_entries
		WHERE action = $1 AND position($2::bytea IN detail) > 0`, action, []byte(reason)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFileKeysNotInTheClear: after an opening in which every bid decrypted, no file key is
// anywhere in hall_envelopes; each stored value unwraps, with the KEK, to the bidder's key
// for its own envelope only.
func TestFileKeysNotInTheClear(t *testing.T) {
	w, keys := mustOpenedHall(t)
	assertNoPlainKeys(t, w.ta, keys)
	stored := storedKeys(t, w.ta)
	if len(stored) != len(keys) {
		t.Fatalf("%d stored keys, want %d", len(stored), len(keys))
	}
	ctx := context.Background()
	var other kaiping.ID
	for env := range keys {
		other = env
	}
	for env, wrapped := range stored {
		if kekID, err := w.ta.KEK.KeyOf(wrapped); err != nil || kekID != "kek-1" {
			t.Errorf("envelope %s wrapped by %q, %v; want kek-1", env, kekID, err)
		}
		got, err := w.ta.KEK.Unwrap(ctx, env, wrapped)
		if err != nil || !bytes.Equal(got, keys[env]) {
			t.Errorf("envelope %s unwraps to another key, %v", env, err)
		}
		if env == other {
			continue
		}
		// A wrapped key copied onto another envelope's row does not unwrap there.
		if _, err := w.ta.KEK.Unwrap(ctx, other, wrapped); kaiping.CodeOf(err) != kek.CodeUnwrapFailed || !kaiping.IsKind(err, kaiping.KindInternal) {
			t.Errorf("envelope %s's key unwrapped as %s's: %v", env, other, err)
		}
	}
	// A plaintext key written straight into the table is refused.
	if _, err := w.ta.DB.Pool.Exec(ctx, `UPDATE hall_envelopes SET file_key_wrapped = $2 WHERE envelope_id = $1`,
		other, keys[other]); err == nil {
		t.Error("a 32-byte plaintext file key was accepted into file_key_wrapped")
	}
	if _, err := w.ta.DB.Pool.Exec(ctx, `UPDATE hall_envelopes SET file_key_legacy = $2 WHERE envelope_id = $1`,
		other, keys[other]); err == nil {
		t.Error("a plaintext file key was accepted into file_key_legacy")
	}
}

// TestFileKeyRotation: with a new KEK listed first and the old kept, kaiping kek rotate
// re-wraps every stored key under the new one (ledgered, once: a second run finds nothing),
// after which the old KEK can be removed and every key still unwraps; the old KEK alone
// opens none.
func TestFileKeyRotation(t *testing.T) {
	w, keys := mustOpenedHall(t)
	ctx := context.Background()
	dir := filepath.Dir(w.ta.setup.Config.KEK.KeyFiles[0])
	newFile, oldFile := filepath.Join(dir, "kek-2.key"), w.ta.setup.Config.KEK.KeyFiles[0]
	if err := kek.GenerateKeyFile(newFile); err != nil {
		t.Fatal(err)
	}
	ring := func(files ...string) *kek.Keyring {
		k, closeKEK, err := kek.Open(kek.Config{KeyFiles: files})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = closeKEK() })
		return k
	}
	store := postgres.NewOpeningStore(w.ta.DB, w.ta.Ledger)
	rotating := opening.NewFileKeys(store, ring(newFile, oldFile), w.ta.clock)
	for _, tc := range []struct {
		name string
		want int
	}{{"first run re-wraps all", len(keys)}, {"second run finds nothing", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := rotating.Rotate(ctx)
			if err != nil || r.Keys != tc.want || r.KEK != "kek-2" || r.Legacy != 0 {
				t.Fatalf("rotate: %+v, %v; want %d keys under kek-2", r, err, tc.want)
			}
		})
	}
	if n := ledgerActions(t, w.ta, "kek.rewrap", "kek-2"); n != 1 {
		t.Errorf("%d ledger entries for the rotation, want 1", n)
	}
	onlyNew, onlyOld := ring(newFile), ring(oldFile)
	for env, wrapped := range storedKeys(t, w.ta) {
		if got, err := onlyNew.Unwrap(ctx, env, wrapped); err != nil || !bytes.Equal(got, keys[env]) {
			t.Errorf("envelope %s after rotation, new KEK only: %v", env, err)
		}
		if _, err := onlyOld.Unwrap(ctx, env, wrapped); kaiping.CodeOf(err) != kek.CodeUnwrapFailed {
			t.Errorf("envelope %s after rotation still opens with the old KEK: %v", env, err)
		}
	}
	assertNoPlainKeys(t, w.ta, keys)
	w.ta.ledgerSize(t)
}

// TestFileKeyShredding: the keys of a tender are destroyed only once its archive period
// ended; then no key is left, the destruction is ledgered and cannot be undone.
func TestFileKeyShredding(t *testing.T) {
	w, keys := mustOpenedHall(t)
	ctx := context.Background()
	now := w.ta.clock.Now()
	for _, tc := range []struct {
		name   string
		before time.Time
		years  int
		code   string
		keys   int
	}{
		{"archive period not over", w.deadline.Add(time.Second), 15, "kek.archive_not_ended", 0},
		{"tenders before this one", w.deadline.Add(-time.Second), 0, "", 0},
		{"archive period over", now, 0, "", len(keys)},
		{"nothing left", now, 0, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := w.ta.FileKeys.ShredArchived(ctx, tc.before, tc.years)
			if tc.code == "" && err != nil || tc.code != "" && kaiping.CodeOf(err) != tc.code {
				t.Fatalf("shred: %v, want %q", err, tc.code)
			}
			if r.Keys != tc.keys {
				t.Errorf("destroyed %d keys, want %d", r.Keys, tc.keys)
			}
		})
	}
	if n := len(storedKeys(t, w.ta)); n != 0 {
		t.Errorf("%d keys left after shredding", n)
	}
	var destroyed int
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM hall_envelopes WHERE key_destroyed_at IS NOT NULL`).Scan(&destroyed); err != nil || destroyed != len(keys) {
		t.Errorf("%d envelopes marked destroyed, %v", destroyed, err)
	}
	if n := ledgerActions(t, w.ta, "kek.shred", opening.ShredArchiveEnded); n != 1 {
		t.Errorf("%d ledger entries for the shredding, want 1", n)
	}
	for env := range keys {
		wrapped, err := w.ta.KEK.Wrap(ctx, env, keys[env])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.ta.DB.Pool.Exec(ctx, `UPDATE hall_envelopes SET file_key_wrapped = $2 WHERE envelope_id = $1`, env, wrapped); err == nil {
			t.Errorf("a destroyed key of %s was written back", env)
		}
	}
	assertNoPlainKeys(t, w.ta, keys)
	w.ta.ledgerSize(t)
}

// TestLegacyFileKeysWrappedAtStart: keys an installation older than key wrapping stored in
// the clear (moved by migration 012 to file_key_legacy) are wrapped when the server starts,
// ledgered, and still open their envelopes.
func TestLegacyFileKeysWrappedAtStart(t *testing.T) {
	w, keys := mustOpenedHall(t)
	ctx := context.Background()
	// What migration 012 leaves of an older installation: the keys in the clear.
	tx, err := w.ta.DB.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `ALTER TABLE hall_envelopes DROP CONSTRAINT hall_envelopes_file_key_legacy_gone`); err != nil {
		t.Fatal(err)
	}
	for env, key := range keys {
		if _, err := tx.Exec(ctx, `UPDATE hall_envelopes SET file_key_legacy = $2, file_key_wrapped = NULL WHERE envelope_id = $1`, env, key); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Exec(ctx, `ALTER TABLE hall_envelopes ADD CONSTRAINT hall_envelopes_file_key_legacy_gone
		CHECK (file_key_legacy IS NULL) NOT VALID`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	restarted, err := New(ctx, w.ta.setup.Config, WithClock(w.ta.clock), WithLogger(w.ta.log))
	if err != nil {
		t.Fatal(err)
	}
	defer restarted.close()
	assertNoPlainKeys(t, w.ta, keys)
	stored := storedKeys(t, w.ta)
	for env, key := range keys {
		if got, err := restarted.KEK.Unwrap(ctx, env, stored[env]); err != nil || !bytes.Equal(got, key) {
			t.Errorf("envelope %s after start-up: %v", env, err)
		}
	}
	if n := ledgerActions(t, w.ta, "kek.rewrap", `"legacy":4`); n != 1 {
		t.Errorf("%d ledger entries for wrapping the legacy keys, want 1", n)
	}
	if r, err := restarted.FileKeys.WrapLegacy(ctx); err != nil || r.Keys != 0 {
		t.Errorf("a second start wrapped %+v, %v", r, err)
	}
}
