package live

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// The tests run a hub of a small domain written here: topics whose events are each for
// everyone (For "") or for one watcher by name, watchers that see everything (overseers,
// of the shared class "board") or what is for all and for them. Everything is in memory
// but the sockets, which are real loopback connections to a fiber server.

// testProtocol names the test domain; its codes are demo.live_*.
var testProtocol = Protocol{Name: "kaiping.demo.v1", Area: "demo", Place: "演示大厅", Actions: "举手等"}

// wait bounds every wait of these tests.
const wait = 10 * time.Second

// testEvent is an event of the test domain.
type testEvent struct {
	Version int64  `json:"version"`
	For     string `json:"for,omitempty"`
	Text    string `json:"text,omitempty"`
}

func (e testEvent) LiveVersion() int64 { return e.Version }

// topics is the test domain's store and its notices.
type topics struct {
	mu     sync.Mutex
	events map[kaiping.ID][]testEvent
	notes  chan Signal
	fail   bool // Events fails, as a database gone would
}

func newTopics() *topics {
	return &topics{events: map[kaiping.ID][]testEvent{}, notes: make(chan Signal, 100)}
}

func (t *topics) Events(_ context.Context, topic kaiping.ID, after int64, limit int) ([]testEvent, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fail {
		return nil, errors.New("the store is gone")
	}
	var out []testEvent
	for _, e := range t.events[topic] {
		if e.Version > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

// version is the topic's last version.
func (t *topics) version(topic kaiping.ID) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return int64(len(t.events[topic]))
}

// add appends events (for whom each is, in order) without telling anyone.
func (t *topics) add(topic kaiping.ID, text string, forWhom ...string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range forWhom {
		t.events[topic] = append(t.events[topic], testEvent{Version: int64(len(t.events[topic]) + 1), For: f, Text: text})
	}
	return int64(len(t.events[topic]))
}

// commit appends events and sends the notice, as a committed change does.
func (t *topics) commit(topic kaiping.ID, forWhom ...string) int64 {
	v := t.add(topic, "", forWhom...)
	t.notes <- Signal{Topic: topic, Version: v}
	return v
}

// Subscribe implements Notifications.
func (t *topics) Subscribe(ctx context.Context) (<-chan Signal, error) {
	out := make(chan Signal)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-t.notes:
				select {
				case out <- s:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// testView is a watcher's view in the test domain.
type testView struct {
	Who     string `json:"who"`
	Version int64  `json:"version"`
}

// testWatcher is one watcher of the test domain.
type testWatcher struct {
	w        *world
	name     string
	overseer bool
	topic    kaiping.ID
}

func (w *testWatcher) Sees(e testEvent) bool { return w.overseer || e.For == "" || e.For == w.name }

// Concerned: its own events change its view at once, the events for all may wait.
func (w *testWatcher) Concerned(batch []testEvent) Concern {
	c := Unchanged
	for _, e := range batch {
		switch e.For {
		case w.name:
			return Changed
		case "":
			c = ChangedSoon
		}
	}
	return c
}

func (w *testWatcher) View(context.Context) (int64, []byte, error) {
	who := w.name
	if w.overseer {
		who = "board"
	}
	w.w.mu.Lock()
	w.w.views[who]++
	err := w.w.viewErr[w.name]
	w.w.mu.Unlock()
	if err != nil {
		return 0, nil, err
	}
	v := w.w.topics.version(w.topic)
	frame, err := ViewFrame(v, testView{Who: who, Version: v})
	return v, frame, err
}

func (w *testWatcher) Recheck(context.Context) error {
	w.w.mu.Lock()
	defer w.w.mu.Unlock()
	return w.w.recheck[w.name]
}

func (w *testWatcher) Class() string {
	if w.overseer {
		return "board"
	}
	return ""
}

// world is a hub of the test domain on a fiber server on loopback.
type world struct {
	t      *testing.T
	topics *topics
	hub    *Hub[testEvent]
	base   string
	stop   func() // ends Run and waits for it

	mu      sync.Mutex
	tokens  map[string]kaiping.Principal // a token is its principal's name
	views   map[string]int               // views computed, by watcher name ("board" for the shared one)
	viewErr map[string]error             // View fails for these
	recheck map[string]error             // Recheck fails for these
}

// Authenticate implements httpapi.Authenticator: a token is the name of a principal.
func (w *world) Authenticate(_ context.Context, token string) (kaiping.Principal, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.tokens[token]
	if !ok {
		return kaiping.Principal{}, kaiping.E(kaiping.KindUnauthenticated, "auth.token_expired", "会话已过期")
	}
	return p, nil
}

// mustWorld starts the hub with cfg on a server whose sockets send through a small buffer
// (so that a client that does not read soon blocks the server's writes).
func mustWorld(t *testing.T, cfg Config) *world {
	t.Helper()
	w := &world{t: t, topics: newTopics(), tokens: map[string]kaiping.Principal{}, views: map[string]int{},
		viewErr: map[string]error{}, recheck: map[string]error{}}
	for _, name := range []string{"alice", "bob", "carol", "dave", "erin"} {
		w.tokens[name] = kaiping.Principal{ID: kaiping.NewID(), Name: name}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	w.hub = New[testEvent](testProtocol, w.topics, w, w.topics, kaiping.NewManualClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)), quiet, cfg)
	f := fiber.New(fiber.Config{ErrorHandler: httpapi.ErrorHandler(quiet), DisableStartupMessage: true})
	var reg httpapi.Registry
	reg.Mount(f, w, httpapi.Route{Method: fiber.MethodGet, Path: "/topics/:topic/live", Roles: httpapi.AnyRole, Handler: w.handle})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = f.Listener(smallSends{ln}) }()
	w.base = "ws://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.hub.Run(ctx); close(done) }()
	var once sync.Once
	w.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(func() {
		w.stop()
		_ = f.Shutdown()
	})
	return w
}

// handle is the test domain's route: what a domain's route does before the upgrade.
func (w *world) handle(c *fiber.Ctx) error {
	if err := w.hub.Upgradable(c); err != nil {
		return err
	}
	p, _ := httpapi.PrincipalOf(c)
	tw := &testWatcher{w: w, name: p.Name, overseer: c.Query("board") != "", topic: kaiping.ID(strings.Clone(c.Params("topic")))}
	j := Join{Topic: tw.topic, After: -1}
	if q := c.Query("after"); q != "" {
		var err error
		if j.After, err = strconv.ParseInt(q, 10, 64); err != nil {
			return kaiping.E(kaiping.KindInvalid, "demo.after", "after 须为整数")
		}
	}
	if err := w.hub.Admit(p.ID); err != nil {
		return err
	}
	var err error
	if j.Version, j.View, err = tw.View(c.UserContext()); err != nil {
		return err
	}
	return w.hub.Upgrade(c, tw, j)
}

// smallSends gives every accepted connection a small send buffer.
type smallSends struct{ net.Listener }

func (l smallSends) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// client is a connection of the test domain: a goroutine reads every message into msgs
// until the connection ends (unless it is stuck: then it reads nothing until told).
type client struct {
	t    *testing.T
	conn *websocket.Conn
	msgs chan Message
	read chan struct{} // closed when the client starts reading
	done chan struct{}
	err  error
}

// dial connects name to topic with the query q (after=N, board=1); a refusal before the
// upgrade comes back as the API's Problem with its status.
func (w *world) dial(name string, topic kaiping.ID, q string) (*client, int, *httpapi.Problem) {
	w.t.Helper()
	return w.dialWith(name, topic, q, false)
}

func (w *world) mustDial(name string, topic kaiping.ID, q string) *client {
	w.t.Helper()
	c, status, p := w.dial(name, topic, q)
	if c == nil {
		w.t.Fatalf("%s: connect to %s: %d %+v", name, topic, status, p)
	}
	return c
}

func (w *world) dialWith(name string, topic kaiping.ID, q string, stuck bool) (*client, int, *httpapi.Problem) {
	w.t.Helper()
	d := &websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{testProtocol.Name, httpapi.BearerProtocol + name}}
	if stuck {
		nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048)
			}); err != nil {
				return err
			}
			return serr
		}}
		d.NetDialContext = nd.DialContext
	}
	url := w.base + "/topics/" + string(topic) + "/live"
	if q != "" {
		url += "?" + q
	}
	conn, resp, err := d.Dial(url, nil)
	if err != nil {
		if resp == nil {
			w.t.Fatalf("%s: dial: %v", name, err)
		}
		defer resp.Body.Close()
		var eb httpapi.ErrorBody
		if jerr := json.NewDecoder(resp.Body).Decode(&eb); jerr != nil {
			w.t.Fatalf("%s: dial: %v, and the answer is no error body: %v", name, err, jerr)
		}
		return nil, resp.StatusCode, &eb.Error
	}
	if conn.Subprotocol() != testProtocol.Name {
		w.t.Errorf("the server chose %q, want %q", conn.Subprotocol(), testProtocol.Name)
	}
	c := &client{t: w.t, conn: conn, msgs: make(chan Message, 4096), read: make(chan struct{}), done: make(chan struct{})}
	if !stuck {
		close(c.read)
	}
	go func() {
		defer close(c.done)
		<-c.read
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				c.err = err
				return
			}
			var m Message
			if err := json.Unmarshal(data, &m); err != nil {
				c.err = err
				return
			}
			c.msgs <- m
		}
	}()
	w.t.Cleanup(c.Close)
	return c, http.StatusSwitchingProtocols, nil
}

// Close closes the connection and waits for the reader.
func (c *client) Close() {
	c.conn.Close()
	select {
	case <-c.read:
	default:
		close(c.read)
	}
	<-c.done
}

// next waits for the next message match accepts, skipping others.
func (c *client) next(what string, match func(Message) bool) Message {
	c.t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case m := <-c.msgs:
			if match(m) {
				return m
			}
		case <-c.done:
			select {
			case m := <-c.msgs:
				if match(m) {
					return m
				}
				continue
			default:
			}
			c.t.Fatalf("the connection ended (%v) before %s", c.err, what)
		case <-timeout:
			c.t.Fatalf("no %s within %v", what, wait)
		}
	}
}

// view waits for a view of version v.
func (c *client) view(v int64) testView {
	c.t.Helper()
	var tv testView
	c.next("the view of version "+strconv.FormatInt(v, 10), func(m Message) bool {
		if m.Type != TypeView || m.Version != v {
			return false
		}
		if err := json.Unmarshal(m.View, &tv); err != nil {
			c.t.Fatal(err)
		}
		return true
	})
	return tv
}

// upTo collects what arrives until a message of type typ at version v, that one included.
func (c *client) upTo(typ string, v int64) []Message {
	c.t.Helper()
	var out []Message
	c.next(typ+" "+strconv.FormatInt(v, 10), func(m Message) bool {
		out = append(out, m)
		return m.Type == typ && m.Version == v
	})
	return out
}

// closed waits until the server closed the connection and returns the error message it
// sent before (if any) and the close frame.
func (c *client) closed() (*httpapi.Problem, *websocket.CloseError) {
	c.t.Helper()
	var problem *httpapi.Problem
	note := func(m Message) {
		if m.Type == TypeError {
			problem = m.Error
		}
	}
	timeout := time.After(wait)
	for {
		select {
		case m := <-c.msgs:
			note(m)
			continue
		case <-timeout:
			c.t.Fatalf("the server did not close the connection within %v", wait)
		case <-c.done:
		}
		for len(c.msgs) > 0 {
			note(<-c.msgs)
		}
		var ce *websocket.CloseError
		if !errors.As(c.err, &ce) {
			c.t.Fatalf("the connection ended with %v, not a close frame", c.err)
		}
		return problem, ce
	}
}

// mustClose checks the error message and the close frame of a connection the server ended.
func (c *client) mustClose(code string, closeCode int) {
	c.t.Helper()
	p, ce := c.closed()
	if ce.Code != closeCode || (code != "" && (p == nil || p.Code != code || p.Message == "" || ce.Text != code)) {
		c.t.Errorf("closed with %d %q after %+v, want %d after an error message %s", ce.Code, ce.Text, p, closeCode, code)
	}
}

// waitWatchers waits until the hub holds n connections.
func (w *world) waitWatchers(n int) {
	w.t.Helper()
	for start := time.Now(); w.hub.Watchers() != n; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > wait {
			w.t.Fatalf("%d connections, want %d", w.hub.Watchers(), n)
		}
	}
}

func (w *world) viewsOf(name string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.views[name]
}

// quietConfig: nothing happens by time within a test unless it says so.
var quietConfig = Config{SendBuffer: 64, PingInterval: time.Minute, PongTimeout: time.Minute, WriteTimeout: 5 * time.Second,
	PerPrincipal: 4, MaxConnections: 100, ViewWorkers: 2, Poll: time.Hour, SoonInterval: time.Hour}

// noUpgrade sends a plain GET, with a valid token, where a WebSocket is expected, and
// returns the code of the refusal.
func noUpgrade(url string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, "http"+strings.TrimPrefix(url, "ws"), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer alice")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var eb httpapi.ErrorBody
	err = json.NewDecoder(resp.Body).Decode(&eb)
	return eb.Error.Code, err
}
