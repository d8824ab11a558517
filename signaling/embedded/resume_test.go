package embedded

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/seat"
)

// flakyNet is a seat's network that the test can cut: UDP packets are dropped both ways and
// signaling sockets are closed and refused until it is restored.
type flakyNet struct {
	udp  *flakyUDP
	mu   sync.Mutex
	down bool
	tcp  []net.Conn
}

type flakyUDP struct {
	net.PacketConn
	down atomic.Bool
}

func (c *flakyUDP) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, a, err := c.PacketConn.ReadFrom(b)
		if err != nil || !c.down.Load() {
			return n, a, err
		}
	}
}

func (c *flakyUDP) WriteTo(b []byte, a net.Addr) (int, error) {
	if c.down.Load() {
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, a)
}

func newFlakyNet(tb testing.TB) *flakyNet {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { pc.Close() })
	return &flakyNet{udp: &flakyUDP{PacketConn: pc}}
}

func (n *flakyNet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.down {
		return nil, errors.New("network is down")
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err == nil {
		n.tcp = append(n.tcp, c)
	}
	return c, err
}

func (n *flakyNet) cut() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.down = true
	n.udp.down.Store(true)
	for _, c := range n.tcp {
		c.Close()
	}
	n.tcp = nil
}

func (n *flakyNet) restore() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.down = false
	n.udp.down.Store(false)
}

func (n *flakyNet) tune(c *seat.Config) {
	c.UDPConn, c.Dial = n.udp, n.dial
	c.ICEDisconnectedTimeout, c.ICEFailedTimeout = time.Second, 2*time.Second
}

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
	nb := newFlakyNet(t)
	a, b, ga, gb := startPair(t, srv, "r", nb.tune)

	nb.cut()
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

	nb.restore()
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
	nb := newFlakyNet(t)
	a, b, ga, gb := startPair(t, srv, "r", nb.tune)
	nb.cut()
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
