package embedded

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/kaiping/kaiping/clients/seat"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/pionlog"
	"github.com/kaiping/kaiping/signaling/wire"
)

// peerClient is a client written from PROTOCOL.md with a pion peer connection, whose
// signaling the test drives step by step: it applies the server's candidates by itself and
// hands every other message to the test, which decides when (and whether) to answer.
type peerClient struct {
	tb     testing.TB
	url    string
	pc     *webrtc.PeerConnection
	resume string
	msgs   chan wire.Message // the current socket's messages but candidates; closed with it

	mu       sync.Mutex
	ws       *websocket.Conn
	pending  []webrtc.ICECandidateInit // server candidates before a remote description
	ufrag    string                    // of our last local description
	hold     bool                      // keep our candidates in gathered instead of sending
	gathered []webrtc.ICECandidateInit
	packets  map[string]int       // received RTP packets by publisher and kind
	firstAt  map[string]time.Time // first packet by publisher and kind after mark
	mark     time.Time
}

// newPeerClient opens a socket, joins with j and creates the peer connection.
func newPeerClient(tb testing.TB, url string, j wire.Join) *peerClient {
	tb.Helper()
	c := &peerClient{tb: tb, url: url, packets: map[string]int{}, firstAt: map[string]time.Time{}}
	c.connect(j)
	pc := c.newPC()
	c.mu.Lock()
	c.pc = pc
	c.mu.Unlock()
	tb.Cleanup(func() {
		_ = c.pc.Close()
		c.drop()
	})
	return c
}

func (c *peerClient) newPC() *webrtc.PeerConnection {
	c.tb.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		c.tb.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		c.tb.Fatal(err)
	}
	se := webrtc.SettingEngine{LoggerFactory: pionlog.Factory(testLog())}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)).
		NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		c.tb.Fatal(err)
	}
	pc.OnICECandidate(func(ic *webrtc.ICECandidate) {
		if ic == nil {
			return
		}
		init := ic.ToJSON()
		c.mu.Lock()
		// As browsers do, name the ICE generation the candidate belongs to.
		init.UsernameFragment = ptr(c.ufrag)
		if c.hold {
			c.gathered = append(c.gathered, init)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.sendCandidate(init)
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		key := t.StreamID() + "/" + t.Kind().String()
		go func() {
			for {
				if _, _, err := t.ReadRTP(); err != nil {
					return
				}
				now := time.Now()
				c.mu.Lock()
				c.packets[key]++
				if !c.mark.IsZero() && c.firstAt[key].IsZero() {
					c.firstAt[key] = now
				}
				c.mu.Unlock()
			}
		}()
	})
	return pc
}

func ufragOf(sdpText string) string {
	for _, line := range strings.Split(sdpText, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}

func (c *peerClient) setUfrag(sdpText string) {
	c.mu.Lock()
	c.ufrag = ufragOf(sdpText)
	c.mu.Unlock()
}

// connect opens a socket and joins (or resumes) with j, expecting joined.
func (c *peerClient) connect(j wire.Join) wire.Joined {
	c.tb.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(c.url, nil)
	if err != nil {
		c.tb.Fatal(err)
	}
	msgs := make(chan wire.Message, 256)
	c.mu.Lock()
	c.ws, c.msgs = ws, msgs
	c.mu.Unlock()
	c.send(j)
	go c.read(ws, msgs)
	m := c.next(5 * time.Second)
	joined, ok := m.(wire.Joined)
	if !ok {
		c.tb.Fatalf("join answered with %#v", m)
	}
	c.resume = joined.Resume
	return joined
}

func (c *peerClient) read(ws *websocket.Conn, msgs chan<- wire.Message) {
	defer close(msgs)
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			return
		}
		m, err := wire.Parse(b)
		if err != nil {
			c.tb.Errorf("server sent %s: %v", b, err)
			return
		}
		if cand, ok := m.(wire.Candidate); ok {
			c.addCandidate(cand)
			continue
		}
		msgs <- m
	}
}

func (c *peerClient) addCandidate(m wire.Candidate) {
	if m.Candidate == nil || m.Candidate.Candidate == "" {
		return
	}
	init := fromWireCandidate(m.Candidate)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pc == nil || c.pc.RemoteDescription() == nil {
		c.pending = append(c.pending, init)
		return
	}
	_ = c.pc.AddICECandidate(init)
}

func (c *peerClient) flushCandidates() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, init := range c.pending {
		_ = c.pc.AddICECandidate(init)
	}
	c.pending = nil
}

func (c *peerClient) send(m wire.Message) {
	c.tb.Helper()
	b, err := wire.Marshal(m)
	if err != nil {
		c.tb.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ws == nil {
		return
	}
	_ = c.ws.WriteMessage(websocket.TextMessage, b)
}

func (c *peerClient) sendCandidate(init webrtc.ICECandidateInit) {
	c.send(wire.Candidate{Candidate: toWireCandidate(init)})
}

// drop closes the socket as a network drop would.
func (c *peerClient) drop() {
	c.mu.Lock()
	ws := c.ws
	c.ws = nil
	c.mu.Unlock()
	if ws != nil {
		ws.Close()
	}
}

// next returns the next message other than a candidate; it fails the test after timeout or
// if the socket closes.
func (c *peerClient) next(timeout time.Duration) wire.Message {
	c.tb.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			c.tb.Fatal("the server closed the socket")
		}
		return m
	case <-time.After(timeout):
		c.tb.Fatalf("no message within %s", timeout)
		return nil
	}
}

// expectOffer skips other messages until a server offer arrives, failing on an error message.
func (c *peerClient) expectOffer(timeout time.Duration) wire.Offer {
	c.tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		switch m := c.next(time.Until(deadline)).(type) {
		case wire.Offer:
			return m
		case wire.Error:
			c.tb.Fatalf("error %s (%s) while waiting for an offer", m.Code, m.Message)
		}
	}
}

// expectAnswer skips other messages until the server's answer arrives and applies it.
func (c *peerClient) expectAnswer(timeout time.Duration) {
	c.tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		switch m := c.next(time.Until(deadline)).(type) {
		case wire.Answer:
			if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
				c.tb.Fatal(err)
			}
			c.flushCandidates()
			return
		case wire.Error:
			c.tb.Fatalf("error %s (%s) while waiting for an answer", m.Code, m.Message)
		}
	}
}

// answerUntil answers every server offer until cond holds, failing after timeout.
func (c *peerClient) answerUntil(timeout time.Duration, what string, cond func() bool) {
	c.tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			c.tb.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		select {
		case m, ok := <-c.msgs:
			if !ok {
				c.tb.Fatal("the server closed the socket")
			}
			if o, isOffer := m.(wire.Offer); isOffer {
				c.answer(o)
			}
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// answer applies a server offer and sends the answer.
func (c *peerClient) answer(o wire.Offer) {
	c.tb.Helper()
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.SDP}); err != nil {
		c.tb.Fatal(err)
	}
	a, err := c.pc.CreateAnswer(nil)
	if err != nil {
		c.tb.Fatal(err)
	}
	c.setUfrag(a.SDP)
	if err := c.pc.SetLocalDescription(a); err != nil {
		c.tb.Fatal(err)
	}
	c.flushCandidates()
	c.send(wire.Answer{SDP: a.SDP})
}

// offer sends our offer (opts may ask for an ICE restart).
func (c *peerClient) offer(opts *webrtc.OfferOptions) webrtc.SessionDescription {
	c.tb.Helper()
	o, err := c.pc.CreateOffer(opts)
	if err != nil {
		c.tb.Fatal(err)
	}
	c.setUfrag(o.SDP)
	if err := c.pc.SetLocalDescription(o); err != nil {
		c.tb.Fatal(err)
	}
	c.send(wire.Offer{SDP: o.SDP})
	return o
}

// publish adds a synthetic audio and video track, played until the test ends.
func (c *peerClient) publish() {
	c.tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	c.tb.Cleanup(func() { cancel(); wg.Wait() })
	for _, kind := range []signaling.TrackKind{signaling.Audio, signaling.Video} {
		track, err := webrtc.NewTrackLocalStaticSample(seat.Codec(kind), string(kind), "peer")
		if err != nil {
			c.tb.Fatal(err)
		}
		if _, err := c.pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			c.tb.Fatal(err)
		}
		src, err := seat.OpenVideo("", 320, 240, 20, 200_000)
		if kind == signaling.Audio {
			src, err = seat.OpenAudio("")
		}
		if err != nil {
			c.tb.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer src.Close()
			seat.Play(ctx, testLog(), kind, src, track, func() {})
		}()
	}
}

// publishAndOffer publishes and has the server answer the offer.
func (c *peerClient) publishAndOffer() {
	c.tb.Helper()
	c.publish()
	c.offer(nil)
	c.expectAnswer(5 * time.Second)
}

// replacePC gives the client a new peer connection, as one that lost its own would make.
func (c *peerClient) replacePC() {
	c.tb.Helper()
	pc := c.newPC()
	c.mu.Lock()
	old := c.pc
	c.pc, c.pending, c.ufrag = pc, nil, ""
	c.mu.Unlock()
	c.tb.Cleanup(func() { _ = pc.Close() })
	_ = old.Close()
}

// received is how many packets of kind have arrived from identity.
func (c *peerClient) received(identity string, kind signaling.TrackKind) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.packets[identity+"/"+string(kind)]
}

// markNow starts timing: firstSince then reports the first packet after it.
func (c *peerClient) markNow() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mark = time.Now()
	c.firstAt = map[string]time.Time{}
	return c.mark
}

func (c *peerClient) firstSince(identity string, kind signaling.TrackKind) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.firstAt[identity+"/"+string(kind)]
}

// serverPeer returns the server's participant for identity.
func serverPeer(tb testing.TB, srv *Server, room, identity string) *participant {
	tb.Helper()
	r, err := srv.room(room)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := r.get(identity)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
