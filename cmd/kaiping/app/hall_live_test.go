package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/httpapi"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
	"github.com/kaiping/kaiping/storage/postgres"
)

// liveWait bounds each wait for a live message in these tests.
const liveWait = 10 * time.Second

// liveClient is a Go client of the hall's live connection: a goroutine reads every message
// into msgs until the connection ends, then err says how (a *websocket.CloseError when the
// server closed it).
type liveClient struct {
	tb   testing.TB
	conn *websocket.Conn
	msgs chan opening.LiveMessage
	done chan struct{}
	err  error
}

// liveDialer offers the token as a subprotocol, as the pages do.
func liveDialer(token string) *websocket.Dialer {
	d := &websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{opening.LiveProtocol}}
	if token != "" {
		d.Subprotocols = append(d.Subprotocols, httpapi.BearerProtocol+token)
	}
	return d
}

// dialLive connects to the live endpoint at path of the server at base; a refusal before
// the upgrade comes back as an *apiclient.Error with its status and code.
func dialLive(tb testing.TB, d *websocket.Dialer, base, path string, header http.Header) (*liveClient, error) {
	tb.Helper()
	conn, resp, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+path, header)
	if err != nil {
		if resp == nil {
			return nil, err
		}
		defer resp.Body.Close()
		var eb httpapi.ErrorBody
		if jerr := json.NewDecoder(resp.Body).Decode(&eb); jerr != nil {
			return nil, err
		}
		return nil, &apiclient.Error{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	if got := conn.Subprotocol(); got != opening.LiveProtocol {
		tb.Errorf("the server chose the subprotocol %q, want %q (never the token)", got, opening.LiveProtocol)
	}
	c := &liveClient{tb: tb, conn: conn, msgs: make(chan opening.LiveMessage, 4096), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				c.err = err
				return
			}
			var m opening.LiveMessage
			if err := json.Unmarshal(data, &m); err != nil {
				c.err = err
				return
			}
			c.msgs <- m
		}
	}()
	tb.Cleanup(c.Close)
	return c, nil
}

func mustDialLive(tb testing.TB, base, path, token string) *liveClient {
	tb.Helper()
	c, err := dialLive(tb, liveDialer(token), base, path, nil)
	if err != nil {
		tb.Fatalf("connect to %s: %v", path, err)
	}
	return c
}

// Close closes the connection and waits for the reader.
func (c *liveClient) Close() {
	c.conn.Close()
	<-c.done
}

// next waits for the next message that match accepts, skipping the others.
func (c *liveClient) next(what string, match func(opening.LiveMessage) bool) opening.LiveMessage {
	c.tb.Helper()
	timeout := time.After(liveWait)
	for {
		select {
		case m := <-c.msgs:
			if match(m) {
				return m
			}
		case <-c.done:
			// The reader may have queued messages before it stopped.
			select {
			case m := <-c.msgs:
				if match(m) {
					return m
				}
				continue
			default:
			}
			c.tb.Fatalf("the connection ended (%v) before %s", c.err, what)
		case <-timeout:
			c.tb.Fatalf("no %s within %v", what, liveWait)
		}
	}
}

// event waits for an event of type typ.
func (c *liveClient) event(typ string) opening.HallEvent {
	c.tb.Helper()
	return *c.next("event "+typ, func(m opening.LiveMessage) bool { return m.Type == opening.LiveEvent && m.Event.Type == typ }).Event
}

// bidderView waits for a bidder's view that ok accepts.
func (c *liveClient) bidderView(what string, ok func(opening.BidderHallView) bool) opening.BidderHallView {
	c.tb.Helper()
	return liveView(c, "bidder view: "+what, ok)
}

// board waits for a board that ok accepts.
func (c *liveClient) board(what string, ok func(opening.BoardView) bool) opening.BoardView {
	c.tb.Helper()
	return liveView(c, "board: "+what, ok)
}

// liveView waits for a view message whose view, decoded as V, ok accepts.
func liveView[V any](c *liveClient, what string, ok func(V) bool) V {
	c.tb.Helper()
	var v V
	c.next(what, func(m opening.LiveMessage) bool {
		if m.Type != opening.LiveView {
			return false
		}
		var zero V
		v = zero
		if err := json.Unmarshal(m.View, &v); err != nil {
			c.tb.Fatal(err)
		}
		return ok(v)
	})
	return v
}

// closed waits until the server closed the connection and returns the error message it
// sent before (if any) and the close frame.
func (c *liveClient) closed() (*httpapi.Problem, *websocket.CloseError) {
	c.tb.Helper()
	var problem *httpapi.Problem
	timeout := time.After(liveWait)
	for {
		select {
		case m := <-c.msgs:
			if m.Type == opening.LiveError {
				problem = m.Error
			}
			continue
		case <-timeout:
			c.tb.Fatalf("the server did not close the connection within %v", liveWait)
		case <-c.done:
		}
		for len(c.msgs) > 0 {
			if m := <-c.msgs; m.Type == opening.LiveError {
				problem = m.Error
			}
		}
		var ce *websocket.CloseError
		if !errors.As(c.err, &ce) {
			c.tb.Fatalf("the connection ended with %v, not a close frame", c.err)
		}
		return problem, ce
	}
}

// all drains what has arrived so far, waiting quiet for a moment.
func (c *liveClient) all(quiet time.Duration) []opening.LiveMessage {
	var out []opening.LiveMessage
	for {
		select {
		case m := <-c.msgs:
			out = append(out, m)
		case <-time.After(quiet):
			return out
		}
	}
}

func (w *hallWorld) livePath() string { return w.hallPath("/live") }

func (w *hallWorld) watch(t *testing.T, c *apiclient.Client) *liveClient {
	t.Helper()
	return mustDialLive(t, w.ta.base, w.livePath(), c.Token)
}

// mustClosedWith checks the message and the close frame of a connection the server ended.
func mustClosedWith(t *testing.T, c *liveClient, code string, closeCode int) {
	t.Helper()
	p, ce := c.closed()
	if ce.Code != closeCode || (code != "" && (p == nil || p.Code != code || p.Message == "" || ce.Text != code)) {
		t.Errorf("closed with %d %q after %+v, want %d after an error message %s", ce.Code, ce.Text, p, closeCode, code)
	}
}

// TestHallLive: who may watch, what each watcher gets (a bidder never another bidder's
// events), a reconnecting client gets the current state and the events it missed, and
// every kind of garbage a client sends closes its connection with the reason.
func TestHallLive(t *testing.T) {
	w := mustHallWorld(t, 4, nil)
	ctx := context.Background()
	for i, x := range w.bidders {
		w.mustSubmit(t, x, seal.Summary, summaryJSON("1000000", 100+i))
	}
	a, b, c := w.bidders[0], w.bidders[1], w.bidders[2]
	outsider, _, _ := w.mustBidder(t, devpki.ECDSA, "未投标的投标人") // registered, never submits

	// Before the seal a registered bidder watches a hall that is still taking bids.
	early := w.watch(t, a.c)
	if v := early.bidderView("at bidding", func(opening.BidderHallView) bool { return true }); v.State != opening.HallBidding {
		t.Fatalf("first view before the seal: %s", v.State)
	}
	unsealed := w.watch(t, outsider)
	unsealed.bidderView("at bidding", func(opening.BidderHallView) bool { return true })
	w.sealNow(t)
	// A registered bidder that submitted nothing loses the hall when the set is sealed.
	mustClosedWith(t, unsealed, "hall.not_bidder", websocket.ClosePolicyViolation)
	if e := early.event("hall.transition"); e.Bidder != "" || e.Version != 1 {
		t.Errorf("the seal pushed %+v", e)
	}
	early.bidderView("sealed, with its envelope", func(v opening.BidderHallView) bool {
		return v.State == opening.HallSealed && len(v.Envelopes) == 1
	})
	early.Close()

	t.Run("refused before the upgrade, with the API's codes", func(t *testing.T) {
		expert := w.ta.mustLogin(t, w.ta.mustRegister(t, w.admin, devpki.ECDSA, "某评标专家", kaiping.RoleExpert))
		for range opening.DefaultLiveConfig.PerPrincipal {
			mustDialLive(t, w.ta.base, w.livePath(), c.c.Token).Close()
		}
		var full []*liveClient
		for range opening.DefaultLiveConfig.PerPrincipal {
			full = append(full, mustDialLive(t, w.ta.base, w.livePath(), c.c.Token))
		}
		forged := []byte(a.c.Token)
		forged[len(forged)-3] ^= 1
		otherTender := "/api/v1/tenders/" + string(kaiping.NewID()) + "/sections/BD1/hall/live"
		refusals := []struct {
			name, path, token string
			status            int
			code              string
		}{
			{"no token", w.livePath(), "", 401, "auth.missing_token"},
			{"a forged token", w.livePath(), string(forged), 401, "auth.token_invalid"},
			{"an expert", w.livePath(), expert.Token, 403, "auth.role_forbidden"},
			{"a bidder with no bid in the set", w.livePath(), outsider.Token, 403, "hall.not_bidder"},
			{"an unknown tender", otherTender, a.c.Token, 404, "tender.not_found"},
			{"an unknown section", w.path("X/hall/live"), a.c.Token, 404, "tender.section_not_found"},
			{"a negative version", w.livePath() + "?after=-1", a.c.Token, 400, "hall.events_after"},
			{"one connection too many", w.livePath(), c.c.Token, 409, "hall.live_too_many"},
		}
		for _, r := range refusals {
			_, err := dialLive(t, liveDialer(r.token), w.ta.base, r.path, nil)
			var ae *apiclient.Error
			if !errors.As(err, &ae) || ae.Status != r.status || ae.Code != r.code || ae.Message == "" {
				t.Errorf("%s: %v, want %d %s", r.name, err, r.status, r.code)
			}
		}
		for _, f := range full {
			f.Close()
		}
		if err := rawRequest(t, http.MethodGet, w.ta.base+w.livePath(), a.c.Token, ""); apiCode(err) != "hall.live_not_websocket" {
			t.Errorf("a plain GET: %v, want hall.live_not_websocket", err)
		}
		// Tools that can set Authorization use it instead of the subprotocol.
		byHeader, err := dialLive(t, liveDialer(""), w.ta.base, w.livePath(), http.Header{"Authorization": {"Bearer " + b.c.Token}})
		if err != nil {
			t.Fatalf("token in the Authorization header: %v", err)
		}
		byHeader.bidderView("by header", func(v opening.BidderHallView) bool { return v.State == opening.HallSealed })
		byHeader.Close()
	})

	la, lb, host := w.watch(t, a.c), w.watch(t, b.c), w.watch(t, w.host)
	la.bidderView("first", func(opening.BidderHallView) bool { return true })
	lb.bidderView("first", func(opening.BidderHallView) bool { return true })
	host.board("first", func(v opening.BoardView) bool { return v.CheckedIn == 0 && len(v.Board) == 4 })

	w.mustMove(t, opening.HallCheckingIn, 0)
	for _, x := range []*hallBidder{a, b} {
		if err := w.checkIn(x); err != nil {
			t.Fatal(err)
		}
	}
	host.board("attendance 2", func(v opening.BoardView) bool { return v.CheckedIn == 2 })
	la.bidderView("own check-in", func(v opening.BidderHallView) bool { return v.CheckedIn != nil })
	st := w.mustMove(t, opening.HallDecrypting, 30)
	la.next("the window open", func(m opening.LiveMessage) bool { return m.Type == opening.LiveEvent && m.Version == st.Version })
	w.mustUnlockAll(t, b)
	lb.bidderView("decrypted", func(v opening.BidderHallView) bool { return v.Envelopes[0].State == opening.EnvDecrypted })
	host.board("B decrypted", func(v opening.BoardView) bool { return v.Decrypted == 1 })

	// A sees the public events and its own, never B's.
	seen := map[int64]bool{}
	for _, m := range la.all(300 * time.Millisecond) {
		switch m.Type {
		case opening.LiveEvent:
			seen[m.Version] = true
			if m.Event.Bidder != "" && m.Event.Bidder != a.id {
				t.Errorf("bidder A received bidder %s's event %+v", m.Event.Bidder, m.Event)
			}
		case opening.LiveView:
			var v opening.BidderHallView
			if err := json.Unmarshal(m.View, &v); err != nil || len(v.Envelopes) != 1 || v.Envelopes[0].State != opening.EnvSealed {
				t.Errorf("A's view: %v, envelopes %+v", err, v.Envelopes)
			}
		}
	}
	var hostEvents struct{ Events []opening.HallEvent }
	if err := w.host.Do(ctx, http.MethodGet, w.hallPath("/events?after=0"), nil, &hostEvents); err != nil {
		t.Fatal(err)
	}
	for _, e := range hostEvents.Events {
		if e.Bidder == b.id && seen[e.Version] {
			t.Errorf("A received B's %s (version %d)", e.Type, e.Version)
		}
	}

	// A's page goes away; the hall moves on; A comes back.
	lastSeen := st.Version
	la.Close()
	if err := w.checkIn(c); err != nil {
		t.Fatal(err)
	}
	w.mustUnlockAll(t, a) // from A's tool, while its page is closed
	w.waitVerified(t, a)

	t.Run("a reconnecting client gets the current view, after the events it missed", func(t *testing.T) {
		back := mustDialLive(t, w.ta.base, w.livePath()+"?after="+strconv.FormatInt(lastSeen, 10), a.c.Token)
		var replay []opening.HallEvent
		m := back.next("the view", func(m opening.LiveMessage) bool {
			if m.Type == opening.LiveEvent {
				replay = append(replay, *m.Event)
			}
			return m.Type == opening.LiveView
		})
		var v opening.BidderHallView
		if err := json.Unmarshal(m.View, &v); err != nil {
			t.Fatal(err)
		}
		if v.Version != w.hallVersion(t) || v.Envelopes[0].State != opening.EnvDecrypted || v.CheckedIn == nil {
			t.Errorf("after reconnecting A sees version %d (the hall is at %d), envelope %+v", v.Version, w.hallVersion(t), v.Envelopes[0])
		}
		// Should the room still be reading the last change, its events follow the view.
		for _, m := range back.all(300 * time.Millisecond) {
			if m.Type == opening.LiveEvent {
				replay = append(replay, *m.Event)
			}
		}
		var missed struct{ Events []opening.HallEvent }
		if err := a.c.Do(ctx, http.MethodGet, w.hallPath("/events?after="+strconv.FormatInt(lastSeen, 10)), nil, &missed); err != nil {
			t.Fatal(err)
		}
		if len(replay) != len(missed.Events) || len(replay) < 2 {
			t.Fatalf("replayed %d events, want A's %d events after version %d", len(replay), len(missed.Events), lastSeen)
		}
		for i, e := range replay {
			if e.Version != missed.Events[i].Version || e.Type != missed.Events[i].Type || e.Bidder != "" && e.Bidder != a.id {
				t.Errorf("replayed %d: %+v, want %+v", i, e, missed.Events[i])
			}
		}
	})

	t.Run("a ping is answered with the server's time", func(t *testing.T) {
		lc := w.watch(t, a.c)
		if err := lc.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping","t":1234.5}`)); err != nil {
			t.Fatal(err)
		}
		pong := lc.next("pong", func(m opening.LiveMessage) bool { return m.Type == opening.LivePong })
		if pong.T != "1234.5" || pong.ServerTime == nil || !pong.ServerTime.Equal(w.ta.clock.Now()) {
			t.Errorf("pong %+v: want t 1234.5 and the server's time %v", pong, w.ta.clock.Now())
		}
		lc.Close()
	})

	t.Run("garbage from the client closes its connection with the reason", func(t *testing.T) {
		garbage := []struct {
			name  string
			typ   int
			data  []byte
			code  string
			close int
		}{
			{"text that is not JSON", websocket.TextMessage, []byte("hello"), "hall.live_bad_message", websocket.ClosePolicyViolation},
			{"a binary message", websocket.BinaryMessage, []byte{0, 1, 2}, "hall.live_bad_message", websocket.ClosePolicyViolation},
			{"another type", websocket.TextMessage, []byte(`{"type":"checkin"}`), "hall.live_bad_message", websocket.ClosePolicyViolation},
			{"an unknown field", websocket.TextMessage, []byte(`{"type":"ping","to":"host"}`), "hall.live_bad_message", websocket.ClosePolicyViolation},
			{"trailing data", websocket.TextMessage, []byte(`{"type":"ping"} {}`), "hall.live_bad_message", websocket.ClosePolicyViolation},
			{"a ping whose t is not a number", websocket.TextMessage, []byte(`{"type":"ping","t":"soon"}`), "hall.live_bad_message", websocket.ClosePolicyViolation},
			{"a message too big", websocket.TextMessage, bytes.Repeat([]byte(" "), 4096), "", websocket.CloseMessageTooBig},
		}
		for _, g := range garbage {
			t.Run(g.name, func(t *testing.T) {
				version, size := w.hallVersion(t), w.ta.ledgerSize(t)
				lc := w.watch(t, a.c)
				lc.bidderView("first", func(opening.BidderHallView) bool { return true })
				if err := lc.conn.WriteMessage(g.typ, g.data); err != nil {
					t.Fatal(err)
				}
				mustClosedWith(t, lc, g.code, g.close)
				if w.hallVersion(t) != version || w.ta.ledgerSize(t) != size {
					t.Error("garbage changed the hall")
				}
			})
		}
		waitWatchers(t, w.ta.Live, 2) // B's and the host's
	})
	lb.Close()
	host.Close()
	waitWatchers(t, w.ta.Live, 0)
}

// waitWatchers waits until live holds n connections.
func waitWatchers(t *testing.T, live *opening.HallLive, n int) {
	t.Helper()
	for start := time.Now(); live.Watchers() != n; time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > liveWait {
			t.Fatalf("%d live connections, want %d", live.Watchers(), n)
		}
	}
}

// liveGoroutines counts the goroutines serving live connections and their halls' rooms.
func liveGoroutines() int {
	var buf bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&buf, 2)
	n := 0
	for _, g := range strings.Split(buf.String(), "\n\n") {
		if strings.Contains(g, "httpapi/live.(*conn[") || strings.Contains(g, "httpapi/live.(*room[") || strings.Contains(g, "httpapi/live.(*Hub[...]).serve") {
			n++
		}
	}
	return n
}

// mustLive runs another live hall over the app's hall and identity, with cfg, its own
// listener and its own port, as another process would.
func mustLive(t *testing.T, ta *testApp, cfg opening.LiveConfig) (*opening.HallLive, string) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	notes := postgres.NewListener(ta.setup.Config.Database.URL, quiet)
	live := opening.NewHallLive(ta.Hall, ta.Identity, ta.Routes.Staff, notes.Channel(postgres.HallChannel), ta.clock, quiet, cfg)
	f := fiber.New(fiber.Config{ErrorHandler: httpapi.ErrorHandler(quiet), DisableStartupMessage: true})
	reg := httpapi.Registry{Staff: ta.Routes.Staff}
	reg.Mount(f, ta.Identity, live.Routes()...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { notes.Run(ctx); done <- struct{}{} }()
	go func() { live.Run(ctx); done <- struct{}{} }()
	go func() { _ = f.Listener(ln) }()
	t.Cleanup(func() {
		_ = f.Shutdown()
		cancel()
		<-done
		<-done
	})
	return live, "http://" + ln.Addr().String()
}

// mustPublishedHall is a section of three bidders whose record is published, ready for
// objections (events everyone sees, as many as a test wants).
func mustPublishedHall(t *testing.T) *hallWorld {
	t.Helper()
	w := mustHallWorld(t, 3, nil)
	for i, x := range w.bidders {
		w.mustSubmit(t, x, seal.Summary, summaryJSON(strconv.Itoa(2000000+i), 60+i))
	}
	w.sealNow(t)
	w.mustMove(t, opening.HallCheckingIn, 0)
	w.mustPublishAll(t)
	return w
}

// mustPublishAll takes a hall in check-in to its published record: every bidder checks in
// and decrypts everything, and the host publishes.
func (w *hallWorld) mustPublishAll(t *testing.T) {
	t.Helper()
	for _, x := range w.bidders {
		if err := w.checkIn(x); err != nil {
			t.Fatal(err)
		}
	}
	w.mustMove(t, opening.HallDecrypting, 0)
	for _, x := range w.bidders {
		w.mustUnlockAll(t, x)
	}
	for _, x := range w.bidders {
		w.waitVerified(t, x)
	}
	w.mustMove(t, opening.HallPublished, 0)
}

// object has b raise an objection through the hall service itself (faster than HTTP).
func (w *hallWorld) object(t *testing.T, b *hallBidder, text string) opening.Objection {
	t.Helper()
	o, err := w.ta.Hall.Object(context.Background(), kaiping.ActorAt(b.id, netip.MustParseAddr("127.0.0.1"), w.ta.clock.Now()),
		w.tender.ID, "BD1", opening.ObjectionRequest{Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// dialStuck connects as a client that never reads, with a tiny receive buffer, so that
// what the server writes soon stops going anywhere.
func dialStuck(t *testing.T, base, path, token string) *websocket.Conn {
	t.Helper()
	nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048)
		}); err != nil {
			return err
		}
		return serr
	}}
	d := liveDialer(token)
	d.NetDialContext = nd.DialContext
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestHallLiveSlowWatchers: a watcher that never reads is dropped when its send buffer
// fills, one that stops answering pings when its time is up, one whose session ends at the
// next ping; meanwhile everyone else gets every change at once, and when they are gone no
// goroutine of theirs is left.
func TestHallLiveSlowWatchers(t *testing.T) {
	w := mustPublishedHall(t)
	a := w.bidders[0]
	if n := liveGoroutines(); n != 0 {
		t.Fatalf("%d live goroutines before the test", n)
	}

	t.Run("a watcher that never reads is dropped when its buffer fills; nobody waits for it", func(t *testing.T) {
		live, base := mustLive(t, w.ta, opening.LiveConfig{SendBuffer: 4, PingInterval: time.Minute, PongTimeout: time.Minute,
			WriteTimeout: time.Second, PerPrincipal: 4, MaxConnections: 3, ViewWorkers: 2, Poll: time.Minute})
		good := mustDialLive(t, base, w.livePath(), w.host.Token)
		good.board("first", func(opening.BoardView) bool { return true })
		// Another bidder than the objector: it reads none of the objections.
		bidder := mustDialLive(t, base, w.livePath(), w.bidders[1].c.Token)
		bidder.bidderView("first", func(opening.BidderHallView) bool { return true })
		stuck := dialStuck(t, base, w.livePath(), w.host.Token)
		waitWatchers(t, live, 3)
		if _, err := dialLive(t, liveDialer(w.bidders[2].c.Token), base, w.livePath(), nil); apiCode(err) != "hall.live_full" {
			t.Errorf("a fourth connection to a process that takes three: %v, want hall.live_full", err)
		}
		// The host's board grows with every objection: the stuck socket fills fast.
		var raised []opening.Objection
		for live.Watchers() == 3 {
			if len(raised) == 500 {
				t.Fatal("500 objections and the watcher that never reads is still connected")
			}
			start := time.Now()
			raised = append(raised, w.object(t, a, strings.Repeat("开标记录中的报价与我方投标文件不一致，", 8)))
			good.event("hall.objection")
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("objection %d took %v to reach a reading watcher: something waited for the stuck one", len(raised), d)
			}
		}
		t.Logf("dropped after %d objections", len(raised))
		for _, m := range bidder.all(300 * time.Millisecond) {
			if m.Type == opening.LiveEvent && m.Event.Type == "hall.objection" {
				t.Errorf("another bidder read %s's objection (version %d)", a.name, m.Version)
			}
		}
		// The stuck client's socket ends, and no more than that.
		_ = stuck.SetReadDeadline(time.Now().Add(liveWait))
		for {
			if _, _, err := stuck.ReadMessage(); err != nil {
				var ce *websocket.CloseError
				var ne net.Error
				// 1013 if the close frame got through, 1006 if the socket closed before.
				if errors.As(err, &ce) && ce.Code != websocket.CloseTryAgainLater && ce.Code != websocket.CloseAbnormalClosure || errors.As(err, &ne) && ne.Timeout() {
					t.Errorf("the stuck client's connection ended with %v, want 1013 or the socket closed", err)
				}
				break
			}
		}
		good.board("still served", func(v opening.BoardView) bool { return len(v.Objections) == len(raised) })
		good.Close()
		bidder.Close()
		waitWatchers(t, live, 0)
	})

	t.Run("a watcher that stops answering pings is dropped; one that answers stays", func(t *testing.T) {
		// The pong timeout leaves a loaded machine (-race, two cores, other packages) time to
		// answer: the answering client must never be dropped for the scheduler's delay.
		live, base := mustLive(t, w.ta, opening.LiveConfig{SendBuffer: 16, PingInterval: 250 * time.Millisecond, PongTimeout: 1500 * time.Millisecond,
			WriteTimeout: time.Second, PerPrincipal: 4, MaxConnections: 100, ViewWorkers: 2, Poll: time.Minute})
		good := mustDialLive(t, base, w.livePath(), a.c.Token)
		good.bidderView("first", func(opening.BidderHallView) bool { return true })
		silent := dialStuck(t, base, w.livePath(), a.c.Token)
		waitWatchers(t, live, 2)
		start := time.Now()
		waitWatchers(t, live, 1)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("the silent watcher was dropped after %v, want about 1.75 s", d)
		}
		silent.Close()
		time.Sleep(time.Second) // four more pings, all answered by the reading client
		w.object(t, a, "我方对唱标结果无异议，仅确认解密时间")
		good.event("hall.objection")

		// A host whose assignment is revoked while watching the board is closed at the next
		// ping, as its next request would be refused.
		hostWatch := mustDialLive(t, base, w.livePath(), w.host.Token)
		hostWatch.board("first", func(opening.BoardView) bool { return true })
		for _, asg := range w.ta.mustStaff(t, w.tender.ID) {
			if asg.Principal == principalID(t, w.host) && asg.RevokedAt == nil {
				w.ta.mustRevoke(t, w.tender.ID, asg.ID)
			}
		}
		mustClosedWith(t, hostWatch, "tender.not_assigned", websocket.ClosePolicyViolation)

		// Its session ends: the next ping closes it, as any request would be refused.
		w.ta.clock.Advance(31 * time.Minute)
		mustClosedWith(t, good, "auth.token_expired", websocket.ClosePolicyViolation)
		waitWatchers(t, live, 0)
		w.relogin(t)
	})

	for start := time.Now(); liveGoroutines() != 0; time.Sleep(50 * time.Millisecond) {
		if time.Since(start) > liveWait {
			var buf bytes.Buffer
			_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
			t.Fatalf("%d live goroutines left:\n%s", liveGoroutines(), buf.String())
		}
	}
}

// mustReplica starts a second kaiping server on the app's database, buckets, keys and
// clock: a second process behind the same load balancer.
func (ta *testApp) mustReplica(t *testing.T) *testApp {
	t.Helper()
	b, err := New(context.Background(), ta.setup.Config, WithClock(ta.clock), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = b.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Shutdown(ctx)
	})
	return &testApp{App: b, setup: ta.setup, clock: ta.clock, base: "http://" + ln.Addr().String()}
}

// liveBound is how soon a change made through one process must reach a watcher of the
// other: far above what it takes (milliseconds), far below the 30 s safety poll.
const liveBound = 3 * time.Second

// TestHallTwoProcesses: two kaiping processes on one database show the same hall. Changes
// made through A reach the watchers of B, also when both lost their listening connection
// in between (notices sent meanwhile are lost: B reads the hall again once it listens).
func TestHallTwoProcesses(t *testing.T) {
	w := mustHallWorld(t, 3, nil)
	ctx := context.Background()
	for i, x := range w.bidders {
		w.mustSubmit(t, x, seal.Summary, summaryJSON("3000000", 30+i))
	}
	w.sealNow(t)
	a, b := w.bidders[0], w.bidders[1]
	replica := w.ta.mustReplica(t)
	hostB := mustDialLive(t, replica.base, w.livePath(), w.host.Token)
	hostB.board("first", func(v opening.BoardView) bool { return v.State == opening.HallSealed })
	aB := mustDialLive(t, replica.base, w.livePath(), a.c.Token)
	aB.bidderView("first", func(v opening.BidderHallView) bool { return v.State == opening.HallSealed })

	within := func(what string, start time.Time) {
		t.Helper()
		if d := time.Since(start); d > liveBound {
			t.Errorf("%s reached the other process's watcher after %v, want within %v", what, d, liveBound)
		} else {
			t.Logf("%s: %v from the request through process A to the watcher on B", what, d)
		}
	}
	start := time.Now()
	w.mustMove(t, opening.HallCheckingIn, 0) // through A
	hostB.event("hall.transition")
	within("the transition", start)
	if v := aB.bidderView("checking in", func(v opening.BidderHallView) bool { return v.State == opening.HallCheckingIn }); v.CheckedIn != nil {
		t.Errorf("A checked in before it did: %+v", v.CheckedIn)
	}

	start = time.Now()
	if err := w.checkIn(a); err != nil { // through A
		t.Fatal(err)
	}
	if e := aB.event("hall.checkin"); e.Bidder != a.id {
		t.Errorf("check-in event %+v", e)
	}
	within("A's check-in", start)
	hostB.board("attendance 1", func(v opening.BoardView) bool { return v.CheckedIn == 1 })

	var killed int
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'kaiping-listener' AND datname = current_database()`).Scan(&killed); err != nil || killed != 2 {
		t.Fatalf("terminated %d listening sessions, %v; want both processes'", killed, err)
	}
	start = time.Now()
	if err := w.checkIn(b); err != nil { // through A, while nobody listens
		t.Fatal(err)
	}
	hostB.board("attendance 2, after B listens again", func(v opening.BoardView) bool { return v.CheckedIn == 2 })
	within("B's check-in, made while the listeners were down", start)
	for _, m := range aB.all(200 * time.Millisecond) {
		if m.Type == opening.LiveEvent && m.Event.Bidder == b.id {
			t.Errorf("bidder A's watcher on B received B's %s", m.Event.Type)
		}
	}
}
