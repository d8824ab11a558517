// Package ledger is Kaiping's audit ledger (审计日志): an append-only log of every state
// change — who (operator), when, from which network address, what (action, subject, detail) —
// kept in PostgreSQL as a Merkle tree with RFC 6962 hashing (golang.org/x/mod/sumdb/tlog).
//
// Entries are appended inside the caller's transaction, so a state change and its entry
// commit or roll back together. After every append the tree head is signed by the platform
// key (Ed25519 by default, SM2 as an option) and the signature is stored with the entry:
// editing, deleting, inserting or reordering rows breaks a signature that nobody without the
// key can redo, and Verify finds and names the first such entry.
//
// One attack the rows alone cannot reveal: deleting the newest entries together with their
// signatures leaves a shorter log that verifies. It shows only against a checkpoint published
// earlier — the receipts the platform hands out carry one — and VerifyAgainst checks the log
// against such a checkpoint. Inclusion and consistency proofs let anyone holding a receipt
// check it offline (VerifyInclusion, VerifyConsistency).
//
// Tables (storage/postgres/migrations/001_ledger.sql): ledger_entries holds the entries with
// the tree head and signature after each; ledger_hashes holds tlog's stored hashes, a cache
// derived from the entries that makes proofs cheap and that Verify re-derives and compares.
package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/kaiping/kaiping"
)

// Querier is what reading the ledger needs: a *pgxpool.Pool, a *pgx.Conn or a pgx.Tx.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// appendLock is the key of the transaction-level advisory lock that serializes appends
// ("kaipledg" in ASCII; tern's migration lock uses a different key).
const appendLock int64 = 0x6b6169706c656467

// Ledger appends to the audit ledger and proves what it holds. It keeps no state of its own
// (the database is the state), so one Ledger serves every request and every replica.
type Ledger struct {
	signer Signer
	origin string
}

// New returns a ledger that signs checkpoints with signer under origin, the log's name in
// every checkpoint (C2SP style: a schema-less URL such as "ggzy.example.gov.cn/kaiping/ledger",
// no spaces or '+'). An invalid origin makes every Append fail with KindInvalid.
func New(signer Signer, origin string) *Ledger {
	return &Ledger{signer: signer, origin: origin}
}

// Origin is the log's name in its checkpoints.
func (l *Ledger) Origin() string { return l.origin }

// PublicKeyPEM is the platform public key checkpoints verify against, as a PKIX PEM block:
// what the centre publishes and bidders check their receipts with.
func (l *Ledger) PublicKeyPEM() ([]byte, error) { return l.signer.PublicKeyPEM() }

// Append records that actor a did action to subject, within tx: the entry commits or rolls
// back with the caller's state change. detail is marshalled with encoding/json (nil means no
// detail) and stored byte for byte.
//
// Appends are serialized by a transaction-level advisory lock taken first, held until tx
// ends, so seqs never repeat or skip however many transactions append at once. Because the
// lock is held to commit, call Append last, just before committing. With REPEATABLE READ or
// SERIALIZABLE the snapshot may predate the lock; an append that raced another then fails
// on the primary key or with a serialization error (KindConflict once storage/postgres
// translates it) rather than fork the log, and the caller retries.
//
// a.At must be set (the injected clock's time); it is truncated to microseconds.
func (l *Ledger) Append(ctx context.Context, tx pgx.Tx, a kaiping.Actor, action, subject string, detail any) (Entry, error) {
	const op = "ledger.Append"
	if l.signer == nil {
		return Entry{}, kaiping.Internal(op, errors.New("no signer"))
	}
	if err := checkOrigin(l.origin); err != nil {
		return Entry{}, &kaiping.Error{Kind: kaiping.KindInvalid, Code: "config.ledger_origin",
			Message: "审计日志名称 (ledger origin) 格式错误", Op: op, Err: err}
	}
	e := Entry{
		At:       a.At.UTC().Truncate(time.Microsecond),
		Operator: a.Operator(),
		Action:   action,
		Subject:  subject,
		Detail:   []byte{},
	}
	if a.Address.IsValid() {
		e.Address = a.Address.String()
	}
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return Entry{}, kaiping.Internal(op, fmt.Errorf("marshal detail of %s: %w", action, err))
		}
		e.Detail = b
	}
	// A malformed entry is the calling code's bug (actions and subjects come from code, the
	// time from the clock), not the user's input.
	if err := e.check(); err != nil {
		return Entry{}, kaiping.Internal(op, err)
	}

	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, appendLock); err != nil {
		return Entry{}, fmt.Errorf("%s: lock: %w", op, err)
	}
	// A new statement, so under READ COMMITTED its snapshot includes every append that
	// committed before we got the lock.
	var last tlog.Hash
	var lastRoot []byte
	err := tx.QueryRow(ctx, `SELECT seq + 1, root_hash FROM ledger_entries ORDER BY seq DESC LIMIT 1`).Scan(&e.Seq, &lastRoot)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Entry{}, fmt.Errorf("%s: read tree head: %w", op, err)
	}
	copy(last[:], lastRoot)

	t := newTree()
	if e.Seq > 0 {
		// Resume the right edge from the cache, and check it against the signed head first:
		// building on a damaged cache would sign wrong heads from here on.
		idx := edgeIndexes(e.Seq)
		hs, err := dbHashes(ctx, tx, idx)
		if err != nil {
			return Entry{}, fmt.Errorf("%s: read right edge: %w", op, err)
		}
		t.n = e.Seq
		for i, x := range idx {
			t.edge[x] = hs[i]
		}
		root, err := t.root()
		if err != nil {
			return Entry{}, kaiping.Internal(op, err)
		}
		if len(lastRoot) != tlog.HashSize || root != last {
			return Entry{}, kaiping.Internal(op, fmt.Errorf("ledger_hashes disagrees with the tree head of entry %d (run ledger verify)", e.Seq-1))
		}
	}
	stored, err := t.add(e.LeafHash())
	if err != nil {
		return Entry{}, kaiping.Internal(op, err)
	}
	root, err := t.root()
	if err != nil {
		return Entry{}, kaiping.Internal(op, err)
	}
	cp := Checkpoint{Origin: l.origin, Size: e.Seq + 1, Root: root, Time: e.At}
	sig, err := l.signer.Sign(cp.Text())
	if err != nil {
		return Entry{}, fmt.Errorf("%s: sign checkpoint: %w", op, err)
	}

	base := tlog.StoredHashIndex(0, e.Seq)
	idx := make([]int64, len(stored))
	hashes := make([][]byte, len(stored))
	for i := range stored {
		idx[i] = base + int64(i)
		hashes[i] = stored[i][:]
	}
	_, err = tx.Exec(ctx, `
		WITH entry AS (
			INSERT INTO ledger_entries (seq, at, operator, address, action, subject, detail, root_hash, signature)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		)
		INSERT INTO ledger_hashes (idx, hash) SELECT * FROM unnest($10::bigint[], $11::bytea[])`,
		e.Seq, e.At, e.Operator, e.Address, e.Action, e.Subject, e.Detail, root[:], sig, idx, hashes)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: insert entry %d: %w", op, e.Seq, err)
	}
	return e, nil
}

// Checkpoint returns the latest signed checkpoint, as stored with the newest entry. An empty
// ledger has none: KindNotFound.
func (l *Ledger) Checkpoint(ctx context.Context, q Querier) (SignedCheckpoint, error) {
	return l.checkpoint(ctx, q, "ledger.Checkpoint",
		`SELECT seq, at, root_hash, signature FROM ledger_entries ORDER BY seq DESC LIMIT 1`)
}

// CheckpointAt returns the signed checkpoint of the tree of the first size entries, the one
// stored with entry size-1: what a receipt for that entry carries. Call it in the appending
// transaction right after Append (size = entry.Seq+1) to get the entry's own checkpoint.
func (l *Ledger) CheckpointAt(ctx context.Context, q Querier, size int64) (SignedCheckpoint, error) {
	return l.checkpoint(ctx, q, "ledger.CheckpointAt",
		`SELECT seq, at, root_hash, signature FROM ledger_entries WHERE seq = $1 - 1`, size)
}

func (l *Ledger) checkpoint(ctx context.Context, q Querier, op, sql string, args ...any) (SignedCheckpoint, error) {
	var (
		seq       int64
		at        time.Time
		root, sig []byte
	)
	if err := q.QueryRow(ctx, sql, args...).Scan(&seq, &at, &root, &sig); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return SignedCheckpoint{}, &kaiping.Error{Kind: kaiping.KindNotFound, Code: "ledger.no_checkpoint",
				Message: "审计日志中没有该检查点", Op: op, Err: err}
		}
		return SignedCheckpoint{}, fmt.Errorf("%s: %w", op, err)
	}
	if len(root) != tlog.HashSize {
		return SignedCheckpoint{}, kaiping.Internal(op, fmt.Errorf("entry %d: root_hash is %d bytes", seq, len(root)))
	}
	return SignedCheckpoint{
		Checkpoint: Checkpoint{Origin: l.origin, Size: seq + 1, Root: tlog.Hash(root), Time: at.UTC()},
		Algorithm:  l.algorithm(),
		Signature:  sig,
	}, nil
}

// ReadEntry returns entry seq as stored. A missing entry is KindNotFound.
func (l *Ledger) ReadEntry(ctx context.Context, q Querier, seq int64) (Entry, error) {
	const op = "ledger.ReadEntry"
	e := Entry{Seq: seq}
	err := q.QueryRow(ctx, `SELECT at, operator, address, action, subject, detail FROM ledger_entries WHERE seq = $1`, seq).
		Scan(&e.At, &e.Operator, &e.Address, &e.Action, &e.Subject, &e.Detail)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return Entry{}, &kaiping.Error{Kind: kaiping.KindNotFound, Code: "ledger.no_entry",
				Message: fmt.Sprintf("审计日志第 %d 条记录不存在", seq), Op: op, Err: err}
		}
		return Entry{}, fmt.Errorf("%s %d: %w", op, seq, err)
	}
	e.At = e.At.UTC()
	return e, nil
}

// algorithm is the signer's algorithm, empty without a signer (a read-only Ledger).
func (l *Ledger) algorithm() string {
	if l.signer == nil {
		return ""
	}
	return l.signer.Algorithm()
}
