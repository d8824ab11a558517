package seat

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// CutNet is a seat agent's network that a test or a benchmark cuts and restores, as a
// seat's network drops and returns: its one UDP socket drops every datagram while down, and
// its TCP connections (the signaling WebSocket) are closed and refused.
type CutNet struct {
	mu   sync.Mutex
	down bool
	udp  *cutUDP
	tcp  []net.Conn
}

type cutUDP struct {
	net.PacketConn
	down atomic.Bool
}

// ReadFrom implements net.PacketConn, discarding what arrives while down.
func (c *cutUDP) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, a, err := c.PacketConn.ReadFrom(b)
		if err != nil || !c.down.Load() {
			return n, a, err
		}
	}
}

// WriteTo implements net.PacketConn, sending nothing while down.
func (c *cutUDP) WriteTo(b []byte, a net.Addr) (int, error) {
	if c.down.Load() {
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, a)
}

// NewCutNet opens the network's UDP socket on loopback; Close closes it.
func NewCutNet() (*CutNet, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &CutNet{udp: &cutUDP{PacketConn: pc}}, nil
}

// Close closes the network's UDP socket.
func (n *CutNet) Close() error { return n.udp.Close() }

// Tune has a seat agent use the network, with ICE timers short enough that a drop is
// noticed within seconds.
func (n *CutNet) Tune(c *Config) {
	c.UDPConn, c.Dial = n.udp, n.dial
	c.ICEDisconnectedTimeout, c.ICEFailedTimeout = time.Second, 2*time.Second
}

func (n *CutNet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
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

// Set cuts (down) or restores the network.
func (n *CutNet) Set(down bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.down = down
	n.udp.down.Store(down)
	if down {
		for _, c := range n.tcp {
			c.Close()
		}
		n.tcp = nil
	}
}
