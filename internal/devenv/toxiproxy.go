package devenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/rs/zerolog"
)

// Toxiproxy is a toxiproxy server run inside the test process (no API listener: tests call
// it directly). Its proxies stand between kaiping and a server it depends on, so a test can
// cut, slow, reset or hold that server's connections without touching the server itself.
type Toxiproxy struct {
	server *toxiproxy.ApiServer
}

// NewToxiproxy returns an in-process toxiproxy server.
func NewToxiproxy() *Toxiproxy {
	return &Toxiproxy{server: toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())}
}

// Proxy is one TCP proxy on a free loopback port in front of an upstream server.
type Proxy struct {
	tb       testing.TB
	p        *toxiproxy.Proxy
	addr     string
	mu       sync.Mutex
	toxicSeq int
}

// Proxy starts a proxy named name in front of upstream (host:port), removed when the test
// ends. Its address stays the same when it is cut and restored.
func (x *Toxiproxy) Proxy(tb testing.TB, name, upstream string) *Proxy {
	tb.Helper()
	ports, err := freeTCPPorts(1)
	if err != nil {
		tb.Fatal(err)
	}
	p := toxiproxy.NewProxy(x.server, name, fmt.Sprintf("127.0.0.1:%d", ports[0]), upstream)
	if err := x.server.Collection.Add(p, true); err != nil {
		tb.Fatalf("devenv: toxiproxy %s: %v", name, err)
	}
	tb.Cleanup(func() { _ = x.server.Collection.Remove(name) })
	return &Proxy{tb: tb, p: p, addr: p.Listen}
}

// Addr is the proxy's host:port, to give kaiping instead of the upstream's.
func (p *Proxy) Addr() string { return p.addr }

// Cut disables the proxy: every open connection is closed and new ones are refused, as when
// the server or the network to it is down.
func (p *Proxy) Cut() {
	p.tb.Helper()
	p.p.Stop()
}

// Restore enables the proxy again on the same address and removes every toxic.
func (p *Proxy) Restore() {
	p.tb.Helper()
	p.p.Toxics.ResetToxics(context.Background())
	p.p.Lock()
	enabled := p.p.Enabled
	p.p.Unlock()
	if enabled {
		return
	}
	// The listener's address may be taken by someone else for a moment after it closed.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := p.p.Start()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			p.tb.Fatalf("devenv: restore proxy %s: %v", p.p.Name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Slow delays the data in both directions by latency, as a congested link does.
func (p *Proxy) Slow(latency time.Duration) {
	p.tb.Helper()
	for _, dir := range []string{"upstream", "downstream"} {
		p.addToxic("latency", dir, map[string]any{"latency": latency.Milliseconds()})
	}
}

// Reset resets every connection (TCP RST) as soon as data flows on it, until Restore.
func (p *Proxy) Reset() {
	p.tb.Helper()
	p.addToxic("reset_peer", "upstream", map[string]any{"timeout": 0})
}

// addToxic adds a toxic of type kind to the stream ("upstream": towards the server).
func (p *Proxy) addToxic(kind, stream string, attributes map[string]any) string {
	p.tb.Helper()
	p.mu.Lock()
	p.toxicSeq++
	name := fmt.Sprintf("%s_%s_%d", kind, stream, p.toxicSeq)
	p.mu.Unlock()
	body, err := json.Marshal(map[string]any{"name": name, "type": kind, "stream": stream, "attributes": attributes})
	if err != nil {
		p.tb.Fatal(err)
	}
	if _, err := p.p.Toxics.AddToxicJson(bytes.NewReader(body)); err != nil {
		p.tb.Fatalf("devenv: toxic %s on %s: %v", kind, p.p.Name, err)
	}
	return name
}

// Hold stops the first chunk sent towards the server that contains every one of match (an
// HTTP request line such as "POST /bucket/", "uploadId="), and keeps it until the test says
// Release (it goes on) or Drop (it is thrown away and the connection closed). Reached is
// closed when it is held, so a test can act at that exact point: kill the client while the
// server has not yet seen its request. Other connections and later chunks pass.
func (p *Proxy) Hold(match ...string) *Hold {
	p.tb.Helper()
	h := newHold(match)
	p.addToxic(holdToxicType, "upstream", map[string]any{"hold": h.id})
	return h
}

// HoldReply is Hold for the first chunk the server sends back (an HTTP answer carrying a
// receipt): the server has done the work, and its client has not heard of it.
func (p *Proxy) HoldReply(match ...string) *Hold {
	p.tb.Helper()
	h := newHold(match)
	p.addToxic(holdToxicType, "downstream", map[string]any{"hold": h.id})
	return h
}

// Hold is a request held on its way to the server (Proxy.Hold).
type Hold struct {
	id      string
	match   [][]byte
	reached chan struct{}
	release chan struct{}
	drop    chan struct{}
	once    sync.Once // the one chunk held
	end     sync.Once
}

// Reached is closed once the matching request is held.
func (h *Hold) Reached() <-chan struct{} { return h.reached }

// Wait waits until the request is held, failing the test after timeout.
func (h *Hold) Wait(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	select {
	case <-h.reached:
	case <-time.After(timeout):
		tb.Fatalf("devenv: no request matching %q reached the proxy in %s", h.match, timeout)
	}
}

// Release lets the held request (and every later one) through.
func (h *Hold) Release() { h.end.Do(func() { close(h.release) }) }

// Drop throws the held request away and closes its connection: the server never sees it.
func (h *Hold) Drop() { h.end.Do(func() { close(h.drop) }) }

var holds sync.Map // id → *Hold: toxiproxy builds toxics from JSON, so they find their hold by ID

var holdSeq struct {
	sync.Mutex
	n int
}

func newHold(match []string) *Hold {
	holdSeq.Lock()
	holdSeq.n++
	id := fmt.Sprintf("hold-%d", holdSeq.n)
	holdSeq.Unlock()
	h := &Hold{id: id, reached: make(chan struct{}), release: make(chan struct{}), drop: make(chan struct{})}
	for _, m := range match {
		h.match = append(h.match, []byte(m))
	}
	holds.Store(id, h)
	return h
}

func (h *Hold) matches(b []byte) bool {
	for _, m := range h.match {
		if !bytes.Contains(b, m) {
			return false
		}
	}
	return true
}

const holdToxicType = "kaiping_hold"

// holdToxic is the toxic behind Proxy.Hold.
type holdToxic struct {
	Hold string `json:"hold"`
}

func (t *holdToxic) Pipe(stub *toxics.ToxicStub) {
	v, _ := holds.Load(t.Hold)
	h, _ := v.(*Hold)
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			if h == nil || !h.matches(c.Data) {
				stub.Output <- c
				continue
			}
			first := false
			h.once.Do(func() { first = true })
			if !first {
				stub.Output <- c
				continue
			}
			close(h.reached)
			select {
			case <-h.release:
				stub.Output <- c
			case <-h.drop:
				stub.Close()
				return
			case <-stub.Interrupt:
				stub.Output <- c // removed: nothing is lost on the way
				return
			}
		}
	}
}

func init() { toxics.Register(holdToxicType, new(holdToxic)) }

// String names the proxy and its upstream, for test logs.
func (p *Proxy) String() string {
	return p.p.Name + " " + p.addr + " → " + strings.TrimSpace(p.p.Upstream)
}
