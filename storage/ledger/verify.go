package ledger

import (
	"context"
	"fmt"
	"math"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/kaiping/kaiping"
)

// Report is what a verification established.
type Report struct {
	// Origin is the log's name the checkpoints were rebuilt with.
	Origin string `json:"origin"`
	// Size counts the entries that verified, 0 to Size-1. When verification fails, the
	// entry named in the error is entry Size.
	Size int64 `json:"size"`
	// Root is the tree head recomputed from those entries' rows.
	Root tlog.Hash `json:"root"`
	// Time is the At of entry Size-1.
	Time time.Time `json:"time"`
	// Hashes counts the ledger_hashes rows found equal to the recomputed hashes.
	Hashes int64 `json:"hashes"`
	// Against is the published checkpoint the log was checked against (VerifyAgainst).
	Against *Checkpoint `json:"against,omitempty"`
}

// Checkpoint is the recomputed tree head of the verified entries.
func (r Report) Checkpoint() Checkpoint {
	return Checkpoint{Origin: r.Origin, Size: r.Size, Root: r.Root, Time: r.Time}
}

// EntryError names the first entry that failed verification and what is wrong with it. It
// is the Err of the *kaiping.Error (KindInvalid, code "ledger.tampered") that Verify and
// VerifyAgainst return; find it with errors.As.
type EntryError struct {
	Seq     int64
	Problem string
}

func (e *EntryError) Error() string { return fmt.Sprintf("entry %d: %s", e.Seq, e.Problem) }

// verifyPageSize is how many entries Verify reads per query: enough to keep round trips
// few, few enough to keep memory flat on a log of millions.
const verifyPageSize = 1000

// Verify checks the whole ledger from the entry rows alone, trusting neither the root_hash
// column nor ledger_hashes: it checks that seqs run from 0 without gaps or duplicates,
// recomputes every leaf and the tree head after every entry, checks that each entry's
// signature (by v's key) matches the recomputed checkpoint and that its stored root_hash
// equals the recomputed head, and finally that ledger_hashes, a cache, holds exactly the
// recomputed hashes.
//
// On failure the error is KindInvalid with code "ledger.tampered" and an *EntryError naming
// the first bad entry, e.g. "entry 17: signature does not match the recomputed tree head
// (row edited?)"; the report covers the entries before it. Database errors are returned
// wrapped, not as tampering.
//
// Rows deleted from the end together with their hashes leave a shorter log that verifies:
// only VerifyAgainst, given a checkpoint published before, detects that.
//
// q may be a pool; appends committed while Verify runs are verified too if it reaches them.
// For one consistent snapshot pass a REPEATABLE READ transaction. This backs
// `kaiping ledger verify`.
func Verify(ctx context.Context, q Querier, v Verifier, origin string) (Report, error) {
	return verify(ctx, q, v, origin, nil, verifyPageSize, "ledger.Verify")
}

// VerifyAgainst is Verify plus a check against a checkpoint the platform published earlier
// (in a receipt, on a notice board): its signature must verify with v, the log must hold at
// least published.Size entries, and the recomputed tree head at that size must equal the
// published one. This is what detects deleting the newest entries together with their
// signatures: the published checkpoint still commits to them.
func VerifyAgainst(ctx context.Context, q Querier, v Verifier, published SignedCheckpoint) (Report, error) {
	const op = "ledger.VerifyAgainst"
	if err := published.Verify(v); err != nil {
		return Report{Origin: published.Origin}, &kaiping.Error{Kind: kaiping.KindInvalid, Code: "ledger.bad_checkpoint",
			Message: "待比对的审计日志检查点签名无效", Op: op, Err: err}
	}
	cp := published.Checkpoint
	return verify(ctx, q, v, cp.Origin, &cp, verifyPageSize, op)
}

// row is one ledger_entries row as Verify reads it.
type row struct {
	e         Entry
	root, sig []byte
}

func verify(ctx context.Context, q Querier, v Verifier, origin string, published *Checkpoint, pageSize int, op string) (Report, error) {
	rep := Report{Origin: origin, Against: published}
	if err := checkOrigin(origin); err != nil {
		return rep, &kaiping.Error{Kind: kaiping.KindInvalid, Code: "config.ledger_origin",
			Message: "审计日志名称 (ledger origin) 格式错误", Op: op, Err: err}
	}
	t := newTree()
	var err error
	if rep.Root, err = t.root(); err != nil { // the empty tree's head, SHA-256("")
		return rep, kaiping.Internal(op, err)
	}
	fail := func(seq int64, format string, args ...any) (Report, error) {
		return rep, &kaiping.Error{Kind: kaiping.KindInvalid, Code: "ledger.tampered",
			Message: fmt.Sprintf("审计日志校验失败：第 %d 条记录异常", seq), Op: op,
			Err: &EntryError{Seq: seq, Problem: fmt.Sprintf(format, args...)}}
	}

	// A duplicate seq needs a dropped primary key, but whoever can drop it can insert them;
	// find the first now so the page loop can report it in order.
	var dup *int64
	if err := q.QueryRow(ctx, `SELECT min(seq) FROM (SELECT seq FROM ledger_entries GROUP BY seq HAVING count(*) > 1) d`).Scan(&dup); err != nil {
		return rep, fmt.Errorf("%s: %w", op, err)
	}

	from := int64(math.MinInt64) // the first page starts below 0, to catch forged negative seqs
	for {
		rows, err := readPage(ctx, q, from, pageSize)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", op, err)
		}
		if len(rows) == 0 {
			// The end, unless the cache holds hashes beyond it. Those may belong to entries
			// appended since the page was read (entries and hashes commit together), so look
			// again before calling them a deleted tail.
			extra, err := firstExtraHash(ctx, q, rep.Size)
			if err != nil {
				return rep, fmt.Errorf("%s: %w", op, err)
			}
			if extra == nil {
				break
			}
			if more, err := readPage(ctx, q, rep.Size, 1); err != nil {
				return rep, fmt.Errorf("%s: %w", op, err)
			} else if len(more) == 0 {
				return fail(rep.Size, "missing, but ledger_hashes still holds its hashes from row %d on (tail deleted?)", *extra)
			}
			from = rep.Size
			continue
		}
		cache, err := readCache(ctx, q, tlog.StoredHashIndex(0, rep.Size), tlog.StoredHashCount(rep.Size+int64(len(rows))))
		if err != nil {
			return rep, fmt.Errorf("%s: %w", op, err)
		}
		for _, r := range rows {
			seq := rep.Size
			switch {
			case r.e.Seq > seq:
				return fail(seq, "missing (deleted?)")
			case r.e.Seq < seq:
				return fail(r.e.Seq, "out of sequence before entry %d (forged row?)", seq)
			case dup != nil && *dup == seq:
				return fail(seq, "more than one row has this seq (forged row?)")
			}
			stored, err := t.add(r.e.LeafHash())
			if err != nil {
				return rep, kaiping.Internal(op, err)
			}
			root, err := t.root()
			if err != nil {
				return rep, kaiping.Internal(op, err)
			}
			cp := Checkpoint{Origin: origin, Size: seq + 1, Root: root, Time: r.e.At}
			if !v.Verify(cp.Text(), r.sig) {
				if seq == 0 {
					return fail(seq, "signature does not match the recomputed tree head (row edited, or the wrong public key or origin?)")
				}
				return fail(seq, "signature does not match the recomputed tree head (row edited?)")
			}
			if len(r.root) != tlog.HashSize || tlog.Hash(r.root) != root {
				return fail(seq, "root_hash differs from the recomputed tree head (root_hash edited?)")
			}
			base := tlog.StoredHashIndex(0, seq)
			for i, h := range stored {
				x := base + int64(i)
				c, ok := cache[x]
				switch {
				case !ok:
					return fail(seq, "ledger_hashes row %d is missing (cache damaged?)", x)
				case c != h:
					return fail(seq, "ledger_hashes row %d differs from the recomputed hash (cache damaged?)", x)
				}
				rep.Hashes++
			}
			if published != nil && cp.Size == published.Size {
				if root != published.Root || !r.e.At.Equal(published.Time) {
					return fail(seq, "the tree head of the first %d entries differs from the published checkpoint (log rewritten?)", cp.Size)
				}
			}
			rep.Size, rep.Root, rep.Time = cp.Size, root, r.e.At
		}
		from = rep.Size
	}
	if published != nil && rep.Size < published.Size {
		return fail(rep.Size, "missing: the published checkpoint covers %d entries, the log ends before this one (tail deleted?)", published.Size)
	}
	return rep, nil
}

// readPage reads up to limit entry rows with seq ≥ from, in seq order.
func readPage(ctx context.Context, q Querier, from int64, limit int) ([]row, error) {
	rows, err := q.Query(ctx, `
		SELECT seq, at, operator, address, action, subject, detail, root_hash, signature
		FROM ledger_entries WHERE seq >= $1 ORDER BY seq LIMIT $2`, from, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var page []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.e.Seq, &r.e.At, &r.e.Operator, &r.e.Address, &r.e.Action, &r.e.Subject, &r.e.Detail, &r.root, &r.sig); err != nil {
			return nil, err
		}
		r.e.At = r.e.At.UTC()
		page = append(page, r)
	}
	return page, rows.Err()
}

// readCache reads the ledger_hashes rows with lo ≤ idx < hi. Rows that are not hashes
// (wrong length) are left out, so they count as missing.
func readCache(ctx context.Context, q Querier, lo, hi int64) (map[int64]tlog.Hash, error) {
	rows, err := q.Query(ctx, `SELECT idx, hash FROM ledger_hashes WHERE idx >= $1 AND idx < $2`, lo, hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cache := make(map[int64]tlog.Hash, hi-lo)
	for rows.Next() {
		var (
			x int64
			b []byte
		)
		if err := rows.Scan(&x, &b); err != nil {
			return nil, err
		}
		if len(b) == tlog.HashSize {
			cache[x] = tlog.Hash(b)
		}
	}
	return cache, rows.Err()
}

// firstExtraHash returns the lowest ledger_hashes index that a log of size entries does not
// have, or nil if there is none.
func firstExtraHash(ctx context.Context, q Querier, size int64) (*int64, error) {
	var x *int64
	err := q.QueryRow(ctx, `SELECT min(idx) FROM ledger_hashes WHERE idx >= $1 OR idx < 0`, tlog.StoredHashCount(size)).Scan(&x)
	return x, err
}
