package opening

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// watcher is one live connection to one hall.
type watcher struct {
	live      *HallLive
	token     string
	principal kaiping.Principal
	overseer  bool
	tender    kaiping.ID
	section   kaiping.ID
	addr      netip.Addr
	after     int64 // the events the client asked for first (?after=N), or -1

	// view and viewVersion are the view computed before the upgrade; floor is set when the
	// watcher joins its room (under live.mu): events at or below it are not handed to it.
	view        []byte
	viewVersion int64
	floor       int64

	conn   *websocket.Conn
	out    chan []byte   // messages waiting to be written: bounded, never waited on
	stale  chan struct{} // the watcher's own view changed
	queue  chan struct{} // only its place in the verification queue changed
	closed chan struct{}
	once   sync.Once
	why    liveClose

	mu     sync.Mutex
	queued bool        // it has an envelope in the verification queue
	reader EventReader // which events it may read, set with each view
}

// liveClose is why a connection closes: the close code and the error shown before it.
type liveClose struct {
	code int
	err  error
}

func liveClosing(code int, err error) liveClose { return liveClose{code: code, err: err} }

const watcherKey = "kaiping.hall.watcher"

// handle checks the request before the upgrade (token, role, the hall and the watcher's
// right to it, the limits) and computes the first view, so that a refusal is an ordinary
// error answer.
func (l *HallLive) handle(c *fiber.Ctx) error {
	if !websocket.IsWebSocketUpgrade(c) {
		return kaiping.E(kaiping.KindInvalid, "hall.live_not_websocket", "此地址是开标大厅的实时连接，只接受 WebSocket 连接")
	}
	p, _ := httpapi.PrincipalOf(c)
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	w := &watcher{live: l, token: httpapi.TokenOf(c), principal: p, tender: id, after: -1, overseer: overseer(c)}
	if w.overseer {
		w.reader = EventReader{Overseer: true}
	}
	if q := c.Query("after"); q != "" {
		if w.after, err = strconv.ParseInt(q, 10, 64); err != nil || w.after < 0 {
			return invalid("hall.events_after", "after 须为非负整数（上次收到的版本号）")
		}
	}
	w.addr = httpapi.AddrOf(c)
	if err := l.admit(p.ID, false); err != nil {
		return err
	}
	ref := strings.Clone(c.Params("section"))
	if w.view, w.viewVersion, w.section, err = l.viewOf(c.UserContext(), w, ref); err != nil {
		return err
	}
	c.Locals(watcherKey, w)
	return l.upgrade(c)
}

// viewOf computes w's view: the board for an overseer, its own view for a bidder (which
// checks that it may watch this hall). It also notes what in the view decides which events
// the bidder may read (its own once it has envelopes in the sealed set: before the seal it
// reads only those for all) and whether a later change concerns it.
func (l *HallLive) viewOf(ctx context.Context, w *watcher, ref string) (frame []byte, version int64, section kaiping.ID, err error) {
	if w.overseer {
		v, err := l.hall.Board(ctx, w.tender, ref)
		if err != nil {
			return nil, 0, "", err
		}
		frame, err = viewFrame(v.Version, v)
		return frame, v.Version, v.Section, err
	}
	v, err := l.hall.BidderView(ctx, kaiping.ActorAt(w.principal.ID, w.addr, l.clock.Now()), w.tender, ref)
	if err != nil {
		return nil, 0, "", err
	}
	w.mu.Lock()
	w.queued = slices.ContainsFunc(v.Envelopes, func(e UnlockStatus) bool { return e.State == EnvQueued || e.State == EnvVerifying })
	w.reader = EventReader{}
	if len(v.Envelopes) > 0 {
		w.reader.Bidder = w.principal.ID
	}
	w.mu.Unlock()
	frame, err = viewFrame(v.Version, v)
	return frame, v.Version, v.Section, err
}

// serve runs one connection after the upgrade: it joins the hall's room, writes the first
// messages, then writes what the room hands it while another goroutine reads the client's
// pings, until either side ends it.
func (l *HallLive) serve(c *websocket.Conn) {
	w, ok := c.Locals(watcherKey).(*watcher)
	if !ok {
		return
	}
	w.conn = c
	w.closed = make(chan struct{})
	// Checked again now that the connection counts: others may have come meanwhile.
	if err := l.admit(w.principal.ID, true); err != nil {
		w.close(liveClosing(closeCode(err), err))
		w.finish(nil)
		return
	}
	defer l.release(w.principal.ID)
	w.out = make(chan []byte, l.cfg.SendBuffer)
	w.stale = make(chan struct{}, 1)
	w.queue = make(chan struct{}, 1)
	first, err := l.first(w, l.join(w))
	defer l.leave(w)
	if err != nil {
		w.close(liveClosing(closeCode(err), err))
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		w.readLoop()
	}()
	w.writeLoop(first)
	w.finish(read)
}

// first returns the messages a connection starts with: the events after ?after=N it asked
// for, then the view, computed again if the room had moved past it when the watcher joined.
func (l *HallLive) first(w *watcher, joined int64) ([][]byte, error) {
	var out [][]byte
	if w.after >= 0 && w.after < joined {
		r := w.eventReader()
		evs, err := l.hall.store.Events(l.ctx, w.section, max(w.after, joined-maxEventsPage), r, maxEventsPage)
		if err != nil {
			return nil, err
		}
		evs = r.Filter(evs)
		for i := range evs {
			if evs[i].Version > joined {
				break
			}
			b, err := json.Marshal(LiveMessage{Type: LiveEvent, Version: evs[i].Version, Event: &evs[i]})
			if err != nil {
				return nil, kaiping.Internal("hall.live event", err)
			}
			out = append(out, b)
		}
	}
	// The first view is written once: the watcher does not keep it for its lifetime.
	view := w.view
	w.view = nil
	if joined > w.viewVersion {
		var err error
		if view, _, _, err = l.viewOf(l.ctx, w, string(w.section)); err != nil {
			return nil, err
		}
	}
	return append(out, view), nil
}

// eventReader is which events the watcher may read now.
func (w *watcher) eventReader() EventReader {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reader
}

// sees says whether the event goes to a watcher reading as r with floor: what it has not
// had yet, and of that what its audience lets r read.
func (w *watcher) sees(r EventReader, b *batchEvent) bool {
	return b.Version > w.floor && r.Sees(b.Audience, b.Bidder)
}

// concerned says whether a batch may have changed the bidder's own view (not only its
// version): any event it may read (those for all, so that a kind of change added later
// refreshes the views rather than leaving them stale, and its own), and any change at all
// while it has an envelope in the queue, whose place in line moves as others are verified.
// Another bidder's events and the overseers' leave its view as it was.
func (w *watcher) concerned(batch []batchEvent) concern {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := concernNone
	for i := range batch {
		b := &batch[i]
		switch {
		case b.Version <= w.floor:
		case w.reader.Sees(b.Audience, b.Bidder):
			return concernOwn
		case w.queued:
			c = concernQueue
		}
	}
	return c
}

// concern is how a batch of events changes a bidder's own view.
type concern int

const (
	concernNone  concern = iota
	concernQueue         // only its place in the verification queue may have moved
	concernOwn           // its bid, or the hall, changed
)

// send queues a message for the watcher without waiting: a watcher whose buffer is full is
// dropped (it reconnects and gets the current view).
func (w *watcher) send(frame []byte) bool {
	select {
	case <-w.closed:
		return false
	default:
	}
	select {
	case w.out <- frame:
		return true
	default:
		w.close(liveSlow)
		return false
	}
}

// refresh asks the watcher's goroutine to compute its view again.
func (w *watcher) refresh() {
	select {
	case w.stale <- struct{}{}:
	default:
	}
}

// refreshQueue asks the watcher's goroutine to compute its view again within
// QueueViewInterval of the last one, for its place in the queue.
func (w *watcher) refreshQueue() {
	select {
	case w.queue <- struct{}{}:
	default:
	}
}

// close ends the connection for why; the first reason wins. It never blocks.
func (w *watcher) close(why liveClose) {
	w.once.Do(func() {
		w.why = why
		close(w.closed)
	})
}

// writeLoop is the only writer of data messages: the first messages, then what the room
// queues, views computed again, and pings, until the connection closes.
func (w *watcher) writeLoop(first [][]byte) {
	l := w.live
	for _, f := range first {
		if !w.write(f) {
			return
		}
	}
	ping := time.NewTicker(l.cfg.PingInterval)
	defer ping.Stop()
	// A queue-only change waits for queueDue, at most QueueViewInterval after the last view.
	var lastView time.Time
	var queueDue <-chan time.Time
	view := func() bool {
		if !w.drain() || !w.writeView(ping.C) {
			return false
		}
		lastView, queueDue = time.Now(), nil
		return true
	}
	for {
		select {
		case <-w.closed:
			return
		case f := <-w.out:
			if !w.write(f) {
				return
			}
		case <-w.stale:
			if !view() {
				return
			}
		case <-w.queue:
			if wait := l.cfg.QueueViewInterval - time.Since(lastView); wait > 0 {
				if queueDue == nil {
					queueDue = time.After(wait)
				}
			} else if !view() {
				return
			}
		case <-queueDue:
			if !view() {
				return
			}
		case <-ping.C:
			if !w.ping() {
				return
			}
		}
	}
}

// ping checks the session is still valid (a session ends here as it does for every other
// request) and pings the client.
func (w *watcher) ping() bool {
	l := w.live
	if _, err := l.auth.Authenticate(l.ctx, w.token); err != nil {
		w.close(liveClosing(closeCode(err), err))
		return false
	}
	if err := l.stillAssigned(w); err != nil {
		w.close(liveClosing(closeCode(err), err))
		return false
	}
	if err := w.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(l.cfg.WriteTimeout)); err != nil {
		w.close(liveGone)
		return false
	}
	return true
}

// drain writes what is already queued, so that a view computed next is not followed by
// older news.
func (w *watcher) drain() bool {
	for {
		select {
		case f := <-w.out:
			if !w.write(f) {
				return false
			}
		default:
			return true
		}
	}
}

// writeView computes the watcher's view, a few watchers at a time, and writes it. While it
// waits for its turn it goes on writing what the room queues, so that its buffer does not
// fill for want of a database connection, and pinging, so that a client kept waiting is not
// dropped as silent (its pong is what keeps the connection's read deadline).
func (w *watcher) writeView(ping <-chan time.Time) bool {
	l := w.live
	for waiting := true; waiting; {
		select {
		case l.views <- struct{}{}:
			waiting = false
		case f := <-w.out:
			if !w.write(f) {
				return false
			}
		case <-ping:
			if !w.ping() {
				return false
			}
		case <-w.closed:
			return false
		}
	}
	frame, _, _, err := l.viewOf(l.ctx, w, string(w.section))
	<-l.views
	if err != nil {
		// A bidder not in the sealed set loses the hall here (hall.not_bidder).
		w.close(liveClosing(closeCode(err), err))
		return false
	}
	return w.write(frame)
}

func (w *watcher) write(frame []byte) bool {
	_ = w.conn.SetWriteDeadline(time.Now().Add(w.live.cfg.WriteTimeout))
	if err := w.conn.WriteMessage(websocket.TextMessage, frame); err != nil {
		w.close(liveGone)
		return false
	}
	return true
}

// liveGone is a connection that broke: nobody is there to tell.
var liveGone = liveClosing(websocket.CloseGoingAway, nil)

// readLoop reads the client's messages: pings, answered with a pong, and nothing else. A
// client silent for longer than a ping and its timeout is gone.
func (w *watcher) readLoop() {
	l, c := w.live, w.conn
	c.SetReadLimit(maxClientMessage)
	alive := func() { _ = c.SetReadDeadline(time.Now().Add(l.cfg.PingInterval + l.cfg.PongTimeout)) }
	alive()
	c.SetPongHandler(func(string) error { alive(); return nil })
	for {
		typ, data, err := c.ReadMessage()
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, websocket.ErrReadLimit):
				// The library has sent 1009 already.
				w.close(liveClosing(websocket.CloseMessageTooBig, nil))
			case errors.As(err, &ne) && ne.Timeout():
				w.close(liveClosing(websocket.ClosePolicyViolation,
					kaiping.E(kaiping.KindInvalid, "hall.live_timeout", "连接长时间无响应，已断开：请重新连接")))
			default:
				w.close(liveGone)
			}
			return
		}
		alive()
		t, err := clientPing(typ, data)
		if err != nil {
			w.close(liveClosing(websocket.ClosePolicyViolation, err))
			return
		}
		now := l.clock.Now()
		pong, err := json.Marshal(LiveMessage{Type: LivePong, T: t, ServerTime: &now,
			ClockProblem: kaiping.MessageOf(kaiping.Synchronised(l.clock))})
		if err != nil || !w.send(pong) {
			return
		}
	}
}

// clientPing reads a client message: {"type":"ping"} with an optional number t, nothing
// else; anything else is "hall.live_bad_message".
func clientPing(typ int, data []byte) (json.Number, error) {
	bad := kaiping.E(kaiping.KindInvalid, "hall.live_bad_message",
		`实时连接只接受 {"type":"ping"} 消息；开标大厅的操作（签到、确认、异议等）请通过页面按钮或 HTTP 接口提交`)
	if typ != websocket.TextMessage {
		return "", bad
	}
	var m struct {
		Type string      `json:"type"`
		T    json.Number `json:"t"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m.Type != LivePing {
		return "", bad
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", bad
	}
	return m.T, nil
}

// finish tells the client why the connection ends (an error message, then the close frame),
// gives it a moment to answer the close, and ends the reader; the socket closes when the
// handler returns.
func (w *watcher) finish(read <-chan struct{}) {
	c, why := w.conn, w.why
	deadline := time.Now().Add(time.Second)
	reason := ""
	if why.err != nil {
		p := problemOf(w.live, why.err)
		reason = p.Code
		if b, err := json.Marshal(LiveMessage{Type: LiveError, Error: &p}); err == nil {
			_ = c.SetWriteDeadline(deadline)
			_ = c.WriteMessage(websocket.TextMessage, b)
		}
	}
	if why != liveGone {
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(why.code, reason), deadline)
	}
	if read == nil {
		_ = c.SetReadDeadline(deadline)
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				break
			}
		}
		return
	}
	select {
	case <-read:
		return
	case <-time.After(time.Until(deadline)):
	}
	// The hijacked socket is closed only when this handler returns (closing it here does
	// nothing): the reader is ended by its deadline instead, again should it have just
	// moved it on.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		_ = c.SetReadDeadline(time.Now())
		select {
		case <-read:
			return
		case <-tick.C:
		}
	}
}

// problemOf is what the client is told of err: internal errors are logged, never shown.
func problemOf(l *HallLive, err error) httpapi.Problem {
	var ke *kaiping.Error
	if kaiping.KindOf(err) == kaiping.KindInternal || !errors.As(err, &ke) {
		l.log.Error("hall live", "err", err)
		return httpapi.Problem{Code: "internal", Message: "服务器内部错误"}
	}
	return httpapi.Problem{Code: ke.Code, Message: ke.Message}
}

// closeCode is the close code for an error: 1013 when the client should come back later,
// 1011 for our own failure, 1008 for the rest (it may not, or may no longer, watch).
func closeCode(err error) int {
	switch kaiping.KindOf(err) {
	case kaiping.KindUnavailable:
		return websocket.CloseTryAgainLater
	case kaiping.KindInternal:
		return websocket.CloseInternalServerErr
	}
	return websocket.ClosePolicyViolation
}

// stillAssigned checks that an overseer still holds a duty on the watched tender: an
// assignment revoked while watching ends the watch at the next ping, as it refuses the
// next request.
func (l *HallLive) stillAssigned(w *watcher) error {
	if !w.overseer {
		return nil
	}
	duties, err := l.staff.Duties(l.ctx, w.tender, w.principal.ID)
	if err != nil {
		return err
	}
	for _, d := range duties {
		if slices.Contains(hallDuties, d) && w.principal.Has(d.Role()) {
			return nil
		}
	}
	return httpapi.NotAssigned(hallDuties)
}
