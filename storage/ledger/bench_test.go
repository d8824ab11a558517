package ledger_test

import (
	"context"
	"testing"

	"github.com/kaiping/kaiping/storage/ledger"
)

// BenchmarkAppend measures one append in its own transaction (lock, read head and right
// edge, sign, insert, commit), with each algorithm.
func BenchmarkAppend(b *testing.B) {
	for _, alg := range []string{ledger.AlgEd25519, ledger.AlgSM2} {
		b.Run(alg, func(b *testing.B) {
			pool := mustPool(b)
			l := ledger.New(mustSigner(b, alg), testOrigin)
			ctx := context.Background()
			for b.Loop() {
				if _, err := ledgerAppend(ctx, pool, l); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify measures verifying a log of 1,000 entries, per entry.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{ledger.AlgEd25519, ledger.AlgSM2} {
		b.Run(alg, func(b *testing.B) {
			pool := mustPool(b)
			s := mustSigner(b, alg)
			l := ledger.New(s, testOrigin)
			const n = 1000
			ctx := context.Background()
			for range n {
				if _, err := ledgerAppend(ctx, pool, l); err != nil {
					b.Fatal(err)
				}
			}
			v := mustVerifier(b, s)
			for b.Loop() {
				if _, err := ledger.Verify(ctx, pool, v, testOrigin); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/entry")
		})
	}
}
