package embedded

import (
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling/wire"
)

// outQueue bounds the messages waiting to be written to one WebSocket. A client that does
// not read its socket fast enough is disconnected (it may resume) rather than buffering
// without bound.
const outQueue = 256

// writeWait bounds one WebSocket write.
const writeWait = 10 * time.Second

// session is one WebSocket connection. Reading happens on the goroutine that serves the
// connection; writing on the session's writer goroutine, fed by send, which never blocks.
type session struct {
	conn *websocket.Conn
	log  *slog.Logger
	ping time.Duration

	out      chan []byte
	finished chan struct{} // closed by finish: write what is queued, then close
	done     chan struct{} // closed when the writer has exited and the socket is closed
	once     sync.Once
}

func newSession(conn *websocket.Conn, log *slog.Logger, ping time.Duration) *session {
	s := &session{
		conn: conn, log: log, ping: ping,
		out: make(chan []byte, outQueue), finished: make(chan struct{}), done: make(chan struct{}),
	}
	go s.writeLoop()
	return s
}

// send queues m; it reports false if the session is finished or its queue is full (then the
// session is finished: the client is too slow).
func (s *session) send(m wire.Message) bool {
	b, err := wire.Marshal(m)
	if err != nil {
		s.log.Error("marshal signaling message", "type", m.MessageType(), "err", err)
		return false
	}
	select {
	case <-s.finished:
		return false
	default:
	}
	select {
	case s.out <- b:
		return true
	default:
		s.log.Warn("signaling client too slow, disconnecting")
		s.finish(nil)
		return false
	}
}

// finish queues last (if any) as the final message and has the writer close the socket once
// everything queued is written.
func (s *session) finish(last wire.Message) {
	if last != nil {
		s.send(last)
	}
	s.once.Do(func() { close(s.finished) })
}

// fail sends err as a fatal error message and finishes the session.
func (s *session) fail(err error) {
	s.finish(wire.ErrorMessage(err, true))
}

func (s *session) writeLoop() {
	defer close(s.done)
	defer s.conn.Close()
	ping := time.NewTicker(s.ping)
	defer ping.Stop()
	for {
		select {
		case b := <-s.out:
			if !s.write(b) {
				return
			}
		case <-ping.C:
			if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				return
			}
		case <-s.finished:
			for {
				select {
				case b := <-s.out:
					if !s.write(b) {
						return
					}
				default:
					_ = s.conn.WriteControl(websocket.CloseMessage,
						websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
					return
				}
			}
		}
	}
}

func (s *session) write(b []byte) bool {
	_ = s.conn.SetWriteDeadline(time.Now().Add(writeWait))
	if err := s.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		s.log.Debug("signaling write failed", "err", err)
		s.once.Do(func() { close(s.finished) })
		return false
	}
	return true
}

// errClosed reports a socket that closed or timed out: not the client's fault in a way it
// needs telling about.
var errClosed = errors.New("signaling socket closed")

// read returns the next message. Protocol errors (binary frames, oversized or malformed
// messages) are *kaiping.Error; a closed or silent socket is errClosed.
func (s *session) read(limit int) (wire.Message, error) {
	typ, r, err := s.conn.NextReader()
	if err != nil {
		return nil, errClosed
	}
	if typ != websocket.TextMessage {
		return nil, kaiping.E(kaiping.KindInvalid, wire.CodeMessageInvalid, "信令消息须为文本帧（JSON）")
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, errClosed
	}
	if len(b) > limit {
		return nil, wire.ErrTooLarge(limit)
	}
	return wire.Parse(b)
}

// extend pushes the read deadline out: any message or pong proves the client is there.
func (s *session) extend() {
	_ = s.conn.SetReadDeadline(time.Now().Add(2*s.ping + 5*time.Second))
}
