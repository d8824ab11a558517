package live

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/contrib/websocket"

	"github.com/kaiping/kaiping"
)

// room is one topic as this process watches it: the watchers connected to it and the last
// version fanned out to them. Its goroutine reads the events after that version once,
// whoever is watching, and hands each watcher what it may see without ever waiting for one.
type room[E Event] struct {
	hub    *Hub[E]
	topic  kaiping.ID
	wakeup chan struct{} // a notice came; one is enough for any number of them
	stop   chan struct{} // the last watcher left

	// watchers and version are guarded by hub.mu: a watcher joins at a version, and either
	// is in the snapshot of the batch after it or has that batch in its view.
	watchers map[*conn[E]]struct{}
	version  int64
}

// wake asks the room to read what changed; it never blocks.
func (r *room[E]) wake() {
	select {
	case r.wakeup <- struct{}{}:
	default:
	}
}

// join adds c to the room of its topic, creating the room at c's view's version, and
// returns the room's version: the room hands c the events after it. Events at or below
// c's view's version are not handed to c unless it asked for events (?after=N), which it
// then gets up to the returned version from first.
func (h *Hub[E]) join(c *conn[E]) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[c.topic]
	if r == nil {
		r = &room[E]{hub: h, topic: c.topic, wakeup: make(chan struct{}, 1),
			stop: make(chan struct{}), watchers: map[*conn[E]]struct{}{}, version: c.viewVersion}
		h.rooms[c.topic] = r
		h.wg.Add(1)
		go r.run()
		// A change may have committed between the view and now, its notice gone to nobody.
		r.wake()
	}
	r.watchers[c] = struct{}{}
	c.floor = r.version
	if c.after < 0 {
		c.floor = max(r.version, c.viewVersion)
	}
	return r.version
}

// leave takes c out of its room; the last one out stops the room.
func (h *Hub[E]) leave(c *conn[E]) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[c.topic]
	if r == nil {
		return
	}
	delete(r.watchers, c)
	if len(r.watchers) == 0 {
		delete(h.rooms, c.topic)
		close(r.stop)
	}
}

// closeAll closes every watcher of the room; the caller holds hub.mu.
func (r *room[E]) closeAll(why closeReason) {
	for c := range r.watchers {
		c.close(why)
	}
}

func (r *room[E]) run() {
	defer r.hub.wg.Done()
	for {
		select {
		case <-r.stop:
			return
		case <-r.wakeup:
		}
		if err := r.catchUp(); err != nil && r.hub.ctx.Err() == nil {
			r.hub.log.Error(r.hub.proto.Area+" live: read events", "topic_id", r.topic, "err", err)
			// Try again shortly, should the database be back.
			time.AfterFunc(time.Second, r.wake)
		}
	}
}

// catchUp reads the events after the room's version, page by page, and fans each page out.
func (r *room[E]) catchUp() error {
	ctx, page := r.hub.ctx, r.hub.cfg.Page
	for {
		r.hub.mu.Lock()
		after := r.version
		r.hub.mu.Unlock()
		// Read once for every watcher of the room, then filtered per watcher (fanOut).
		evs, err := r.hub.src.Events(ctx, r.topic, after, page)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			return nil
		}
		if err := r.fanOut(ctx, evs); err != nil {
			return err
		}
		if len(evs) < page {
			return nil
		}
	}
}

// fanOut hands a batch of events to every watcher: first the events, each encoded once,
// then the views they changed: a shared view computed once for each class of watchers that
// has one, and each other watcher's own view when the batch concerns it (computed on that
// watcher's goroutine, never here).
func (r *room[E]) fanOut(ctx context.Context, evs []E) error {
	frames := make([][]byte, len(evs))
	for i := range evs {
		frame, err := EventFrame(evs[i].LiveVersion(), evs[i])
		if err != nil {
			return err
		}
		frames[i] = frame
	}
	last := evs[len(evs)-1].LiveVersion()

	r.hub.mu.Lock()
	r.version = last
	watchers := make([]*conn[E], 0, len(r.watchers))
	classes := map[string]*conn[E]{} // one watcher of each shared class, to compute its view
	for c := range r.watchers {
		watchers = append(watchers, c)
		if c.class != "" {
			classes[c.class] = c
		}
	}
	r.hub.mu.Unlock()

	for _, c := range watchers {
		for i := range evs {
			if evs[i].LiveVersion() > c.floor && c.w.Sees(evs[i]) && !c.send(frames[i]) {
				break
			}
		}
	}

	// Should a shared view fail here, each of its watchers computes its own (and closes if
	// that fails).
	shared := make(map[string][]byte, len(classes))
	for class, c := range classes {
		if _, frame, err := c.w.View(ctx); err != nil {
			r.hub.log.Warn(r.hub.proto.Area+" live: shared view", "topic_id", r.topic, "class", class, "err", err)
		} else {
			shared[class] = frame
		}
	}
	for _, c := range watchers {
		if c.class != "" {
			if frame := shared[c.class]; frame != nil {
				c.send(frame)
			} else {
				c.refresh()
			}
			continue
		}
		switch c.w.Concerned(c.newer(evs)) {
		case Changed:
			c.refresh()
		case ChangedSoon:
			c.refreshSoon()
		}
	}
	return nil
}

// newer is the part of a batch above c's floor: what c has not had yet.
func (c *conn[E]) newer(evs []E) []E {
	for i := range evs {
		if evs[i].LiveVersion() > c.floor {
			return evs[i:]
		}
	}
	return nil
}

// ViewFrame encodes a view message, as Message would but without scanning the view (a
// board of a thousand bidders is large) a second time.
func ViewFrame(version int64, view any) ([]byte, error) {
	return frame(`{"type":"view","version":`, version, `,"view":`, view)
}

// EventFrame encodes an event message, as Message would without encoding the event twice.
func EventFrame(version int64, event any) ([]byte, error) {
	return frame(`{"type":"event","version":`, version, `,"event":`, event)
}

func frame(head string, version int64, field string, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, kaiping.Internal("live frame", err)
	}
	b := make([]byte, 0, len(body)+48)
	b = append(b, head...)
	b = strconv.AppendInt(b, version, 10)
	b = append(b, field...)
	b = append(b, body...)
	return append(b, '}'), nil
}

// slow is why a watcher that did not keep up is dropped.
func (h *Hub[E]) slow() closeReason {
	return closing(websocket.CloseTryAgainLater, kaiping.Errorf(kaiping.KindUnavailable, h.proto.Area+".live_slow",
		"网络过慢，未能及时接收%s的更新：请重新连接", h.proto.Place))
}
