package embedded

import (
	"bytes"
	"context"
	"net"
	"sync"
	"sync/atomic"
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

// TestDropBetweenOfferAndAnswer: the network drops after a seat has read a server offer and
// before its answer is out (the room changed just as the seat's network went down). Its
// answer cannot be sent; the seat must resume like any dropped seat, and the offer, sent
// again after the resume, renegotiated: its video reaches the others again, and what was
// offered reaches it.
func TestDropBetweenOfferAndAnswer(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{}, func(c *Config) {
		c.ResumeWindow = 15 * time.Second
		c.ICEDisconnectedTimeout, c.ICEFailedTimeout = time.Second, 2*time.Second
	})
	mustRoom(t, srv, "r")
	nb := cutNet(t)
	trap := &offerTrap{net: nb}
	a, b, _, gb := startPair(t, srv, "r", nb.Tune, trap.tune)

	// c publishes: the server offers c's tracks to b, and b's network drops as it answers.
	trap.armed.Store(true)
	gc := mustGrant(t, srv, "r", "c", publisher)
	startSeat(t, gc)
	select {
	case <-trap.cut:
	case <-time.After(20 * time.Second):
		t.Fatal("the server never offered c's tracks to b")
	}
	// Past both sides' ICE failure (3 s without a packet): ICE must restart too.
	time.Sleep(4500 * time.Millisecond)
	fromB := packetsFrom(a.Agent, gb.Identity)
	nb.Set(false)
	restored := time.Now()
	waitFor(t, 20*time.Second, "b's media at a after the network returns", func() bool {
		return packetsFrom(a.Agent, gb.Identity) > fromB
	})
	t.Logf("network back to the first packet from b forwarded again: %s", time.Since(restored).Round(time.Millisecond))
	waitFor(t, 20*time.Second, "c's media at b", func() bool { return receivesFrom(b.Agent, gc.Identity, 20) })
	if got := b.Stats().Resumes; got != 1 {
		t.Errorf("b resumed %d times, want 1", got)
	}
}

// offerTrap cuts a seat's network once armed, at the seat's first write after it has read a
// server offer: the offer is in, the answer cannot go out.
type offerTrap struct {
	net   *seat.CutNet
	armed atomic.Bool
	seen  atomic.Bool
	once  sync.Once
	cut   chan struct{}
}

func (o *offerTrap) tune(c *seat.Config) {
	o.cut = make(chan struct{})
	dial := c.Dial
	c.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &trapConn{Conn: conn, trap: o}, nil
	}
}

type trapConn struct {
	net.Conn
	trap *offerTrap
}

func (c *trapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if c.trap.armed.Load() && bytes.Contains(b[:n], []byte(`"type":"offer"`)) {
		c.trap.seen.Store(true)
	}
	return n, err
}

func (c *trapConn) Write(b []byte) (int, error) {
	if c.trap.seen.Load() {
		c.trap.once.Do(func() {
			c.trap.armed.Store(false)
			c.trap.net.Set(true)
			close(c.trap.cut)
		})
	}
	return c.Conn.Write(b)
}
