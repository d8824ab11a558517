package seat

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/kaiping/kaiping/signaling/wire"
)

// conn is one signaling WebSocket: writes are serialised; a reader goroutine delivers
// messages on msgs until the socket fails, then closes msgs.
type conn struct {
	ws   *websocket.Conn
	mu   sync.Mutex
	msgs chan wire.Message
	err  error // why msgs closed (read after msgs is closed)
}

func dial(ctx context.Context, cfg Config) (*conn, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, NetDialContext: cfg.Dial}
	ws, _, err := d.DialContext(ctx, cfg.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("seat: connect to %s: %w", cfg.URL, err)
	}
	ws.SetReadLimit(wire.MaxServerMessageBytes)
	c := &conn{ws: ws, msgs: make(chan wire.Message, 64)}
	go c.readLoop()
	return c, nil
}

func (c *conn) readLoop() {
	defer close(c.msgs)
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			c.err = err
			return
		}
		m, err := wire.Parse(b)
		if err != nil {
			c.err = fmt.Errorf("seat: server sent a bad message: %w", err)
			return
		}
		c.msgs <- m
	}
}

// send writes m. A socket that fails a write is closed, so that its reader ends too and the
// agent resumes on a new one, as when a read fails.
func (c *conn) send(m wire.Message) error {
	b, err := wire.Marshal(m)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		_ = c.ws.Close()
		return fmt.Errorf("seat: signaling connection lost: %w", err)
	}
	return nil
}

func (c *conn) close() { _ = c.ws.Close() }

// next waits for the next message.
func (c *conn) next(ctx context.Context) (wire.Message, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case m, ok := <-c.msgs:
		if !ok {
			return nil, fmt.Errorf("seat: signaling connection lost: %w", c.err)
		}
		return m, nil
	}
}
