package ledger

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// tree is the right edge of a Merkle tree of n leaves: the roots of its complete subtrees
// (at most log₂ n hashes). That is all tlog reads to add a leaf (StoredHashes) or to
// compute the tree head (TreeHash), so Append and Verify keep O(log n) hashes in memory
// however long the log grows.
type tree struct {
	n    int64
	edge map[int64]tlog.Hash // stored-hash index -> hash, exactly edgeIndexes(n)
}

func newTree() *tree { return &tree{edge: map[int64]tlog.Hash{}} }

// edgeIndexes returns the stored-hash indexes of the complete subtrees of a tree of n
// leaves, left to right: one per set bit of n, the largest first.
func edgeIndexes(n int64) []int64 {
	var idx []int64
	for level := 62; level >= 0; level-- {
		if n>>level&1 == 1 {
			idx = append(idx, tlog.StoredHashIndex(level, n>>level-1))
		}
	}
	return idx
}

// ReadHashes implements tlog.HashReader from the right edge. tlog asks for nothing else
// when appending or hashing the whole tree; anything else is a bug.
func (t *tree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := t.edge[x]
		if !ok {
			return nil, fmt.Errorf("ledger: hash %d is not on the right edge of a tree of %d", x, t.n)
		}
		out[i] = h
	}
	return out, nil
}

// add appends a leaf and returns the hashes tlog stores for it, which belong at stored-hash
// indexes tlog.StoredHashIndex(0, n) onwards (n being the size before the append).
func (t *tree) add(leaf tlog.Hash) ([]tlog.Hash, error) {
	stored, err := tlog.StoredHashesForRecordHash(t.n, leaf, t)
	if err != nil {
		return nil, err
	}
	base := tlog.StoredHashIndex(0, t.n)
	all := make(map[int64]tlog.Hash, len(t.edge)+len(stored))
	for x, h := range t.edge {
		all[x] = h
	}
	for i, h := range stored {
		all[base+int64(i)] = h
	}
	t.n++
	t.edge = make(map[int64]tlog.Hash, len(all))
	for _, x := range edgeIndexes(t.n) {
		h, ok := all[x]
		if !ok {
			return nil, fmt.Errorf("ledger: right edge of a tree of %d lacks hash %d", t.n, x)
		}
		t.edge[x] = h
	}
	return stored, nil
}

// root is the tree head (RFC 6962 Merkle tree hash) of the leaves added so far.
func (t *tree) root() (tlog.Hash, error) { return tlog.TreeHash(t.n, t) }

// dbHashes reads stored hashes from ledger_hashes, for proofs and to resume the right edge in
// Append. Missing or malformed rows are errors: tlog must never see a made-up hash.
func dbHashes(ctx context.Context, q Querier, indexes []int64) ([]tlog.Hash, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	rows, err := q.Query(ctx, `SELECT idx, hash FROM ledger_hashes WHERE idx = ANY($1)`, indexes)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	got := make(map[int64]tlog.Hash, len(indexes))
	for rows.Next() {
		var (
			x int64
			b []byte
		)
		if err := rows.Scan(&x, &b); err != nil {
			return nil, err
		}
		if len(b) != tlog.HashSize {
			return nil, fmt.Errorf("ledger_hashes row %d holds %d bytes, not a hash", x, len(b))
		}
		got[x] = tlog.Hash(b)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := got[x]
		if !ok {
			return nil, fmt.Errorf("ledger_hashes row %d is missing", x)
		}
		out[i] = h
	}
	return out, nil
}

// dbReader adapts dbHashes to tlog.HashReader, which takes no context.
func dbReader(ctx context.Context, q Querier) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) { return dbHashes(ctx, q, indexes) })
}
