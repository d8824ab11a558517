package opening

import (
	"context"
	"net/netip"
	"slices"
	"sync"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
	"github.com/kaiping/kaiping/httpapi/live"
)

// hallWatcher is one live connection to one hall, as the hall sees it (live.Watcher): who
// watches, which events it may read, and its view: the board for the overseers (one
// shared class, computed once per change for all of them), its own view for a bidder.
type hallWatcher struct {
	live      *HallLive
	principal kaiping.Principal
	overseer  bool
	tender    kaiping.ID
	section   kaiping.ID
	addr      netip.Addr

	mu     sync.Mutex
	queued bool        // it has an envelope in the verification queue
	reader EventReader // which events it may read, set with each view
}

var (
	_ live.Watcher[HallEvent] = (*hallWatcher)(nil)
	_ live.Shared             = (*hallWatcher)(nil)
)

// boardClass is the shared class of the overseers: they all see the same board.
const boardClass = "board"

// Class implements live.Shared: the overseers share the board; a bidder has its own view.
func (w *hallWatcher) Class() string {
	if w.overseer {
		return boardClass
	}
	return ""
}

// View implements live.Watcher.
func (w *hallWatcher) View(ctx context.Context) (int64, []byte, error) {
	frame, version, _, err := w.viewOf(ctx, string(w.section))
	return version, frame, err
}

// viewOf computes w's view of the hall ref names: the board for an overseer, its own view
// for a bidder (which checks that it may watch this hall). It also notes what in the view
// decides which events the bidder may read (its own once it has envelopes in the sealed
// set: before the seal it reads only those for all) and whether a later change concerns it.
func (w *hallWatcher) viewOf(ctx context.Context, ref string) (frame []byte, version int64, section kaiping.ID, err error) {
	h := w.live.hall
	if w.overseer {
		v, err := h.Board(ctx, w.tender, ref)
		if err != nil {
			return nil, 0, "", err
		}
		frame, err = live.ViewFrame(v.Version, v)
		return frame, v.Version, v.Section, err
	}
	v, err := h.BidderView(ctx, kaiping.ActorAt(w.principal.ID, w.addr, w.live.clock.Now()), w.tender, ref)
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
	frame, err = live.ViewFrame(v.Version, v)
	return frame, v.Version, v.Section, err
}

// Sees implements live.Watcher: what the event's audience lets the watcher read now.
func (w *hallWatcher) Sees(e HallEvent) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reader.Sees(e.Audience, e.Bidder)
}

// Concerned implements live.Watcher for a bidder: whether a batch may have changed its own
// view (not only its version): any event it may read (those for all, so that a kind of
// change added later refreshes the views rather than leaving them stale, and its own), and
// any change at all while it has an envelope in the queue, whose place in line moves as
// others are verified (refreshed at most once per SoonInterval). Another bidder's
// events and the overseers' leave its view as it was.
func (w *hallWatcher) Concerned(batch []HallEvent) live.Concern {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := live.Unchanged
	for i := range batch {
		switch {
		case w.reader.Sees(batch[i].Audience, batch[i].Bidder):
			return live.Changed
		case w.queued:
			c = live.ChangedSoon
		}
	}
	return c
}

// Recheck implements live.Watcher: an overseer must still hold a duty on the watched
// tender: an assignment revoked while watching ends the watch at the next ping, as it
// refuses the next request.
func (w *hallWatcher) Recheck(ctx context.Context) error {
	if !w.overseer {
		return nil
	}
	held, err := httpapi.HeldDuties(ctx, w.live.staff, w.tender, w.principal, hallDuties)
	if err != nil {
		return err
	}
	if len(held) == 0 {
		return httpapi.NotAssigned(hallDuties)
	}
	return nil
}
