package ledger

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/kaiping/kaiping"
)

// InclusionProof shows that entry Seq is in the tree of the first Size entries (RFC 6962
// audit path). With the signed checkpoint of that size and the entry's LeafData, anyone can
// check it offline with VerifyInclusion.
type InclusionProof struct {
	Seq    int64            `json:"seq"`
	Size   int64            `json:"size"`
	Hashes tlog.RecordProof `json:"hashes"`
}

// ConsistencyProof shows that the tree of NewSize entries extends the tree of OldSize
// entries unchanged (RFC 6962 consistency proof): nothing in the older log was altered or
// removed. Check it offline with VerifyConsistency.
type ConsistencyProof struct {
	OldSize int64          `json:"old_size"`
	NewSize int64          `json:"new_size"`
	Hashes  tlog.TreeProof `json:"hashes"`
}

// ProveInclusion proves that entry seq is in the tree of the first size entries
// (seq < size ≤ the ledger's size; otherwise KindInvalid). The proof is checked against the
// stored tree head before it is returned, so a damaged hash cache is an internal error here,
// not a bad receipt later.
func (l *Ledger) ProveInclusion(ctx context.Context, q Querier, seq, size int64) (InclusionProof, error) {
	const op = "ledger.ProveInclusion"
	if seq < 0 || seq >= size {
		return InclusionProof{}, outOfRange(op, fmt.Errorf("entry %d is not in a tree of %d", seq, size))
	}
	head, err := l.CheckpointAt(ctx, q, size)
	if err != nil {
		return InclusionProof{}, notInLog(op, size, err)
	}
	r := dbReader(ctx, q)
	p, err := tlog.ProveRecord(size, seq, r)
	if err != nil {
		return InclusionProof{}, fmt.Errorf("%s: %w", op, err)
	}
	leaf, err := r.ReadHashes([]int64{tlog.StoredHashIndex(0, seq)})
	if err != nil {
		return InclusionProof{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := tlog.CheckRecord(p, size, head.Root, seq, leaf[0]); err != nil {
		return InclusionProof{}, kaiping.Internal(op, fmt.Errorf("proof of entry %d in %d fails against the stored head (run ledger verify): %w", seq, size, err))
	}
	return InclusionProof{Seq: seq, Size: size, Hashes: p}, nil
}

// ProveConsistency proves that the tree of newSize entries extends the tree of oldSize
// entries (1 ≤ oldSize ≤ newSize ≤ the ledger's size; otherwise KindInvalid).
func (l *Ledger) ProveConsistency(ctx context.Context, q Querier, oldSize, newSize int64) (ConsistencyProof, error) {
	const op = "ledger.ProveConsistency"
	if oldSize < 1 || oldSize > newSize {
		return ConsistencyProof{}, outOfRange(op, fmt.Errorf("cannot prove size %d against size %d", oldSize, newSize))
	}
	older, err := l.CheckpointAt(ctx, q, oldSize)
	if err != nil {
		return ConsistencyProof{}, notInLog(op, oldSize, err)
	}
	newer, err := l.CheckpointAt(ctx, q, newSize)
	if err != nil {
		return ConsistencyProof{}, notInLog(op, newSize, err)
	}
	p, err := tlog.ProveTree(newSize, oldSize, dbReader(ctx, q))
	if err != nil {
		return ConsistencyProof{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := tlog.CheckTree(p, newSize, newer.Root, oldSize, older.Root); err != nil {
		return ConsistencyProof{}, kaiping.Internal(op, fmt.Errorf("proof of %d in %d fails against the stored heads (run ledger verify): %w", oldSize, newSize, err))
	}
	return ConsistencyProof{OldSize: oldSize, NewSize: newSize, Hashes: p}, nil
}

// VerifyInclusion checks offline that leaf (an entry's LeafData) is entry p.Seq of the tree
// that cp describes. It does not check cp's signature: do that first with
// SignedCheckpoint.Verify. Any mismatch is KindInvalid.
func VerifyInclusion(p InclusionProof, cp Checkpoint, leaf []byte) error {
	const op = "ledger.VerifyInclusion"
	if p.Size != cp.Size {
		return badProof(op, fmt.Errorf("proof is for a tree of %d, checkpoint is of %d", p.Size, cp.Size))
	}
	e, err := parseLeaf(leaf)
	if err != nil {
		return badProof(op, fmt.Errorf("leaf: %w", err))
	}
	if e.Seq != p.Seq {
		return badProof(op, fmt.Errorf("leaf is entry %d, proof is for entry %d", e.Seq, p.Seq))
	}
	if p.Seq < 0 || p.Seq >= p.Size {
		return badProof(op, fmt.Errorf("entry %d is not in a tree of %d", p.Seq, p.Size))
	}
	if err := tlog.CheckRecord(p.Hashes, p.Size, cp.Root, p.Seq, tlog.RecordHash(leaf)); err != nil {
		return badProof(op, fmt.Errorf("entry %d is not in the tree of %d with root %s: %w", p.Seq, cp.Size, cp.Root, err))
	}
	return nil
}

// VerifyConsistency checks offline that newer's tree extends older's: same origin, and the
// first older.Size entries unchanged. It does not check signatures: do that first with
// SignedCheckpoint.Verify. Any mismatch is KindInvalid.
func VerifyConsistency(p ConsistencyProof, older, newer Checkpoint) error {
	const op = "ledger.VerifyConsistency"
	switch {
	case older.Origin != newer.Origin:
		return badProof(op, fmt.Errorf("checkpoints of different logs: %q and %q", older.Origin, newer.Origin))
	case p.OldSize != older.Size || p.NewSize != newer.Size:
		return badProof(op, fmt.Errorf("proof is for sizes %d→%d, checkpoints are %d→%d", p.OldSize, p.NewSize, older.Size, newer.Size))
	case older.Size < 1 || older.Size > newer.Size:
		return badProof(op, fmt.Errorf("cannot prove size %d against size %d", older.Size, newer.Size))
	}
	if err := tlog.CheckTree(p.Hashes, newer.Size, newer.Root, older.Size, older.Root); err != nil {
		return badProof(op, fmt.Errorf("tree of %d does not extend tree of %d: %w", newer.Size, older.Size, err))
	}
	return nil
}

func badProof(op string, err error) error {
	return &kaiping.Error{Kind: kaiping.KindInvalid, Code: "ledger.bad_proof",
		Message: "审计日志证明校验失败", Op: op, Err: err}
}

func outOfRange(op string, err error) error {
	return &kaiping.Error{Kind: kaiping.KindInvalid, Code: "ledger.out_of_range",
		Message: "请求的审计日志范围无效", Op: op, Err: err}
}

// notInLog turns "no checkpoint of that size" into KindInvalid: the caller asked about a
// tree larger than the log.
func notInLog(op string, size int64, err error) error {
	if kaiping.IsKind(err, kaiping.KindNotFound) {
		return outOfRange(op, fmt.Errorf("the ledger has fewer than %d entries", size))
	}
	return err
}
