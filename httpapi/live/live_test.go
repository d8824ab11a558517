package live

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/kaiping/kaiping"
)

// TestFanOut: one batch reaches several watchers of a topic, each with the events it may
// see and never another's; the shared view is computed once for all the watchers of its
// class; a watcher's own view is computed again only when the batch concerns it; another
// topic's watchers get nothing.
func TestFanOut(t *testing.T) {
	w := mustWorld(t, quietConfig)
	topic, other := kaiping.NewID(), kaiping.NewID()
	w.topics.commit(topic, "") // version 1, before anyone watches
	alice, bob := w.mustDial("alice", topic, ""), w.mustDial("bob", topic, "")
	host1, host2 := w.mustDial("carol", topic, "board=1"), w.mustDial("dave", topic, "board=1")
	elsewhere := w.mustDial("erin", other, "")
	for _, c := range []*client{alice, bob, host1, host2} {
		c.view(1)
	}
	elsewhere.view(0)
	w.waitWatchers(5)
	boards, bobViews := w.viewsOf("board"), w.viewsOf("bob")

	// One batch: for all, alice's, bob's, alice's.
	last := w.topics.commit(topic, "", "alice", "bob", "alice")
	got := map[string][]testEvent{}
	for name, c := range map[string]*client{"alice": alice, "bob": bob, "carol": host1, "dave": host2} {
		for _, m := range c.upTo(TypeView, last) {
			if m.Type == TypeEvent {
				var e testEvent
				if err := json.Unmarshal(m.Event, &e); err != nil || e.Version != m.Version {
					t.Fatalf("%s: event %s at version %d: %v", name, m.Event, m.Version, err)
				}
				got[name] = append(got[name], e)
			}
		}
	}
	versions := func(evs []testEvent) (vs []int64) {
		for _, e := range evs {
			vs = append(vs, e.Version)
		}
		return vs
	}
	for name, want := range map[string][]int64{"alice": {2, 3, 5}, "bob": {2, 4}, "carol": {2, 3, 4, 5}, "dave": {2, 3, 4, 5}} {
		if g := versions(got[name]); !slices.Equal(g, want) {
			t.Errorf("%s got events %v, want %v", name, g, want)
		}
	}
	if n := w.viewsOf("board") - boards; n != 1 {
		t.Errorf("the shared board was computed %d times for two watchers, want once", n)
	}

	// A batch that is not bob's leaves bob's view alone; the board follows every batch.
	last = w.topics.commit(topic, "alice")
	alice.view(last)
	host1.view(last)
	host2.view(last)
	if n := w.viewsOf("bob") - bobViews; n != 1 {
		t.Errorf("bob's view computed %d times, want once (for its own event only)", n)
	}
	for _, m := range drain(bob, 200*time.Millisecond) {
		t.Errorf("bob got %s %d after alice's event", m.Type, m.Version)
	}
	for _, m := range drain(elsewhere, 0) {
		t.Errorf("a watcher of another topic got %s %d", m.Type, m.Version)
	}
}

// TestChangedSoon: changes that may wait are pushed at most once per SoonInterval,
// whatever their number; a change of the watcher's own is pushed at once.
func TestChangedSoon(t *testing.T) {
	cfg := quietConfig
	cfg.SoonInterval = 2 * time.Second
	w := mustWorld(t, cfg)
	topic := kaiping.NewID()
	bob := w.mustDial("bob", topic, "")
	bob.view(0)
	bob.view(w.topics.commit(topic, "bob")) // its own: at once, and the interval starts
	start, views := time.Now(), w.viewsOf("bob")
	var last int64
	for range 5 {
		last = w.topics.commit(topic, "")
		bob.next("event", func(m Message) bool { return m.Type == TypeEvent && m.Version == last })
	}
	bob.view(last)
	if d := time.Since(start); d < time.Second {
		t.Errorf("the view after changes that may wait came after %v, want about 2 s", d)
	}
	if n := w.viewsOf("bob") - views; n != 1 {
		t.Errorf("five changes that may wait computed bob's view %d times, want once", n)
	}
	start = time.Now()
	bob.view(w.topics.commit(topic, "bob"))
	if d := time.Since(start); d > time.Second {
		t.Errorf("bob's own change reached its view after %v: it may not wait", d)
	}
}

// TestAfter: ?after=N replays the events after N the watcher may see, up to the version the
// room was at, then the view; events at or below what the watcher has are never handed to
// it again.
func TestAfter(t *testing.T) {
	w := mustWorld(t, quietConfig)
	topic := kaiping.NewID()
	w.topics.commit(topic, "", "alice", "bob", "", "bob", "alice") // 1..6

	bob := w.mustDial("bob", topic, "after=2")
	msgs := bob.upTo(TypeView, 6)
	var replay []int64
	for _, m := range msgs {
		if m.Type == TypeEvent {
			replay = append(replay, m.Version)
		}
	}
	if !slices.Equal(replay, []int64{3, 4, 5}) {
		t.Errorf("bob after=2 replayed %v, want 3, 4, 5 (alice's 6 not)", replay)
	}
	if m := msgs[len(msgs)-1]; m.Type != TypeView {
		t.Errorf("the last message %s, want the view after the replay", m.Type)
	}
	// Asking after the current version, or without after, gives the view alone.
	for _, q := range []string{"after=6", "after=60", ""} {
		c := w.mustDial("carol", topic, q)
		if m := c.next("the first message", func(Message) bool { return true }); m.Type != TypeView || m.Version != 6 {
			t.Errorf("%q: first message %s %d, want the view 6", q, m.Type, m.Version)
		}
		c.Close()
	}

	// The room is at 7; 8 commits unseen by the room; dave joins with a view of 8: when the
	// room reads 8 and 9, dave gets only 9, bob both.
	w.topics.commit(topic, "")
	bob.next("event 7", func(m Message) bool { return m.Type == TypeEvent && m.Version == 7 })
	w.topics.add(topic, "", "")
	dave := w.mustDial("dave", topic, "")
	dave.view(8)
	w.topics.commit(topic, "")
	bob.next("event 8", func(m Message) bool { return m.Type == TypeEvent && m.Version == 8 })
	bob.next("event 9", func(m Message) bool { return m.Type == TypeEvent && m.Version == 9 })
	dave.next("event 9", func(m Message) bool {
		if m.Type == TypeEvent && m.Version < 9 {
			t.Errorf("dave, whose view was at 8, was handed event %d", m.Version)
		}
		return m.Type == TypeEvent && m.Version == 9
	})
}

// TestSlowWatcher: a watcher that does not take what it is sent is dropped with 1013 and
// hall.live_slow's like code once its buffer is full, while the others get every event.
func TestSlowWatcher(t *testing.T) {
	cfg := quietConfig
	cfg.SendBuffer = 2
	w := mustWorld(t, cfg)
	topic := kaiping.NewID()
	good := w.mustDial("alice", topic, "")
	good.view(0)
	stuck, _, _ := w.dialWith("bob", topic, "", true)
	w.waitWatchers(2)
	// Five events for the stuck one, each far bigger than the sockets' buffers: the first
	// blocks the server's writer, two more fill its send buffer, the next drops it. The good
	// watcher sees none of them, only its own after them.
	big := strings.Repeat("评标", 16<<10)
	for range 5 {
		w.topics.add(topic, big, "bob")
	}
	w.topics.add(topic, "", "alice")
	w.topics.notes <- Signal{Topic: topic, Version: 6}
	var evs []int64
	for _, m := range good.upTo(TypeView, 6) {
		if m.Type == TypeEvent {
			evs = append(evs, m.Version)
		}
	}
	if !slices.Equal(evs, []int64{6}) {
		t.Errorf("the good watcher got events %v, want its own, 6", evs)
	}
	// Once the good watcher has its view, every watcher was handed the batch: the stuck
	// one was dropped. It reads now: what got through, then why it was dropped.
	close(stuck.read)
	stuck.mustClose("demo.live_slow", websocket.CloseTryAgainLater)
	w.waitWatchers(1)
	last := w.topics.commit(topic, "")
	good.next("the next event", func(m Message) bool { return m.Type == TypeEvent && m.Version == last })
}

// TestLimits: a principal's connections beyond PerPrincipal, and any beyond MaxConnections,
// are refused before the upgrade with their codes; a request that is no upgrade is refused.
func TestLimits(t *testing.T) {
	cfg := quietConfig
	cfg.PerPrincipal, cfg.MaxConnections = 2, 3
	w := mustWorld(t, cfg)
	topic := kaiping.NewID()
	a1, a2 := w.mustDial("alice", topic, ""), w.mustDial("alice", topic, "")
	a1.view(0)
	a2.view(0)
	if c, status, p := w.dial("alice", topic, ""); c != nil || status != 409 || p.Code != "demo.live_too_many" || !strings.Contains(p.Message, "演示大厅") {
		t.Errorf("alice's third connection: %d %+v, want 409 demo.live_too_many", status, p)
	}
	b := w.mustDial("bob", topic, "")
	b.view(0)
	if c, status, p := w.dial("carol", topic, ""); c != nil || status != 503 || p.Code != "demo.live_full" {
		t.Errorf("a fourth connection in all: %d %+v, want 503 demo.live_full", status, p)
	}
	a1.Close()
	w.waitWatchers(2)
	w.mustDial("carol", topic, "").view(0)

	resp, err := noUpgrade(w.base + "/topics/" + string(topic) + "/live")
	if err != nil || resp != "demo.live_not_websocket" {
		t.Errorf("a plain GET: %q, %v; want demo.live_not_websocket", resp, err)
	}
}

// TestPing: a ping is answered with the client's t and the server's time; the session and
// the domain's Recheck are asked again at every ping, and a failure closes the connection
// with its code; garbage closes it with demo.live_bad_message.
func TestPing(t *testing.T) {
	cfg := quietConfig
	cfg.PingInterval = 100 * time.Millisecond
	w := mustWorld(t, cfg)
	topic := kaiping.NewID()
	a := w.mustDial("alice", topic, "")
	a.view(0)
	if err := a.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping","t":42.5}`)); err != nil {
		t.Fatal(err)
	}
	pong := a.next("pong", func(m Message) bool { return m.Type == TypePong })
	if pong.T != "42.5" || pong.ServerTime == nil || !pong.ServerTime.Equal(w.hub.clock.Now()) || pong.ClockProblem != "" {
		t.Errorf("pong %+v", pong)
	}

	b := w.mustDial("bob", topic, "")
	b.view(0)
	w.mu.Lock()
	w.recheck["bob"] = kaiping.E(kaiping.KindForbidden, "demo.not_assigned", "已不再指派")
	w.mu.Unlock()
	b.mustClose("demo.not_assigned", websocket.ClosePolicyViolation)

	w.mu.Lock()
	delete(w.tokens, "alice")
	w.mu.Unlock()
	a.mustClose("auth.token_expired", websocket.ClosePolicyViolation)

	c := w.mustDial("carol", topic, "")
	c.view(0)
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello"}`)); err != nil {
		t.Fatal(err)
	}
	c.mustClose("demo.live_bad_message", websocket.ClosePolicyViolation)
	w.waitWatchers(0)
}

// TestShutdown: when Run ends every watcher, of every topic, is told why and closed with
// 1001, and a new connection is refused.
func TestShutdown(t *testing.T) {
	w := mustWorld(t, quietConfig)
	var cs []*client
	for _, name := range []string{"alice", "bob", "carol"} {
		c := w.mustDial(name, kaiping.NewID(), "")
		c.view(0)
		cs = append(cs, c)
	}
	w.waitWatchers(3)
	w.stop()
	for _, c := range cs {
		c.mustClose("demo.live_shutdown", websocket.CloseGoingAway)
	}
	if w.hub.Watchers() != 0 {
		t.Errorf("%d connections after Run ended", w.hub.Watchers())
	}
	if c, status, p := w.dial("dave", kaiping.NewID(), ""); c != nil || status != 503 || p.Code != "demo.live_shutdown" {
		t.Errorf("a connection after the shutdown: %d %+v, want 503 demo.live_shutdown", status, p)
	}
}

// TestViewFailure: a watcher whose view can no longer be computed (it may no longer watch)
// is closed with the reason when a batch concerns it; the others go on.
func TestViewFailure(t *testing.T) {
	w := mustWorld(t, quietConfig)
	topic := kaiping.NewID()
	a, b := w.mustDial("alice", topic, ""), w.mustDial("bob", topic, "")
	a.view(0)
	b.view(0)
	w.mu.Lock()
	w.viewErr["bob"] = kaiping.E(kaiping.KindForbidden, "demo.not_member", "您已不在本会议中")
	w.mu.Unlock()
	w.topics.commit(topic, "bob")
	b.mustClose("demo.not_member", websocket.ClosePolicyViolation)
	last := w.topics.commit(topic, "alice")
	a.view(last)
}

func TestClientPing(t *testing.T) {
	tests := []struct {
		name string
		typ  int
		data string
		t    string
		ok   bool
	}{
		{"a ping", websocket.TextMessage, `{"type":"ping"}`, "", true},
		{"a ping with the client's time", websocket.TextMessage, `{"type":"ping","t":1767225600123}`, "1767225600123", true},
		{"a ping with a fraction", websocket.TextMessage, ` {"type":"ping","t":12.5} `, "12.5", true},
		{"not JSON", websocket.TextMessage, `ping`, "", false},
		{"binary", websocket.BinaryMessage, `{"type":"ping"}`, "", false},
		{"another type", websocket.TextMessage, `{"type":"pong"}`, "", false},
		{"no type", websocket.TextMessage, `{}`, "", false},
		{"an unknown field", websocket.TextMessage, `{"type":"ping","token":"x"}`, "", false},
		{"t not a number", websocket.TextMessage, `{"type":"ping","t":"now"}`, "", false},
		{"two messages", websocket.TextMessage, `{"type":"ping"}{"type":"ping"}`, "", false},
		{"an array", websocket.TextMessage, `[{"type":"ping"}]`, "", false},
		{"null", websocket.TextMessage, `null`, "", false},
	}
	hall := Protocol{Area: "hall", Place: "开标大厅", Actions: "签到、确认、异议等"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hall.clientPing(tt.typ, []byte(tt.data))
			if tt.ok != (err == nil) || string(got) != tt.t {
				t.Fatalf("clientPing(%q) = %q, %v; want ok %v, t %q", tt.data, got, err, tt.ok, tt.t)
			}
			if err != nil && (kaiping.CodeOf(err) != "hall.live_bad_message" ||
				kaiping.MessageOf(err) != `实时连接只接受 {"type":"ping"} 消息；开标大厅的操作（签到、确认、异议等）请通过页面按钮或 HTTP 接口提交`) {
				t.Errorf("%s %q, want hall.live_bad_message with the hall's words", kaiping.CodeOf(err), kaiping.MessageOf(err))
			}
		})
	}
}

// TestFrames: the view and event messages built by hand are what encoding them as a
// Message gives.
func TestFrames(t *testing.T) {
	v := testView{Who: "某工程<施工>&监理", Version: 42}
	got, err := ViewFrame(42, v)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(v)
	want, _ := json.Marshal(Message{Type: TypeView, Version: 42, View: raw})
	if string(got) != string(want) {
		t.Errorf("ViewFrame:\n%s\nwant\n%s", got, want)
	}
	e := testEvent{Version: 7, For: "bob", Text: "<&>"}
	got, err = EventFrame(7, e)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = json.Marshal(e)
	want, _ = json.Marshal(Message{Type: TypeEvent, Version: 7, Event: raw})
	if string(got) != string(want) {
		t.Errorf("EventFrame:\n%s\nwant\n%s", got, want)
	}
}

// drain returns what arrives on c within quiet.
func drain(c *client, quiet time.Duration) []Message {
	var out []Message
	for {
		select {
		case m := <-c.msgs:
			out = append(out, m)
		case <-time.After(quiet):
			return out
		}
	}
}
