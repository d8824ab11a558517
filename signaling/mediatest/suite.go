// Package mediatest is the interface test suite every signaling.Media backend passes: the
// embedded SFU's tests and the LiveKit backend's tests run the same Run against a real
// server, each with its own participant client (clients/seat, clients/seat/livekit), so
// the domains can rely on one behaviour whichever backend a deployment runs.
package mediatest

import (
	"context"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// Participant is a client in a room, joined with a grant by the backend's own agent.
type Participant interface {
	// Received reports the packets received so far from identity's audio and video.
	Received(identity string) (audio, video uint64)
	// Peers are the participants the server announced and not yet seen leave.
	Peers() map[string]string
	// Leave leaves the room.
	Leave()
}

// Backend is what the suite needs of a backend under test.
type Backend struct {
	// Media is a fresh client of the backend.
	Media signaling.Media
	// Room names a room of the test's own (LiveKit's server is shared between tests).
	Room func() string
	// Join runs the backend's agent with g (publishing what g allows) until Leave or the
	// end of the test.
	Join func(tb testing.TB, g signaling.Grant) Participant
}

var (
	publisher = signaling.Permissions{PublishAudio: true, PublishVideo: true, Subscribe: signaling.Subscription{All: true}}
	hidden    = signaling.Permissions{Subscribe: signaling.Subscription{All: true}, Hidden: true}
	watcher   = signaling.Permissions{Subscribe: signaling.Subscription{All: true}}
)

// Run runs the suite against b.
func Run(t *testing.T, b Backend) {
	t.Run("rooms", func(t *testing.T) { rooms(t, b) })
	t.Run("media", func(t *testing.T) { media(t, b) })
}

// rooms: creating a room twice is fine; grants and participants of a closed room are
// refused with signaling.room_not_found.
func rooms(t *testing.T, b Backend) {
	ctx := context.Background()
	room := b.Room()
	for i := 0; i < 2; i++ {
		if err := b.Media.CreateRoom(ctx, room, signaling.RoomOptions{}); err != nil {
			t.Fatalf("CreateRoom #%d: %v", i+1, err)
		}
	}
	if ps, err := b.Media.Participants(ctx, room); err != nil || len(ps) != 0 {
		t.Errorf("participants of a new room: %+v, %v", ps, err)
	}
	if err := b.Media.CloseRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Media.Participants(ctx, room); kaiping.CodeOf(err) != signaling.CodeRoomNotFound {
		t.Errorf("participants of a closed room: %v, want %s", err, signaling.CodeRoomNotFound)
	}
	if err := b.Media.StartRecording(ctx, room); kaiping.CodeOf(err) == "" {
		t.Error("recording a closed room was accepted")
	}
	if _, err := b.Media.Grant(ctx, "", kaiping.Principal{ID: kaiping.NewID(), Name: "x"}, publisher); kaiping.CodeOf(err) != signaling.CodeRoomInvalid {
		t.Errorf("grant for a room without a name: %v, want %s", err, signaling.CodeRoomInvalid)
	}
}

// media: two publishers receive each other, a subscriber that may not publish receives
// both, a hidden participant receives everyone and is announced to nobody but listed
// (marked hidden) by Participants; the joins reach Events; a removed participant leaves the
// list; closing the room ends it.
func media(t *testing.T, b Backend) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	room := b.Room()
	events, err := b.Media.Events(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Media.CreateRoom(ctx, room, signaling.RoomOptions{}); err != nil {
		t.Fatal(err)
	}
	grant := func(name string, perms signaling.Permissions) signaling.Grant {
		g, err := b.Media.Grant(ctx, room, kaiping.Principal{ID: kaiping.NewID(), Name: name}, perms)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	ga, gb, gw, gh := grant("专家甲", publisher), grant("专家乙", publisher), grant("投标人", watcher), grant("监督人员", hidden)
	a, bb, w, h := b.Join(t, ga), b.Join(t, gb), b.Join(t, gw), b.Join(t, gh)

	receives := func(p Participant, from string) bool {
		audio, video := p.Received(from)
		return audio >= 20 && video >= 20
	}
	waitFor(t, 30*time.Second, "everyone to receive the publishers", func() bool {
		return receives(a, gb.Identity) && receives(bb, ga.Identity) && receives(w, ga.Identity) && receives(w, gb.Identity) &&
			receives(h, ga.Identity) && receives(h, gb.Identity)
	})
	for name, p := range map[string]Participant{"甲": a, "乙": bb, "投标人": w} {
		if _, seen := p.Peers()[gh.Identity]; seen {
			t.Errorf("%s was told about the hidden participant", name)
		}
		if audio, video := p.Received(gw.Identity); audio+video > 0 {
			t.Errorf("%s received %d packets from the subscriber, who may not publish", name, audio+video)
		}
	}
	if _, ok := a.Peers()[gb.Identity]; !ok {
		t.Errorf("甲 was not told about 乙: %v", a.Peers())
	}
	ps, err := b.Media.Participants(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	hiddenOf := map[string]bool{}
	for _, p := range ps {
		hiddenOf[p.Identity] = p.Hidden
	}
	if len(ps) != 4 || !hiddenOf[gh.Identity] || hiddenOf[ga.Identity] {
		t.Errorf("participants %+v: want 4, only the supervisor hidden", ps)
	}
	for joined := map[string]bool{}; !joined[ga.Identity] || !joined[gb.Identity]; {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("the event stream closed")
			}
			if e.Type == signaling.EventJoined && e.Room == room {
				joined[e.Participant] = true
			}
		case <-ctx.Done():
			t.Fatalf("no joined events for both publishers: %v", joined)
		}
	}

	if err := b.Media.RemoveParticipant(ctx, room, gb.Identity); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "乙 to leave the list", func() bool {
		ps, err := b.Media.Participants(ctx, room)
		if err != nil {
			return false
		}
		for _, p := range ps {
			if p.Identity == gb.Identity {
				return false
			}
		}
		return len(ps) == 3
	})
	if err := b.Media.CloseRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Media.Participants(ctx, room); kaiping.CodeOf(err) != signaling.CodeRoomNotFound {
		t.Errorf("participants after CloseRoom: %v", err)
	}
	for _, p := range []Participant{a, bb, w, h} {
		p.Leave()
	}
}

func waitFor(tb testing.TB, within time.Duration, what string, ok func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(within); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", within, what)
		}
	}
}
