package opening

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/contrib/websocket"

	"github.com/kaiping/kaiping"
)

// liveRoom is one hall as this process watches it: the watchers connected to it and the
// last version fanned out to them. Its goroutine reads the events after that version once,
// whoever is watching, and hands each watcher what it may see without ever waiting for one.
type liveRoom struct {
	live    *HallLive
	tender  kaiping.ID
	section kaiping.ID
	wakeup  chan struct{} // a notice came; one is enough for any number of them
	stop    chan struct{} // the last watcher left

	// watchers and version are guarded by live.mu: a watcher joins at a version, and
	// either is in the snapshot of the batch after it or has that batch in its view.
	watchers map[*watcher]struct{}
	version  int64
}

// wake asks the room to read what changed; it never blocks.
func (r *liveRoom) wake() {
	select {
	case r.wakeup <- struct{}{}:
	default:
	}
}

// join adds w to the room of its hall, creating the room at w's view's version, and
// returns the room's version: the room hands w the events after it. Events at or below
// w's view's version are not handed to w unless it asked for events (?after=N), which it
// then gets up to the returned version from first.
func (l *HallLive) join(w *watcher) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.rooms[w.section]
	if r == nil {
		r = &liveRoom{live: l, tender: w.tender, section: w.section, wakeup: make(chan struct{}, 1),
			stop: make(chan struct{}), watchers: map[*watcher]struct{}{}, version: w.viewVersion}
		l.rooms[w.section] = r
		l.wg.Add(1)
		go r.run()
		// A change may have committed between the view and now, its notice gone to nobody.
		r.wake()
	}
	r.watchers[w] = struct{}{}
	w.floor = r.version
	if w.after < 0 {
		w.floor = max(r.version, w.viewVersion)
	}
	return r.version
}

// leave takes w out of its room; the last one out stops the room.
func (l *HallLive) leave(w *watcher) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.rooms[w.section]
	if r == nil {
		return
	}
	delete(r.watchers, w)
	if len(r.watchers) == 0 {
		delete(l.rooms, w.section)
		close(r.stop)
	}
}

// closeAll closes every watcher of the room; the caller holds live.mu.
func (r *liveRoom) closeAll(why liveClose) {
	for w := range r.watchers {
		w.close(why)
	}
}

func (r *liveRoom) run() {
	defer r.live.wg.Done()
	for {
		select {
		case <-r.stop:
			return
		case <-r.wakeup:
		}
		if err := r.catchUp(); err != nil && r.live.ctx.Err() == nil {
			r.live.log.Error("hall live: read events", "section_id", r.section, "err", err)
			// Try again shortly, should the database be back.
			time.AfterFunc(time.Second, r.wake)
		}
	}
}

// catchUp reads the events after the room's version, page by page, and fans each page out.
func (r *liveRoom) catchUp() error {
	ctx := r.live.ctx
	for {
		r.live.mu.Lock()
		after := r.version
		r.live.mu.Unlock()
		// Read once for every watcher of the room, then filtered per watcher (fanOut).
		evs, err := r.live.hall.store.Events(ctx, r.section, after, EventReader{Overseer: true}, maxEventsPage)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			return nil
		}
		if err := r.fanOut(ctx, evs); err != nil {
			return err
		}
		if len(evs) < maxEventsPage {
			return nil
		}
	}
}

// batchEvent is an event of a batch, encoded once for every watcher that may read it.
type batchEvent struct {
	HallEvent
	frame []byte
}

// fanOut hands a batch of events to every watcher: first the events, encoded once, then the
// views they changed: the board, computed once for all overseers, and each bidder's own view
// when the batch concerns it (computed on that watcher's goroutine, never here). A batch
// that does not concern a bidder leaves its view as it was but for the version, which the
// events carry.
func (r *liveRoom) fanOut(ctx context.Context, evs []HallEvent) error {
	batch := make([]batchEvent, len(evs))
	for i := range evs {
		b := &batch[i]
		b.HallEvent = evs[i]
		frame, err := json.Marshal(LiveMessage{Type: LiveEvent, Version: b.Version, Event: &b.HallEvent})
		if err != nil {
			return kaiping.Internal("hall.live event", err)
		}
		b.frame = frame
	}
	last := evs[len(evs)-1].Version

	r.live.mu.Lock()
	r.version = last
	watchers := make([]*watcher, 0, len(r.watchers))
	overseers := 0
	for w := range r.watchers {
		watchers = append(watchers, w)
		if w.overseer {
			overseers++
		}
	}
	r.live.mu.Unlock()

	for _, w := range watchers {
		reader := w.eventReader()
		for i := range batch {
			if w.sees(reader, &batch[i]) && !w.send(batch[i].frame) {
				break
			}
		}
	}

	// Should the board fail here, each overseer computes its own (and closes if that fails).
	var board []byte
	if overseers > 0 {
		board, _ = r.board(ctx)
	}
	for _, w := range watchers {
		switch {
		case w.overseer && board != nil:
			w.send(board)
		case w.overseer:
			w.refresh()
		default:
			switch w.concerned(batch) {
			case concernOwn:
				w.refresh()
			case concernQueue:
				w.refreshQueue()
			}
		}
	}
	return nil
}

// board is the host's board message, once for all overseers.
func (r *liveRoom) board(ctx context.Context) ([]byte, error) {
	v, err := r.live.hall.Board(ctx, r.tender, string(r.section))
	if err != nil {
		r.live.log.Warn("hall live: board", "section_id", r.section, "err", err)
		return nil, err
	}
	return viewFrame(v.Version, v)
}

// viewFrame encodes a view message, as LiveMessage would but without scanning the view (a
// board of a thousand bidders is large) a second time.
func viewFrame(version int64, view any) ([]byte, error) {
	v, err := json.Marshal(view)
	if err != nil {
		return nil, kaiping.Internal("hall.live view", err)
	}
	b := make([]byte, 0, len(v)+48)
	b = append(b, `{"type":"view","version":`...)
	b = strconv.AppendInt(b, version, 10)
	b = append(b, `,"view":`...)
	b = append(b, v...)
	return append(b, '}'), nil
}

// liveSlow is why a watcher that did not keep up is dropped.
var liveSlow = liveClosing(websocket.CloseTryAgainLater,
	kaiping.E(kaiping.KindUnavailable, "hall.live_slow", "网络过慢，未能及时接收开标大厅的更新：请重新连接"))
