package livekit

import (
	"context"
	"slices"
	"sync"
	"time"

	lkp "github.com/livekit/protocol/livekit"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// Subscription.Only on LiveKit.
//
// LiveKit's grants know only "may subscribe" or "may not", for everything in the room; who
// may receive a publisher's tracks is otherwise decided by the publisher's own client
// (subscription permissions), which the server cannot set. So the backend enforces a
// restricted subscription itself, as room administrator: a restricted participant's grant
// carries its list in the AttrSubscribeOnly attribute, and the enforcer unsubscribes it
// (RoomService.UpdateSubscriptions) from every track of an identity not on the list:
//
//   - at once when a webhook says a restricted participant joined or a track was published
//     in a room that has one;
//   - and every EnforceInterval for each room with restricted grants, which catches a client
//     that subscribes again by itself and covers lost webhooks (or none configured).
//
// The limit: between a track being published (or a rogue client re-subscribing) and the
// enforcer's unsubscription, a restricted participant that auto-subscribes may receive that
// track — for the webhook's delivery plus one API call (tens of milliseconds on one machine),
// or up to EnforceInterval without webhooks. Well-behaved clients (clients/seat/livekit, the
// room page) join restricted grants without auto-subscription and subscribe only to the
// listed identities, so for them nothing leaks at all; the enforcer is for the others.
type enforcer struct {
	c     *Client
	mu    sync.Mutex
	rooms map[string]struct{}
	kick  chan string
}

func newEnforcer(c *Client) *enforcer {
	return &enforcer{c: c, rooms: map[string]struct{}{}, kick: make(chan string, 256)}
}

// watch adds room to the rooms checked periodically.
func (e *enforcer) watch(room string) {
	e.mu.Lock()
	e.rooms[room] = struct{}{}
	e.mu.Unlock()
}

// forget stops checking room (it is closed).
func (e *enforcer) forget(room string) {
	e.mu.Lock()
	delete(e.rooms, room)
	e.mu.Unlock()
}

func (e *enforcer) watched(room string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.rooms[room]
	return ok
}

// poke asks for room to be checked now. It never blocks a webhook: when the queue is full
// the periodic check will do.
func (e *enforcer) poke(room string) {
	select {
	case e.kick <- room:
	default:
	}
}

func (e *enforcer) pokeIfWatched(room string) {
	if e.watched(room) {
		e.poke(room)
	}
}

// run checks poked rooms at once and every watched room each interval, until ctx ends.
func (e *enforcer) run(ctx context.Context) {
	tick := time.NewTicker(e.c.cfg.EnforceInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case room := <-e.kick:
			e.check(ctx, room)
		case <-tick.C:
			e.mu.Lock()
			rooms := make([]string, 0, len(e.rooms))
			for r := range e.rooms {
				rooms = append(rooms, r)
			}
			e.mu.Unlock()
			for _, r := range rooms {
				e.check(ctx, r)
			}
		}
	}
}

// check unsubscribes every restricted participant of room from the tracks it may not have.
func (e *enforcer) check(ctx context.Context, room string) {
	infos, err := e.c.list(ctx, room)
	if kaiping.CodeOf(err) == signaling.CodeRoomNotFound {
		e.forget(room)
		return
	}
	if err != nil {
		e.c.log.Warn("subscription check", "room", room, "err", err)
		return
	}
	for _, u := range forbiddenTracks(infos) {
		cctx, cancel := e.c.call(ctx)
		_, err := e.c.api.UpdateSubscriptions(cctx, &lkp.UpdateSubscriptionsRequest{
			Room: room, Identity: u.identity, TrackSids: u.tracks, Subscribe: false,
		})
		cancel()
		if err != nil {
			e.c.log.Warn("unsubscribe restricted participant", "room", room, "participant", u.identity, "err", err)
		}
	}
}

// unsubscription is the tracks one participant must not receive.
type unsubscription struct {
	identity string
	tracks   []string
}

// forbiddenTracks lists, for each restricted participant, the tracks of others it may not
// receive.
func forbiddenTracks(infos []*lkp.ParticipantInfo) []unsubscription {
	var out []unsubscription
	for _, p := range infos {
		only, restricted := subscribeOnly(p.Attributes)
		if !restricted || !p.Permission.GetCanSubscribe() {
			continue
		}
		u := unsubscription{identity: p.Identity}
		for _, q := range infos {
			if q == p || slices.Contains(only, q.Identity) {
				continue
			}
			for _, t := range q.Tracks {
				u.tracks = append(u.tracks, t.Sid)
			}
		}
		if len(u.tracks) > 0 {
			out = append(out, u)
		}
	}
	return out
}
