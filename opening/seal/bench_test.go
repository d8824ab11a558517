package seal

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"
)

// benchSize is the payload of the benchmarks: large enough that the header and the
// pipeline's start-up do not count.
const benchSize = 64 << 20

// BenchmarkSeal seals 64 MiB held in memory to io.Discard, in both suites, on one worker
// and on every core (GOMAXPROCS).
func BenchmarkSeal(b *testing.B) {
	fx := mustFixtures(b)
	plain := pattern(benchSize)
	to := []Recipient{fx["p256"].recipient, fx["rescue"].recipient}
	for _, suite := range []Suite{AES256GCM, SM4GCM} {
		for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
			b.Run(fmt.Sprintf("%s/workers=%d", suite, workers), func(b *testing.B) {
				b.SetBytes(benchSize)
				for b.Loop() {
					if _, err := Seal(io.Discard, bytes.NewReader(plain), testBinding(), to,
						WithSuite(suite), WithConcurrency(workers)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkVerify is the server's side at the opening: check every chunk of 64 MiB and
// hash the plaintext, writing it nowhere.
func BenchmarkVerify(b *testing.B) {
	fx := mustFixtures(b)
	for _, suite := range []Suite{AES256GCM, SM4GCM} {
		env := mustSeal(b, pattern(benchSize), testBinding(), []*party{fx["p256"]}, WithSuite(suite))
		key := mustFileKey(b, env, fx["p256"])
		b.Run(string(suite), func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				if _, err := Verify(bytes.NewReader(env), key); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
