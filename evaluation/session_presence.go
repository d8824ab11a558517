package evaluation

import (
	"context"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// SeatState is a seat's state in its group's room, as the host's console and the venue staff
// see it.
type SeatState string

// The seat states.
const (
	SeatOnline       SeatState = "online"       // 在线
	SeatReconnecting SeatState = "reconnecting" // 断线重连中
	SeatGone         SeatState = "gone"         // 已离开（自 Since 起）
	// SeatGonePastGrace: gone longer than Config.SeatGrace: the host may record the member as
	// having left (RemoveMember, 擅离职守).
	SeatGonePastGrace SeatState = "gone_past_grace"
)

// SeatPresence is a seat's state in the room and since when. For a gone seat Since is when it
// dropped, not when the drop was judged final, and GraceUntil when the grace ends.
type SeatPresence struct {
	State      SeatState  `json:"state"`
	Since      time.Time  `json:"since"`
	GraceUntil *time.Time `json:"grace_until,omitempty"`
	// Reason is why a seat dropped or left: the media plane's reason ("connection_lost",
	// "ice_timeout", "left", "removed").
	Reason string `json:"reason,omitempty"`
}

// seatActions are the event types of the seat states.
var seatActions = map[SeatState]string{
	SeatOnline: ActionSessionSeatOnline, SeatReconnecting: ActionSessionSeatReconnecting,
	SeatGone: ActionSessionSeatGone, SeatGonePastGrace: ActionSessionSeatPastGrace,
}

// seatPresence records p as the seat state of the sitting member of group who is principal in
// the room; nothing for anyone else (the host, a member whose place ended), for a state the
// seat already has, or once the session is over.
func (s *Session) seatPresence(group string, principal kaiping.ID, p SeatPresence) []SessionChange {
	if s.State == SessionClosed || s.State == SessionVoid {
		return nil
	}
	for _, m := range s.sitting(group) {
		if m.Principal != principal {
			continue
		}
		if m.Presence != nil && m.Presence.State == p.State {
			return nil
		}
		m.Presence = &p
		c := change(seatActions[p.State], memberPayload(m))
		c.Payload["state"], c.Payload["since"] = p.State, p.Since
		if p.Reason != "" {
			c.Payload["reason"] = p.Reason
		}
		if p.GraceUntil != nil {
			c.Payload["grace_until"] = *p.GraceUntil
		}
		return []SessionChange{c}
	}
	return nil
}

// The seat watcher's timing. A seat whose connection drops shows reconnecting at once; back
// within seatGoneAfter it shows online again, else gone since the drop. The embedded backend
// reports a connection's loss and return at its quality evaluations, every 5 s: a seat back
// within a few seconds may be reported back 5 s late, hence two evaluations' wait. The states of one
// seat are written at most once per seatWriteGap (the latest wins), so a flapping connection
// makes a few events, not a flood.
const (
	seatGoneAfter = 10 * time.Second
	seatWriteGap  = 2 * time.Second
	// seatResubscribe is the pause before following the rooms' events again after the
	// stream ended (the watcher fell behind, or the backend restarted).
	seatResubscribe = time.Second
)

// WatchSeats follows the media plane's events of the sessions' rooms until ctx ends and
// records each seat's state (online, reconnecting, gone, gone past the grace) in the session,
// with its ledger entry and event (session.seat_*). The app runs it once per process; without
// media it returns at once.
func (s *Service) WatchSeats(ctx context.Context) {
	if s.media == nil {
		return
	}
	w := &seatWatch{s: s, seats: map[seatKey]*seatLive{}, ticks: make(chan seatTick, 64)}
	w.run(ctx)
}

type seatKey struct {
	session  kaiping.ID
	group    string
	identity string
}

// seatLive is what the watcher knows of a seat: its state now, and what it last wrote.
type seatLive struct {
	now       SeatPresence
	written   SeatState
	lastWrite time.Time
	gen       int  // bumped at every change of state: a timer of an older one is stale
	flushing  bool // a write is scheduled
}

type seatTick struct {
	key  seatKey
	gen  int
	kind string // "gone", "grace" or "flush"
}

type seatWatch struct {
	s     *Service
	seats map[seatKey]*seatLive
	ticks chan seatTick
}

func (w *seatWatch) run(ctx context.Context) {
	for ctx.Err() == nil {
		events, err := w.s.media.Events(ctx, "")
		if err != nil {
			w.s.log.Error("seat watcher: room events", "err", err)
		} else {
			w.catchUp(ctx)
			w.follow(ctx, events)
		}
		select {
		case <-ctx.Done():
		case <-time.After(seatResubscribe):
		}
	}
}

// follow handles events and timers until the stream ends.
func (w *seatWatch) follow(ctx context.Context, events <-chan signaling.RoomEvent) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			w.event(ctx, ev)
		case t := <-w.ticks:
			w.tick(ctx, t)
		}
	}
}

// sessionRoomOf parses a session room's name (SessionRoom).
func sessionRoomOf(room string) (kaiping.ID, string, bool) {
	rest, ok := strings.CutPrefix(room, "session-")
	if !ok || len(rest) < 38 || rest[36] != '-' {
		return "", "", false
	}
	id := kaiping.ID(rest[:36])
	return id, rest[37:], id.Valid()
}

func (w *seatWatch) event(ctx context.Context, ev signaling.RoomEvent) {
	session, group, ok := sessionRoomOf(ev.Room)
	if !ok || ev.Hidden || ev.Participant == "" {
		return
	}
	key := seatKey{session, group, ev.Participant}
	switch ev.Type {
	case signaling.EventJoined:
		w.back(ctx, key)
	case signaling.EventConnectionQuality:
		if ev.Quality == signaling.QualityLost {
			w.drop(ctx, key, "connection_lost")
		} else {
			w.back(ctx, key)
		}
	case signaling.EventLeft:
		switch ev.Reason {
		case "replaced":
			// The same seat joined again on a new connection: its joined event says so.
		case "room_closed", "server_closed":
			delete(w.seats, key)
		case "left", "removed":
			w.gone(ctx, key, ev.Reason)
		default:
			w.drop(ctx, key, ev.Reason)
		}
	}
}

// live is the seat's entry, made on first sight.
func (w *seatWatch) live(key seatKey) *seatLive {
	l, ok := w.seats[key]
	if !ok {
		l = &seatLive{}
		w.seats[key] = l
	}
	return l
}

// set moves the seat to p and schedules its write.
func (w *seatWatch) set(ctx context.Context, key seatKey, p SeatPresence) *seatLive {
	l := w.live(key)
	l.now = p
	l.gen++
	w.flush(ctx, key, l)
	return l
}

func (w *seatWatch) back(ctx context.Context, key seatKey) {
	if l, ok := w.seats[key]; ok && l.now.State == SeatOnline {
		return
	}
	w.set(ctx, key, SeatPresence{State: SeatOnline, Since: w.s.clock.Now()})
}

// drop marks a seat whose connection broke as reconnecting, and gone if it is not back within
// seatGoneAfter. A seat already reconnecting or gone stays as it is.
func (w *seatWatch) drop(ctx context.Context, key seatKey, reason string) {
	if l, ok := w.seats[key]; ok && l.now.State != SeatOnline {
		return
	}
	l := w.set(ctx, key, SeatPresence{State: SeatReconnecting, Since: w.s.clock.Now(), Reason: reason})
	w.after(ctx, seatGoneAfter, seatTick{key: key, gen: l.gen, kind: "gone"})
}

// gone marks a seat that left the room (or was removed from it) gone now.
func (w *seatWatch) gone(ctx context.Context, key seatKey, reason string) {
	if l, ok := w.seats[key]; ok && (l.now.State == SeatGone || l.now.State == SeatGonePastGrace) {
		return
	}
	w.goneSince(ctx, key, w.s.clock.Now(), reason, w.s.cfg.SeatGrace)
}

func (w *seatWatch) goneSince(ctx context.Context, key seatKey, since time.Time, reason string, grace time.Duration) {
	until := since.Add(w.s.cfg.SeatGrace)
	l := w.set(ctx, key, SeatPresence{State: SeatGone, Since: since, GraceUntil: &until, Reason: reason})
	w.after(ctx, max(grace, 0), seatTick{key: key, gen: l.gen, kind: "grace"})
}

// after delivers t to the watcher's loop in d.
func (w *seatWatch) after(ctx context.Context, d time.Duration, t seatTick) {
	time.AfterFunc(d, func() {
		select {
		case w.ticks <- t:
		case <-ctx.Done():
		}
	})
}

func (w *seatWatch) tick(ctx context.Context, t seatTick) {
	l, ok := w.seats[t.key]
	if !ok {
		return
	}
	switch t.kind {
	case "flush":
		l.flushing = false
		w.flush(ctx, t.key, l)
		return
	}
	if t.gen != l.gen {
		return // the seat moved on since the timer was set
	}
	switch {
	case t.kind == "gone" && l.now.State == SeatReconnecting:
		w.goneSince(ctx, t.key, l.now.Since, l.now.Reason, w.s.cfg.SeatGrace-seatGoneAfter)
	case t.kind == "grace" && l.now.State == SeatGone:
		p := l.now
		p.State = SeatGonePastGrace
		w.set(ctx, t.key, p)
	}
}

// flush writes the seat's state if it changed since the last write, at most once per
// seatWriteGap.
func (w *seatWatch) flush(ctx context.Context, key seatKey, l *seatLive) {
	if l.now.State == l.written || l.flushing {
		return
	}
	if wait := seatWriteGap - time.Since(l.lastWrite); wait > 0 {
		l.flushing = true
		w.after(ctx, wait, seatTick{key: key, kind: "flush"})
		return
	}
	l.written, l.lastWrite = l.now.State, time.Now()
	p := l.now
	_, err := w.s.store.ChangeSession(ctx, kaiping.SystemActor(w.s.clock.Now()), key.session, func(sess *Session) ([]SessionChange, error) {
		return sess.seatPresence(key.group, kaiping.ID(key.identity), p), nil
	})
	if err != nil && ctx.Err() == nil {
		w.s.log.Error("seat watcher: record the seat's state", "session_id", key.session, "group", key.group,
			"identity", key.identity, "state", p.State, "err", err)
		if kaiping.KindOf(err) != kaiping.KindNotFound {
			l.written = "" // try again at the next gap
			l.flushing = true
			w.after(ctx, seatWriteGap, seatTick{key: key, kind: "flush"})
		}
	}
}

// catchUp brings the seats the watcher knows in line with the rooms' participants after the
// event stream was cut: events were missed.
func (w *seatWatch) catchUp(ctx context.Context) {
	rooms := map[[2]string]bool{}
	for k := range w.seats {
		rooms[[2]string{string(k.session), k.group}] = true
	}
	for r := range rooms {
		session, group := kaiping.ID(r[0]), r[1]
		ps, err := w.s.media.Participants(ctx, SessionRoom(session, group))
		if err != nil {
			continue // closed meanwhile: its seats' left events are gone with it
		}
		here := map[string]bool{}
		for _, p := range ps {
			if !p.Hidden {
				here[p.Identity] = true
				w.back(ctx, seatKey{session, group, p.Identity})
			}
		}
		for k := range w.seats {
			if k.session == session && k.group == group && !here[k.identity] {
				w.drop(ctx, k, "connection_lost")
			}
		}
	}
}
