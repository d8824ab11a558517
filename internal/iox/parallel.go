// Package iox holds small I/O helpers shared by the server and the clients.
package iox

import (
	"io"
	"sync"
)

// ParallelWriter returns a writer that feeds every write to a and b at once, each on its own
// goroutine, and returns when both have taken it: two hashes of one stream then cost the
// time of the slower one, not of both. Hash writers never fail, so neither may a or b.
func ParallelWriter(a, b io.Writer) io.Writer { return &twoWay{a: a, b: b} }

type twoWay struct{ a, b io.Writer }

func (t *twoWay) Write(p []byte) (int, error) {
	var wg sync.WaitGroup
	var errB error
	wg.Go(func() { _, errB = t.b.Write(p) })
	n, errA := t.a.Write(p)
	wg.Wait()
	if errA != nil {
		return n, errA
	}
	return len(p), errB
}
