package embedded

import (
	"context"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/seat"
)

// packetsFrom sums the packets a has received from identity.
func packetsFrom(a *seat.Agent, identity string) uint64 {
	var n uint64
	for _, t := range a.Stats().From(identity) {
		n += t.Packets
	}
	return n
}

func TestResumeAfterDrop(t *testing.T) {
	clock := kaiping.NewManualClock(time.Now())
	srv := mustServer(t, clock, func(c *Config) {
		c.ResumeWindow = 15 * time.Second
		c.ICEDisconnectedTimeout, c.ICEFailedTimeout = time.Second, 2*time.Second
	})
	mustRoom(t, srv, "r")
	nb := cutNet(t)
	a, b, ga, gb := startPair(t, srv, "r", nb.Tune)

	nb.Set(true)
	// Both grants expire during the outage: coming back must not need one.
	clock.Advance(time.Hour)
	time.Sleep(3 * time.Second)
	before := packetsFrom(a.Agent, gb.Identity)
	time.Sleep(time.Second)
	if after := packetsFrom(a.Agent, gb.Identity); after != before {
		t.Fatalf("packets still arrive during the outage: %d then %d", before, after)
	}
	ps, err := srv.Participants(context.Background(), "r")
	if err != nil || len(ps) != 2 {
		t.Fatalf("during the outage participants = %d (%v), want both kept", len(ps), err)
	}

	nb.Set(false)
	restored := time.Now()
	fromA := packetsFrom(b.Agent, ga.Identity)
	waitFor(t, 20*time.Second, "the first packet from a after the network returns", func() bool {
		return packetsFrom(b.Agent, ga.Identity) > fromA
	})
	t.Logf("network back to the first packet forwarded again: %s (polled every 50 ms)", time.Since(restored).Round(time.Millisecond))
	waitFor(t, 20*time.Second, "media to flow again both ways", func() bool {
		return packetsFrom(a.Agent, gb.Identity) > before+50 && packetsFrom(b.Agent, ga.Identity) > fromA+50
	})
	if got := b.Stats().Resumes; got != 1 {
		t.Errorf("resumes = %d, want 1", got)
	}
	if _, ok := a.Stats().Peers[gb.Identity]; !ok {
		t.Errorf("a lost sight of b: %v", a.Stats().Peers)
	}
	for _, s := range []*running{a, b} {
		if err := s.stop(); err != nil {
			t.Errorf("leave: %v", err)
		}
	}
}

func TestDroppedParticipantRemovedAfterWindow(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{}, func(c *Config) {
		c.ResumeWindow = time.Second
		c.ICEDisconnectedTimeout, c.ICEFailedTimeout = 500*time.Millisecond, time.Second
	})
	mustRoom(t, srv, "r")
	nb := cutNet(t)
	a, b, ga, gb := startPair(t, srv, "r", nb.Tune)
	nb.Set(true)
	waitFor(t, 10*time.Second, "b to be removed", func() bool {
		_, seen := a.Stats().Peers[gb.Identity]
		return !seen
	})
	ps, _ := srv.Participants(context.Background(), "r")
	if len(ps) != 1 || ps[0].Identity != ga.Identity {
		t.Errorf("participants %+v, want only a", ps)
	}
	// b's agent gives up once the window has passed.
	if err := b.wait(); err == nil {
		t.Errorf("b's agent ended without error after its session was dropped")
	}
}

// cutNet is a seat network the test cuts and restores, closed when the test ends.
func cutNet(tb testing.TB) *seat.CutNet {
	tb.Helper()
	n, err := seat.NewCutNet()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { n.Close() })
	return n
}
