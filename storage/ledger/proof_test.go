package ledger_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/storage/ledger"
)

// proofLogSize is not a power of two, so the proofs cover ragged right edges.
const proofLogSize = 13

func TestInclusionProofs(t *testing.T) {
	ctx := context.Background()
	pool := mustPool(t)
	s := mustSigner(t, ledger.AlgEd25519)
	v := mustVerifier(t, s)
	l := ledger.New(s, testOrigin)
	entries := mustFill(t, pool, l, proofLogSize)

	for size := int64(1); size <= proofLogSize; size++ {
		cp := mustCheckpointAt(t, pool, l, size)
		if err := cp.Verify(v); err != nil {
			t.Fatalf("checkpoint %d: %v", size, err)
		}
		for seq := range size {
			p, err := l.ProveInclusion(ctx, pool, seq, size)
			if err != nil {
				t.Fatalf("ProveInclusion(%d, %d): %v", seq, size, err)
			}
			if err := ledger.VerifyInclusion(p, cp.Checkpoint, entries[seq].LeafData()); err != nil {
				t.Errorf("VerifyInclusion(%d in %d): %v", seq, size, err)
			}
		}
	}

	const seq, size = 5, 11
	p, err := l.ProveInclusion(ctx, pool, seq, size)
	if err != nil {
		t.Fatal(err)
	}
	cp := mustCheckpointAt(t, pool, l, size)
	leaf := entries[seq].LeafData()
	edited := entries[seq]
	edited.Detail = append([]byte(nil), edited.Detail...)
	edited.Detail = append(edited.Detail, ' ')
	tests := []struct {
		name  string
		proof func(ledger.InclusionProof) ledger.InclusionProof
		cp    func(ledger.Checkpoint) ledger.Checkpoint
		leaf  []byte
	}{
		{"a hash flipped", func(p ledger.InclusionProof) ledger.InclusionProof { p.Hashes[1][0] ^= 1; return p }, nil, leaf},
		{"a hash dropped", func(p ledger.InclusionProof) ledger.InclusionProof { p.Hashes = p.Hashes[1:]; return p }, nil, leaf},
		{"a hash added", func(p ledger.InclusionProof) ledger.InclusionProof {
			p.Hashes = append(p.Hashes, tlog.Hash{})
			return p
		}, nil, leaf},
		{"another seq", func(p ledger.InclusionProof) ledger.InclusionProof { p.Seq = 4; return p }, nil, leaf},
		{"another entry's leaf", nil, nil, entries[4].LeafData()},
		{"the leaf edited", nil, nil, edited.LeafData()},
		{"not a leaf", nil, nil, []byte("bid.submitted")},
		{"another root", nil, func(c ledger.Checkpoint) ledger.Checkpoint { c.Root[0] ^= 1; return c }, leaf},
		{"another size", nil, func(c ledger.Checkpoint) ledger.Checkpoint { c.Size = 12; return c }, leaf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c := cloneInclusion(p), cp.Checkpoint
			if tt.proof != nil {
				p = tt.proof(p)
			}
			if tt.cp != nil {
				c = tt.cp(c)
			}
			wantKind(t, ledger.VerifyInclusion(p, c, tt.leaf), kaiping.KindInvalid, "ledger.bad_proof")
		})
	}
	if err := ledger.VerifyInclusion(p, cp.Checkpoint, leaf); err != nil {
		t.Fatalf("the unaltered proof stopped verifying: %v", err)
	}

	for _, r := range [][2]int64{{-1, 5}, {5, 5}, {6, 5}, {0, proofLogSize + 1}} {
		_, err := l.ProveInclusion(ctx, pool, r[0], r[1])
		wantKind(t, err, kaiping.KindInvalid, "ledger.out_of_range")
	}
}

func TestConsistencyProofs(t *testing.T) {
	ctx := context.Background()
	pool := mustPool(t)
	s := mustSigner(t, ledger.AlgEd25519)
	l := ledger.New(s, testOrigin)
	mustFill(t, pool, l, proofLogSize)
	cps := make([]ledger.Checkpoint, proofLogSize+1)
	for size := int64(1); size <= proofLogSize; size++ {
		cps[size] = mustCheckpointAt(t, pool, l, size).Checkpoint
	}
	for older := int64(1); older <= proofLogSize; older++ {
		for newer := older; newer <= proofLogSize; newer++ {
			p, err := l.ProveConsistency(ctx, pool, older, newer)
			if err != nil {
				t.Fatalf("ProveConsistency(%d, %d): %v", older, newer, err)
			}
			if err := ledger.VerifyConsistency(p, cps[older], cps[newer]); err != nil {
				t.Errorf("VerifyConsistency(%d, %d): %v", older, newer, err)
			}
		}
	}

	p, err := l.ProveConsistency(ctx, pool, 6, 13)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		proof        func(ledger.ConsistencyProof) ledger.ConsistencyProof
		older, newer func(ledger.Checkpoint) ledger.Checkpoint
	}{
		{"a hash flipped", func(p ledger.ConsistencyProof) ledger.ConsistencyProof { p.Hashes[0][31] ^= 1; return p }, nil, nil},
		{"a hash dropped", func(p ledger.ConsistencyProof) ledger.ConsistencyProof {
			p.Hashes = p.Hashes[:len(p.Hashes)-1]
			return p
		}, nil, nil},
		{"a hash added", func(p ledger.ConsistencyProof) ledger.ConsistencyProof {
			p.Hashes = append(p.Hashes, tlog.Hash{})
			return p
		}, nil, nil},
		{"the older root changed", nil, func(c ledger.Checkpoint) ledger.Checkpoint { c.Root[0] ^= 1; return c }, nil},
		{"the newer root changed", nil, nil, func(c ledger.Checkpoint) ledger.Checkpoint { c.Root[0] ^= 1; return c }},
		{"another older size", nil, func(ledger.Checkpoint) ledger.Checkpoint { return cps[5] }, nil},
		{"checkpoints swapped", nil, func(ledger.Checkpoint) ledger.Checkpoint { return cps[13] }, func(ledger.Checkpoint) ledger.Checkpoint { return cps[6] }},
		{"another log", nil, func(c ledger.Checkpoint) ledger.Checkpoint { c.Origin = "other.example/ledger"; return c }, nil},
		{"sizes relabelled", func(p ledger.ConsistencyProof) ledger.ConsistencyProof { p.OldSize = 5; return p },
			func(c ledger.Checkpoint) ledger.Checkpoint { c.Size = 5; return c }, nil},
		{"from the empty tree", func(p ledger.ConsistencyProof) ledger.ConsistencyProof { p.OldSize = 0; return p },
			func(c ledger.Checkpoint) ledger.Checkpoint { c.Size = 0; return c }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, older, newer := cloneConsistency(p), cps[6], cps[13]
			if tt.proof != nil {
				p = tt.proof(p)
			}
			if tt.older != nil {
				older = tt.older(older)
			}
			if tt.newer != nil {
				newer = tt.newer(newer)
			}
			wantKind(t, ledger.VerifyConsistency(p, older, newer), kaiping.KindInvalid, "ledger.bad_proof")
		})
	}
	if err := ledger.VerifyConsistency(p, cps[6], cps[13]); err != nil {
		t.Fatalf("the unaltered proof stopped verifying: %v", err)
	}

	for _, r := range [][2]int64{{0, 5}, {6, 5}, {1, proofLogSize + 1}} {
		_, err := l.ProveConsistency(ctx, pool, r[0], r[1])
		wantKind(t, err, kaiping.KindInvalid, "ledger.out_of_range")
	}
}

// Receipts will carry proofs and checkpoints as JSON; they must come back identical.
func TestProofsAndCheckpointsRoundTripThroughJSON(t *testing.T) {
	ctx := context.Background()
	pool := mustPool(t)
	s := mustSigner(t, ledger.AlgSM2)
	l := ledger.New(s, testOrigin)
	entries := mustFill(t, pool, l, 7)
	inc, err := l.ProveInclusion(ctx, pool, 2, 7)
	if err != nil {
		t.Fatal(err)
	}
	con, err := l.ProveConsistency(ctx, pool, 3, 7)
	if err != nil {
		t.Fatal(err)
	}
	cp := mustCheckpointAt(t, pool, l, 7)
	for _, x := range []any{&inc, &con, &cp, &entries[2]} {
		b, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		back := reflect.New(reflect.TypeOf(x).Elem())
		if err := json.Unmarshal(b, back.Interface()); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(back.Interface(), x) {
			t.Errorf("JSON round trip of %T: got %+v, want %+v", x, back.Interface(), x)
		}
	}
	// What an offline verifier does with a receipt: check the signature, then the proof.
	if err := cp.Verify(mustVerifier(t, s)); err != nil {
		t.Fatal(err)
	}
	if err := ledger.VerifyInclusion(inc, cp.Checkpoint, entries[2].LeafData()); err != nil {
		t.Fatal(err)
	}
}

func cloneInclusion(p ledger.InclusionProof) ledger.InclusionProof {
	p.Hashes = append(tlog.RecordProof(nil), p.Hashes...)
	return p
}

func cloneConsistency(p ledger.ConsistencyProof) ledger.ConsistencyProof {
	p.Hashes = append(tlog.TreeProof(nil), p.Hashes...)
	return p
}
