package signaling

import (
	"context"
	"sync"
)

// EventBuffer is how many events a subscriber of Events may fall behind before it is cut off.
const EventBuffer = 1024

// Hub fans room events out to the subscribers of Media.Events. Publishing never blocks: a
// media server must not stall because a consumer is slow, so a subscriber whose buffer is
// full loses its subscription (its channel closes) instead. Backends embed one.
type Hub struct {
	mu     sync.Mutex
	subs   map[*hubSub]struct{}
	closed bool
}

type hubSub struct {
	room string
	ch   chan RoomEvent
	once sync.Once
}

func (s *hubSub) close() { s.once.Do(func() { close(s.ch) }) }

// Subscribe returns a channel of the events of room ("" for all rooms), closed when ctx ends,
// when the hub closes, or when the subscriber falls EventBuffer events behind.
func (h *Hub) Subscribe(ctx context.Context, room string) (<-chan RoomEvent, error) {
	s := &hubSub{room: room, ch: make(chan RoomEvent, EventBuffer)}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed()
	}
	if h.subs == nil {
		h.subs = map[*hubSub]struct{}{}
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	context.AfterFunc(ctx, func() { h.drop(s) })
	return s.ch, nil
}

func (h *Hub) drop(s *hubSub) {
	h.mu.Lock()
	delete(h.subs, s)
	s.close()
	h.mu.Unlock()
}

// Publish delivers ev to every subscriber of its room and of all rooms.
func (h *Hub) Publish(ev RoomEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.room != "" && s.room != ev.Room {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			delete(h.subs, s)
			s.close()
		}
	}
}

// Close ends every subscription; later Subscribe calls fail.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		delete(h.subs, s)
		s.close()
	}
}
