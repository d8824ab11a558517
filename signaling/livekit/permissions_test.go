package livekit

import (
	"context"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	seatlk "github.com/kaiping/kaiping/clients/seat/livekit"
	"github.com/kaiping/kaiping/signaling"
)

// TestPublishRefused: the server refuses what a grant does not allow — everything for a
// subscriber-only grant, video for an audio-only one — and forwards nothing of it.
func TestPublishRefused(t *testing.T) {
	c := mustClient(t, kaiping.SystemClock{})
	room := mustRoom(t, c)
	audioOnly := signaling.Permissions{PublishAudio: true, Subscribe: signaling.Subscription{All: true}}
	gh := mustGrant(t, c, room, "主持人", publisher)
	gb := mustGrant(t, c, room, "投标人", subscriber)
	ga := mustGrant(t, c, room, "只许音频", audioOnly)
	both := func(cfg *seatlk.Config) { cfg.PublishAudio, cfg.PublishVideo = true, true }
	h := startSeat(t, gh)
	b := startSeat(t, gb, both)
	a := startSeat(t, ga, both)
	// LiveKit answers a refused publication with nothing the client library acts on, so the
	// library gives up after its own timeout (10 s).
	waitFor(t, 20*time.Second, "the refusals", func() bool {
		sb, sa := b.Stats(), a.Stats()
		return len(sb.Refused) == 2 && sa.Refused[signaling.Video] != "" && sa.Published[signaling.Audio]
	})
	if s := b.Stats(); len(s.Published) != 0 {
		t.Errorf("subscriber-only grant published %v", s.Published)
	}
	if s := a.Stats(); s.Published[signaling.Video] || s.Refused[signaling.Audio] != "" {
		t.Errorf("audio-only grant: published %v, refused %v", s.Published, s.Refused)
	}
	// The refused seats still receive the host; the host gets audio only from a.
	waitFor(t, 20*time.Second, "b to receive the host", func() bool { return receivesFrom(b.Agent, gh.Identity, 20) })
	waitFor(t, 20*time.Second, "the host to receive a's audio", func() bool { return packetsFrom(h.Agent, ga.Identity) > 20 })
	if got := h.Stats().From(gb.Identity); len(got) != 0 {
		t.Errorf("host receives tracks of a subscriber-only grant: %+v", got)
	}
	for _, tr := range h.Stats().From(ga.Identity) {
		if tr.Kind != signaling.Audio {
			t.Errorf("host receives %s from an audio-only grant", tr.Kind)
		}
	}
	ps, err := c.Participants(context.Background(), room)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := find(ps, gb.Identity); len(p.Tracks) != 0 {
		t.Errorf("subscriber-only participant has tracks %+v", p.Tracks)
	}
	if p, _ := find(ps, ga.Identity); len(p.Tracks) != 1 || p.Tracks[0].Kind != signaling.Audio ||
		!p.Permissions.PublishAudio || p.Permissions.PublishVideo {
		t.Errorf("audio-only participant listed as %+v", p)
	}
}

// TestHiddenParticipant: a hidden participant receives everyone but is announced to nobody;
// Participants and Events mark it hidden.
func TestHiddenParticipant(t *testing.T) {
	c := mustClient(t, kaiping.SystemClock{})
	room := mustRoom(t, c)
	evs := events(t, c, room)
	ga := mustGrant(t, c, room, "专家甲", publisher)
	gb := mustGrant(t, c, room, "专家乙", publisher)
	gh := mustGrant(t, c, room, "监督人员", hidden)
	a := startSeat(t, ga)
	<-a.Joined()
	h := startSeat(t, gh)
	<-h.Joined()
	b := startSeat(t, gb)
	for _, id := range []string{ga.Identity, gb.Identity} {
		waitFor(t, 20*time.Second, "the hidden participant to receive "+id, func() bool { return receivesFrom(h.Agent, id, 20) })
	}
	waitFor(t, 20*time.Second, "a and b to receive each other", func() bool {
		return receivesFrom(a.Agent, gb.Identity, 20) && receivesFrom(b.Agent, ga.Identity, 20)
	})
	for name, s := range map[string]*running{"a": a, "b": b} {
		if _, seen := s.Stats().Peers[gh.Identity]; seen {
			t.Errorf("%s was told about the hidden participant: %v", name, s.Stats().Peers)
		}
	}
	if _, ok := a.Stats().Peers[gb.Identity]; !ok {
		t.Errorf("a was not told about b: %v", a.Stats().Peers)
	}
	ps, err := c.Participants(context.Background(), room)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := find(ps, gh.Identity); !ok || !p.Hidden || !p.Permissions.Hidden || p.Name != "监督人员" {
		t.Errorf("hidden participant listed as %+v (found %v)", p, ok)
	}
	ev := awaitEvent(t, evs, "the hidden join", func(ev signaling.RoomEvent) bool {
		return ev.Type == signaling.EventJoined && ev.Participant == gh.Identity
	})
	if !ev.Hidden {
		t.Errorf("join of a hidden participant not marked hidden: %+v", ev)
	}
}

// TestSubscribeOnly: a restricted grant receives only the listed identities. A well-behaved
// agent never subscribes to the others; one that lets the server subscribe it to everything
// is unsubscribed by the backend.
func TestSubscribeOnly(t *testing.T) {
	c := mustClient(t, kaiping.SystemClock{})
	room := mustRoom(t, c)
	ga := mustGrant(t, c, room, "主持人", publisher)
	gb := mustGrant(t, c, room, "投标人甲", publisher)
	only := signaling.Permissions{Subscribe: signaling.Subscription{Only: []string{ga.Identity}}}
	gc := mustGrant(t, c, room, "投标人乙", only)
	gr := mustGrant(t, c, room, "投标人丙", only)
	startSeat(t, ga)
	waitFor(t, 10*time.Second, "a's tracks", func() bool { return tracksOf(t, c, room, ga.Identity) == 2 })
	honest := startSeat(t, gc)
	rogue := startSeat(t, gr, func(cfg *seatlk.Config) { cfg.Only = nil })
	<-honest.Joined()
	<-rogue.Joined()
	b := startSeat(t, gb) // publishes after the restricted seats joined
	waitFor(t, 20*time.Second, "b to receive a", func() bool { return receivesFrom(b.Agent, ga.Identity, 20) })
	for name, s := range map[string]*running{"honest": honest, "rogue": rogue} {
		waitFor(t, 20*time.Second, name+" to receive a", func() bool { return receivesFrom(s.Agent, ga.Identity, 20) })
		// Presence is not media: the restricted seats see b join.
		waitFor(t, 10*time.Second, name+" to be told b is present", func() bool { _, ok := s.Stats().Peers[gb.Identity]; return ok })
	}
	if got := honest.Stats().From(gb.Identity); len(got) != 0 {
		t.Errorf("the honest restricted seat receives b: %+v", got)
	}
	// The rogue may have caught b's first packets before the backend unsubscribed it; after
	// that, nothing more arrives.
	settled := packetsFrom(rogue.Agent, gb.Identity)
	time.Sleep(2 * time.Second)
	if after := packetsFrom(rogue.Agent, gb.Identity); after != settled {
		t.Errorf("the rogue restricted seat keeps receiving b: %d packets, then %d", settled, after)
	}
	first, last := spanFrom(rogue.Agent, gb.Identity)
	t.Logf("rogue received %d packets of b within %s before being unsubscribed", settled, last.Sub(first))
	ps, err := c.Participants(context.Background(), room)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := find(ps, gc.Identity); p.Permissions.Subscribe.All || len(p.Permissions.Subscribe.Only) != 1 || p.Permissions.Subscribe.Only[0] != ga.Identity {
		t.Errorf("restricted participant listed with subscription %+v", p.Permissions.Subscribe)
	}
}

func tracksOf(tb testing.TB, c *Client, room, identity string) int {
	ps, err := c.Participants(context.Background(), room)
	if err != nil {
		tb.Fatal(err)
	}
	p, _ := find(ps, identity)
	return len(p.Tracks)
}

// spanFrom is the time of the first and last packet a received from identity.
func spanFrom(a *seatlk.Agent, identity string) (first, last time.Time) {
	for _, t := range a.Stats().From(identity) {
		if first.IsZero() || t.FirstPacket.Before(first) {
			first = t.FirstPacket
		}
		if t.LastPacket.After(last) {
			last = t.LastPacket
		}
	}
	return first, last
}

func TestGrantValidation(t *testing.T) {
	c := mustClient(t, kaiping.SystemClock{})
	room := mustRoom(t, c)
	who := kaiping.Principal{ID: kaiping.NewID(), Name: "x"}
	tests := []struct {
		name  string
		room  string
		who   kaiping.Principal
		perms signaling.Permissions
		code  string
	}{
		{"hidden publisher", room, who, signaling.Permissions{Hidden: true, PublishVideo: true}, signaling.CodePermissionsInvalid},
		{"hidden data", room, who, signaling.Permissions{Hidden: true, Data: true}, signaling.CodePermissionsInvalid},
		{"all and only", room, who, signaling.Permissions{Subscribe: signaling.Subscription{All: true, Only: []string{"a"}}}, signaling.CodePermissionsInvalid},
		{"bad subscription identity", room, who, signaling.Permissions{Subscribe: signaling.Subscription{Only: []string{"a b"}}}, signaling.CodePermissionsInvalid},
		{"no identity", room, kaiping.Principal{}, publisher, signaling.CodeIdentityInvalid},
		{"bad room name", "房间", who, publisher, signaling.CodeRoomInvalid},
		{"unknown room", "nope", who, publisher, signaling.CodeRoomNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Grant(context.Background(), tt.room, tt.who, tt.perms)
			if got := kaiping.CodeOf(err); got != tt.code {
				t.Fatalf("Grant error code %s (%v), want %s", got, err, tt.code)
			}
		})
	}
}
