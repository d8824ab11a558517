package embedded

import (
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
)

// TestNoLeakAfterJoinLeaveCycles runs join/publish/receive/leave cycles through one server and
// checks that goroutines and heap come back to their level before the cycles.
func TestNoLeakAfterJoinLeaveCycles(t *testing.T) {
	cycles := 100
	if s := os.Getenv("KAIPING_LEAK_CYCLES"); s != "" {
		cycles, _ = strconv.Atoi(s)
	}
	srv := mustServer(t, kaiping.SystemClock{})
	mustRoom(t, srv, "r")
	cycle := func() {
		ga := mustGrant(t, srv, "r", "a", publisher)
		gb := mustGrant(t, srv, "r", "b", publisher)
		// Not startSeat: its cleanup would keep every agent alive until the test ends.
		a, b := launchSeat(ga), launchSeat(gb)
		defer a.stop()
		defer b.stop()
		waitFor(t, 20*time.Second, "media", func() bool {
			return packetsFrom(b.Agent, ga.Identity) > 0 && packetsFrom(a.Agent, gb.Identity) > 0
		})
		for _, s := range []*running{a, b} {
			if err := s.stop(); err != nil {
				t.Fatalf("leave: %v", err)
			}
		}
	}
	cycle() // warm up pools and pion's lazily started parts
	baseG, baseHeap := settle(t, 0)
	start := time.Now()
	for i := 0; i < cycles; i++ {
		cycle()
	}
	elapsed := time.Since(start)
	const slackG = 5
	g, heap := settle(t, baseG+slackG)
	t.Logf("%d cycles in %s; goroutines %d -> %d; heap %d KiB -> %d KiB", cycles, elapsed.Round(time.Millisecond),
		baseG, g, baseHeap>>10, heap>>10)
	if path := os.Getenv("KAIPING_LEAK_PROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	if g > baseG+slackG {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines %d after %d cycles, baseline %d\n%s", g, cycles, baseG, buf[:runtime.Stack(buf, true)])
	}
	const slackHeap = 1 << 20
	if heap > baseHeap+slackHeap {
		t.Fatalf("heap %d KiB after %d cycles, baseline %d KiB", heap>>10, cycles, baseHeap>>10)
	}
	ps, err := srv.Participants(t.Context(), "r")
	if err != nil || len(ps) != 0 {
		t.Fatalf("participants left behind: %+v (%v)", ps, err)
	}
	srv.mu.Lock()
	resumes := len(srv.resumes)
	srv.mu.Unlock()
	if resumes != 0 {
		t.Fatalf("%d resume tokens left behind", resumes)
	}
}

// settle waits (up to 15 s) for the goroutine count to drop to at most want (0: just let
// things settle), then returns it and the live heap after a GC.
func settle(t *testing.T, want int) (goroutines int, heap uint64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		time.Sleep(200 * time.Millisecond)
		goroutines = runtime.NumGoroutine()
		if (want == 0 && time.Now().After(deadline.Add(-13*time.Second))) || (want > 0 && goroutines <= want) || time.Now().After(deadline) {
			break
		}
	}
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc
}
