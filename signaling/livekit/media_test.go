package livekit

import (
	"context"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// TestSeatsExchangeMedia: a publisher's audio and video reach a subscriber through the real
// server; Participants and Events report both.
func TestSeatsExchangeMedia(t *testing.T) {
	c := mustClient(t, kaiping.SystemClock{})
	room := mustRoom(t, c)
	evs := events(t, c, room)
	gp := mustGrant(t, c, room, "专家甲", publisher)
	gs := mustGrant(t, c, room, "专家乙", subscriber)
	if gp.Backend != Backend || gp.URL != shared.url || gp.Room != room || gp.Identity == "" {
		t.Fatalf("grant %+v", gp)
	}
	p := startSeat(t, gp)
	s := startSeat(t, gs)
	waitFor(t, 20*time.Second, "the subscriber to receive audio and video", func() bool { return receivesFrom(s.Agent, gp.Identity, 20) })
	if got := p.Stats().From(gs.Identity); len(got) != 0 {
		t.Errorf("publisher receives tracks from a subscriber: %+v", got)
	}
	if _, ok := s.Stats().Peers[gp.Identity]; !ok {
		t.Errorf("subscriber was not told of the publisher: %v", s.Stats().Peers)
	}

	ps, err := c.Participants(context.Background(), room)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := find(ps, gp.Identity)
	if !ok || len(ps) != 2 {
		t.Fatalf("participants %+v", ps)
	}
	if pub.Name != "专家甲" || pub.Hidden || pub.Permissions.PublishAudio != true || pub.Permissions.PublishVideo != true ||
		!pub.Permissions.Subscribe.All || !pub.Permissions.Data || pub.Quality != signaling.QualityGood || pub.JoinedAt.IsZero() {
		t.Errorf("publisher listed as %+v", pub)
	}
	kinds := map[signaling.TrackKind]bool{}
	for _, tr := range pub.Tracks {
		kinds[tr.Kind] = tr.Participant == gp.Identity && tr.ID != ""
	}
	if !kinds[signaling.Audio] || !kinds[signaling.Video] {
		t.Errorf("publisher's tracks %+v", pub.Tracks)
	}
	sub, _ := find(ps, gs.Identity)
	if sub.Permissions.PublishAudio || sub.Permissions.PublishVideo || sub.Permissions.Data || !sub.Permissions.Subscribe.All || len(sub.Tracks) != 0 {
		t.Errorf("subscriber listed as %+v", sub)
	}

	// Joins and publications arrive in no fixed order between participants.
	want := map[string]bool{"joined " + gp.Identity: true, "joined " + gs.Identity: true,
		"published audio " + gp.Identity: true, "published video " + gp.Identity: true}
	awaitEvent(t, evs, "joins and publications", func(ev signaling.RoomEvent) bool {
		if ev.Room != room || ev.At.IsZero() {
			t.Errorf("event %+v", ev)
		}
		switch ev.Type {
		case signaling.EventJoined:
			delete(want, "joined "+ev.Participant)
		case signaling.EventTrackPublished:
			if ev.Track != nil && ev.Track.Participant == ev.Participant {
				delete(want, "published "+string(ev.Track.Kind)+" "+ev.Participant)
			}
		}
		return len(want) == 0
	})
	if err := s.stop(); err != nil {
		t.Errorf("subscriber: %v", err)
	}
	ev := awaitEvent(t, evs, "left", func(ev signaling.RoomEvent) bool { return ev.Type == signaling.EventLeft })
	if ev.Participant != gs.Identity || ev.Reason != "left" {
		t.Errorf("left event %+v", ev)
	}
}
