package embedded

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/wire"
)

// rawClient speaks the signaling protocol by hand.
type rawClient struct {
	tb testing.TB
	ws *websocket.Conn
}

func dialRaw(tb testing.TB, url string) *rawClient {
	tb.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ws.Close() })
	return &rawClient{tb: tb, ws: ws}
}

func (c *rawClient) sendText(s string) {
	c.tb.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.tb.Fatal(err)
	}
}

func (c *rawClient) send(m wire.Message) {
	c.tb.Helper()
	b, err := wire.Marshal(m)
	if err != nil {
		c.tb.Fatal(err)
	}
	c.sendText(string(b))
}

// next returns the next message, or nil when the server closed the socket.
func (c *rawClient) next(timeout time.Duration) wire.Message {
	c.tb.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(timeout))
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		if strings.Contains(err.Error(), "timeout") {
			c.tb.Fatalf("no message within %s", timeout)
		}
		return nil
	}
	m, err := wire.Parse(b)
	if err != nil {
		c.tb.Fatalf("server sent %s: %v", b, err)
	}
	return m
}

// expectError reads until an error message arrives and checks its code and fatality; a fatal
// error must be followed by the server closing the socket.
func (c *rawClient) expectError(code string, fatal bool) {
	c.tb.Helper()
	for {
		m := c.next(5 * time.Second)
		if m == nil {
			c.tb.Fatalf("socket closed before error %s", code)
		}
		e, ok := m.(wire.Error)
		if !ok {
			continue
		}
		if e.Code != code || e.Fatal != fatal {
			c.tb.Fatalf("error %+v, want code %s fatal %v", e, code, fatal)
		}
		if e.Message == "" {
			c.tb.Errorf("error %s has no message", code)
		}
		if fatal {
			c.expectClosed()
		}
		return
	}
}

func (c *rawClient) expectClosed() {
	c.tb.Helper()
	for {
		m := c.next(5 * time.Second)
		if m == nil {
			return
		}
		if _, ok := m.(wire.Bye); !ok {
			if _, isErr := m.(wire.Error); !isErr {
				c.tb.Fatalf("expected the socket to close, got %+v", m)
			}
		}
	}
}

// joinRaw joins with g and returns the joined message.
func (c *rawClient) join(g signaling.Grant) wire.Joined {
	c.tb.Helper()
	c.send(wire.Join{V: wire.Version, Token: g.Token})
	m := c.next(5 * time.Second)
	j, ok := m.(wire.Joined)
	if !ok {
		c.tb.Fatalf("join answered with %+v", m)
	}
	return j
}

func TestBadMessagesBeforeJoin(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{}, func(c *Config) { c.JoinWait = 500 * time.Millisecond })
	mustRoom(t, srv, "r")
	url := srv.cfg.URL
	tests := []struct {
		name string
		send func(c *rawClient)
		code string
	}{
		{"not JSON", func(c *rawClient) { c.sendText("hello") }, wire.CodeMessageInvalid},
		{"JSON array", func(c *rawClient) { c.sendText(`[1,2]`) }, wire.CodeMessageInvalid},
		{"no type", func(c *rawClient) { c.sendText(`{"v":1}`) }, wire.CodeMessageInvalid},
		{"unknown field", func(c *rawClient) { c.sendText(`{"type":"join","v":1,"token":"x","admin":true}`) }, wire.CodeMessageInvalid},
		{"trailing data", func(c *rawClient) { c.sendText(`{"type":"join","v":1,"token":"x"} {}`) }, wire.CodeMessageInvalid},
		{"unknown type", func(c *rawClient) { c.sendText(`{"type":"hello"}`) }, wire.CodeMessageUnknown},
		{"not a join", func(c *rawClient) { c.sendText(`{"type":"leave"}`) }, wire.CodeMessageUnexpected},
		{"wrong version", func(c *rawClient) { c.sendText(`{"type":"join","v":2,"token":"x"}`) }, wire.CodeVersionUnsupported},
		{"token and resume", func(c *rawClient) { c.sendText(`{"type":"join","v":1,"token":"x","resume":"y"}`) }, wire.CodeMessageInvalid},
		{"binary frame", func(c *rawClient) {
			if err := c.ws.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"join"}`)); err != nil {
				t.Fatal(err)
			}
		}, wire.CodeMessageInvalid},
		{"oversized", func(c *rawClient) {
			c.sendText(`{"type":"join","v":1,"token":"` + strings.Repeat("a", wire.MaxMessageBytes) + `"}`)
		}, wire.CodeMessageTooLarge},
		{"silence", func(c *rawClient) {}, wire.CodeJoinTimeout},
		{"unknown resume token", func(c *rawClient) { c.send(wire.Join{V: 1, Resume: "nope"}) }, signaling.CodeResumeInvalid},
		{"offer_first on a resume without fresh", func(c *rawClient) { c.sendText(`{"type":"join","v":1,"resume":"x","offer_first":true}`) }, wire.CodeMessageInvalid},
		{"fresh on a new join", func(c *rawClient) { c.sendText(`{"type":"join","v":1,"token":"x","fresh":true}`) }, wire.CodeMessageInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, url)
			tt.send(c)
			c.expectError(tt.code, true)
		})
	}
}

func TestBadMessagesAfterJoin(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{})
	mustRoom(t, srv, "r")
	tests := []struct {
		name  string
		perms signaling.Permissions
		send  string
		code  string
		fatal bool
	}{
		{"unknown type is not fatal", publisher, `{"type":"dance"}`, wire.CodeMessageUnknown, false},
		{"server-only message", publisher, `{"type":"bye","reason":"x","message":"y"}`, wire.CodeMessageUnexpected, false},
		{"second join", publisher, `{"type":"join","v":1,"token":"x"}`, wire.CodeMessageUnexpected, false},
		{"answer without offer", publisher, `{"type":"answer","sdp":"v=0\r\n"}`, wire.CodeMessageUnexpected, false},
		{"unparsable offer", publisher, `{"type":"offer","sdp":"v=0\r\nnonsense"}`, wire.CodeSDPInvalid, false},
		{"sdp without v=0", publisher, `{"type":"offer","sdp":"hello"}`, wire.CodeMessageInvalid, true},
		{"answer without v=0", publisher, `{"type":"answer","sdp":"hello"}`, wire.CodeMessageInvalid, true},
		{"candidate too long", publisher, `{"type":"candidate","candidate":{"candidate":"candidate:` + strings.Repeat("1", 1024) + `"}}`, wire.CodeMessageInvalid, true},
		{"data without permission", subscriber, `{"type":"data","payload":"hi"}`, signaling.CodeDataForbidden, false},
		{"data too large", publisher, `{"type":"data","payload":"` + strings.Repeat("x", wire.MaxDataBytes+1) + `"}`, wire.CodeMessageTooLarge, true},
		{"malformed JSON", publisher, `{"type":"offer",`, wire.CodeMessageInvalid, true},
		{"oversized", publisher, `{"type":"data","payload":"` + strings.Repeat("x", wire.MaxMessageBytes) + `"}`, wire.CodeMessageTooLarge, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, srv.cfg.URL)
			c.join(mustGrant(t, srv, "r", "x", tt.perms))
			c.sendText(tt.send)
			c.expectError(tt.code, tt.fatal)
		})
	}
}

func TestDataMessages(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{})
	mustRoom(t, srv, "r")
	a := dialRaw(t, srv.cfg.URL)
	ga := mustGrant(t, srv, "r", "a", publisher)
	a.join(ga)
	b := dialRaw(t, srv.cfg.URL)
	gb := mustGrant(t, srv, "r", "b", subscriber)
	b.join(gb)
	h := dialRaw(t, srv.cfg.URL)
	h.join(mustGrant(t, srv, "r", "h", hidden))
	a.send(wire.Data{Payload: "请各位专家开始评审"})
	for name, c := range map[string]*rawClient{"b": b, "hidden": h} {
		for {
			m := c.next(5 * time.Second)
			if d, ok := m.(wire.Data); ok {
				if d.From != ga.Identity || d.Payload != "请各位专家开始评审" {
					t.Errorf("%s got %+v", name, d)
				}
				break
			}
		}
	}
	a.send(wire.Data{Payload: "只给 b", To: []string{gb.Identity}})
	for {
		m := b.next(5 * time.Second)
		if d, ok := m.(wire.Data); ok {
			if d.Payload != "只给 b" {
				t.Errorf("b got %+v", d)
			}
			break
		}
	}
}

func TestICETimeout(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{}, func(c *Config) { c.ICETimeout = time.Second })
	mustRoom(t, srv, "r")
	events, err := srv.Events(context.Background(), "r")
	if err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, srv.cfg.URL)
	g := mustGrant(t, srv, "r", "x", publisher)
	c.join(g)
	// An offer from a peer that never applies the answer: ICE can never complete.
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.send(wire.Offer{SDP: offer.SDP})
	c.expectError(wire.CodeICETimeout, true)
	if d := time.Since(start); d < time.Second || d > 3*time.Second {
		t.Errorf("dropped after %s, want about 1 s", d)
	}
	waitFor(t, 5*time.Second, "the participant to be gone", func() bool {
		ps, _ := srv.Participants(context.Background(), "r")
		return len(ps) == 0
	})
	for ev := range events {
		if ev.Type == signaling.EventLeft {
			if ev.Participant != g.Identity || ev.Reason != "ice_timeout" {
				t.Errorf("left event %+v", ev)
			}
			break
		}
	}
}

func TestJoinFloodRefused(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{}, func(c *Config) { c.JoinsPerSecond, c.JoinBurst = 1, 3 })
	mustRoom(t, srv, "r")
	busy := 0
	for i := 0; i < 6; i++ {
		c := dialRaw(t, srv.cfg.URL)
		c.send(wire.Join{V: 1, Token: mustGrant(t, srv, "r", "x", subscriber).Token})
		switch m := c.next(5 * time.Second).(type) {
		case wire.Joined:
		case wire.Error:
			if m.Code != wire.CodeBusy || !m.Fatal {
				t.Fatalf("error %+v, want %s", m, wire.CodeBusy)
			}
			busy++
		default:
			t.Fatalf("got %+v", m)
		}
	}
	if busy < 2 {
		t.Errorf("%d of 6 quick joins refused, want at least 2 with a burst of 3", busy)
	}
}

func TestRoomFull(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{})
	if err := srv.CreateRoom(context.Background(), "small", signaling.RoomOptions{MaxParticipants: 1}); err != nil {
		t.Fatal(err)
	}
	first := dialRaw(t, srv.cfg.URL)
	g := mustGrant(t, srv, "small", "a", subscriber)
	first.join(g)
	second := dialRaw(t, srv.cfg.URL)
	second.send(wire.Join{V: 1, Token: mustGrant(t, srv, "small", "b", subscriber).Token})
	second.expectError(signaling.CodeRoomFull, true)
	// The same identity again replaces, it does not count twice.
	again := dialRaw(t, srv.cfg.URL)
	again.join(g)
	for {
		m := first.next(5 * time.Second)
		if bye, ok := m.(wire.Bye); ok {
			if bye.Reason != "replaced" {
				t.Errorf("bye %+v", bye)
			}
			break
		}
		if m == nil {
			t.Fatal("replaced socket closed without bye")
		}
	}
}
