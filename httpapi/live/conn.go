package live

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gofiber/contrib/websocket"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// conn is one live connection to one topic.
type conn[E Event] struct {
	hub       *Hub[E]
	w         Watcher[E]
	class     string // its shared class (Shared), or ""
	token     string
	principal kaiping.ID
	topic     kaiping.ID
	after     int64 // the events the client asked for first (?after=N), or -1

	// view and viewVersion are the view computed before the upgrade; floor is set when the
	// watcher joins its room (under hub.mu): events at or below it are not handed to it.
	view        []byte
	viewVersion int64
	floor       int64

	ws     *websocket.Conn
	out    chan []byte   // messages waiting to be written: bounded, never waited on
	stale  chan struct{} // the watcher's own view changed
	soon   chan struct{} // its view changed in a way that may wait (ChangedSoon)
	closed chan struct{}
	once   sync.Once
	why    closeReason
}

// closeReason is why a connection closes: the close code and the error shown before it.
// gone is a connection that broke: nobody is there to tell.
type closeReason struct {
	code int
	err  error
	gone bool
}

func closing(code int, err error) closeReason { return closeReason{code: code, err: err} }

var gone = closeReason{code: websocket.CloseGoingAway, gone: true}

// serve runs one connection after the upgrade: it joins the topic's room, writes the first
// messages, then writes what the room hands it while another goroutine reads the client's
// pings, until either side ends it.
func (h *Hub[E]) serve(ws *websocket.Conn) {
	c, ok := ws.Locals(connKey).(*conn[E])
	if !ok {
		return
	}
	c.ws = ws
	c.closed = make(chan struct{})
	// Checked again now that the connection counts: others may have come meanwhile.
	if err := h.admit(c.principal, true); err != nil {
		c.close(closing(closeCode(err), err))
		c.finish(nil)
		return
	}
	defer h.release(c.principal)
	c.out = make(chan []byte, h.cfg.SendBuffer)
	c.stale = make(chan struct{}, 1)
	c.soon = make(chan struct{}, 1)
	first, err := c.first(h.join(c))
	defer h.leave(c)
	if err != nil {
		c.close(closing(closeCode(err), err))
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		c.readLoop()
	}()
	c.writeLoop(first)
	c.finish(read)
}

// first returns the messages a connection starts with: the events after ?after=N it asked
// for, then the view, computed again if the room had moved past it when the watcher joined.
func (c *conn[E]) first(joined int64) ([][]byte, error) {
	h := c.hub
	var out [][]byte
	if c.after >= 0 && c.after < joined {
		// Versions have no gaps: one page from here reaches joined.
		evs, err := h.src.Events(h.ctx, c.topic, max(c.after, joined-int64(h.cfg.Page)), h.cfg.Page)
		if err != nil {
			return nil, err
		}
		for i := range evs {
			v := evs[i].LiveVersion()
			if v > joined {
				break
			}
			if !c.w.Sees(evs[i]) {
				continue
			}
			b, err := EventFrame(v, evs[i])
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		}
	}
	// The first view is written once: the connection does not keep it for its lifetime.
	view := c.view
	c.view = nil
	if joined > c.viewVersion {
		var err error
		if _, view, err = c.w.View(h.ctx); err != nil {
			return nil, err
		}
	}
	return append(out, view), nil
}

// send queues a message for the watcher without waiting: a watcher whose buffer is full is
// dropped (it reconnects and gets the current view).
func (c *conn[E]) send(frame []byte) bool {
	select {
	case <-c.closed:
		return false
	default:
	}
	select {
	case c.out <- frame:
		return true
	default:
		c.close(c.hub.slow())
		return false
	}
}

// refresh asks the watcher's goroutine to compute its view again.
func (c *conn[E]) refresh() {
	select {
	case c.stale <- struct{}{}:
	default:
	}
}

// refreshSoon asks the watcher's goroutine to compute its view again within
// SoonInterval of the last one.
func (c *conn[E]) refreshSoon() {
	select {
	case c.soon <- struct{}{}:
	default:
	}
}

// close ends the connection for why; the first reason wins. It never blocks.
func (c *conn[E]) close(why closeReason) {
	c.once.Do(func() {
		c.why = why
		close(c.closed)
	})
}

// writeLoop is the only writer of data messages: the first messages, then what the room
// queues, views computed again, and pings, until the connection closes.
func (c *conn[E]) writeLoop(first [][]byte) {
	h := c.hub
	for _, f := range first {
		if !c.write(f) {
			return
		}
	}
	ping := time.NewTicker(h.cfg.PingInterval)
	defer ping.Stop()
	// A change that may wait waits for soonDue, at most SoonInterval after the last view.
	var lastView time.Time
	var soonDue <-chan time.Time
	view := func() bool {
		if !c.drain() || !c.writeView(ping.C) {
			return false
		}
		lastView, soonDue = time.Now(), nil
		return true
	}
	for {
		select {
		case <-c.closed:
			return
		case f := <-c.out:
			if !c.write(f) {
				return
			}
		case <-c.stale:
			if !view() {
				return
			}
		case <-c.soon:
			if wait := h.cfg.SoonInterval - time.Since(lastView); wait > 0 {
				if soonDue == nil {
					soonDue = time.After(wait)
				}
			} else if !view() {
				return
			}
		case <-soonDue:
			if !view() {
				return
			}
		case <-ping.C:
			if !c.ping() {
				return
			}
		}
	}
}

// ping checks the session is still valid (a session ends here as it does for every other
// request), then what the domain checks again (an assignment), and pings the client.
func (c *conn[E]) ping() bool {
	h := c.hub
	if _, err := h.auth.Authenticate(h.ctx, c.token); err != nil {
		c.close(closing(closeCode(err), err))
		return false
	}
	if err := c.w.Recheck(h.ctx); err != nil {
		c.close(closing(closeCode(err), err))
		return false
	}
	if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.cfg.WriteTimeout)); err != nil {
		c.close(gone)
		return false
	}
	return true
}

// drain writes what is already queued, so that a view computed next is not followed by
// older news.
func (c *conn[E]) drain() bool {
	for {
		select {
		case f := <-c.out:
			if !c.write(f) {
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
func (c *conn[E]) writeView(ping <-chan time.Time) bool {
	h := c.hub
	for waiting := true; waiting; {
		select {
		case h.views <- struct{}{}:
			waiting = false
		case f := <-c.out:
			if !c.write(f) {
				return false
			}
		case <-ping:
			if !c.ping() {
				return false
			}
		case <-c.closed:
			return false
		}
	}
	_, frame, err := c.w.View(h.ctx)
	<-h.views
	if err != nil {
		// A watcher that may no longer watch loses it here (a bidder not in the sealed set).
		c.close(closing(closeCode(err), err))
		return false
	}
	return c.write(frame)
}

func (c *conn[E]) write(frame []byte) bool {
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.hub.cfg.WriteTimeout))
	if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
		c.close(gone)
		return false
	}
	return true
}

// readLoop reads the client's messages: pings, answered with a pong, and nothing else. A
// client silent for longer than a ping and its timeout is gone.
func (c *conn[E]) readLoop() {
	h, ws := c.hub, c.ws
	ws.SetReadLimit(maxClientMessage)
	alive := func() { _ = ws.SetReadDeadline(time.Now().Add(h.cfg.PingInterval + h.cfg.PongTimeout)) }
	alive()
	ws.SetPongHandler(func(string) error { alive(); return nil })
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, websocket.ErrReadLimit):
				// The library has sent 1009 already.
				c.close(closing(websocket.CloseMessageTooBig, nil))
			case errors.As(err, &ne) && ne.Timeout():
				c.close(closing(websocket.ClosePolicyViolation,
					kaiping.E(kaiping.KindInvalid, h.proto.Area+".live_timeout", "连接长时间无响应，已断开：请重新连接")))
			default:
				c.close(gone)
			}
			return
		}
		alive()
		t, err := h.proto.clientPing(typ, data)
		if err != nil {
			c.close(closing(websocket.ClosePolicyViolation, err))
			return
		}
		now := h.clock.Now()
		pong, err := json.Marshal(Message{Type: TypePong, T: t, ServerTime: &now,
			ClockProblem: kaiping.MessageOf(kaiping.Synchronised(h.clock))})
		if err != nil || !c.send(pong) {
			return
		}
	}
}

// clientPing reads a client message: {"type":"ping"} with an optional number t, nothing
// else; anything else is "<area>.live_bad_message".
func (p Protocol) clientPing(typ int, data []byte) (json.Number, error) {
	bad := kaiping.Errorf(kaiping.KindInvalid, p.Area+".live_bad_message",
		`实时连接只接受 {"type":"ping"} 消息；%s的操作（%s）请通过页面按钮或 HTTP 接口提交`, p.Place, p.Actions)
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
	if err := dec.Decode(&m); err != nil || m.Type != TypePing {
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
func (c *conn[E]) finish(read <-chan struct{}) {
	ws, why := c.ws, c.why
	deadline := time.Now().Add(time.Second)
	reason := ""
	if why.err != nil {
		p := c.hub.problemOf(why.err)
		reason = p.Code
		if b, err := json.Marshal(Message{Type: TypeError, Error: &p}); err == nil {
			_ = ws.SetWriteDeadline(deadline)
			_ = ws.WriteMessage(websocket.TextMessage, b)
		}
	}
	if !why.gone {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(why.code, reason), deadline)
	}
	if read == nil {
		_ = ws.SetReadDeadline(deadline)
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
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
		_ = ws.SetReadDeadline(time.Now())
		select {
		case <-read:
			return
		case <-tick.C:
		}
	}
}

// problemOf is what the client is told of err: internal errors are logged, never shown.
func (h *Hub[E]) problemOf(err error) httpapi.Problem {
	var ke *kaiping.Error
	if kaiping.KindOf(err) == kaiping.KindInternal || !errors.As(err, &ke) {
		h.log.Error(h.proto.Area+" live", "err", err)
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
