package embedded

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/seat"
	"github.com/kaiping/kaiping/signaling"
)

func TestSeatsExchangeMedia(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d seats", n), func(t *testing.T) {
			srv := mustServer(t, kaiping.SystemClock{})
			mustRoom(t, srv, "session-1")
			var seats []*running
			var ids []string
			for i := 0; i < n; i++ {
				g := mustGrant(t, srv, "session-1", fmt.Sprintf("专家%d", i+1), publisher)
				seats = append(seats, startSeat(t, g))
				ids = append(ids, g.Identity)
			}
			for i, s := range seats {
				for j, id := range ids {
					if i == j {
						continue
					}
					waitFor(t, 20*time.Second, fmt.Sprintf("seat %d to receive audio and video from seat %d", i, j),
						func() bool { return receivesFrom(s.Agent, id, 20) })
				}
				if got := s.Stats().From(ids[i]); len(got) != 0 {
					t.Errorf("seat %d receives its own tracks: %+v", i, got)
				}
			}
			for i, s := range seats {
				if err := s.stop(); err != nil {
					t.Errorf("seat %d: %v", i, err)
				}
			}
		})
	}
}

func TestSubscriberMayNotPublish(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{})
	mustRoom(t, srv, "opening-1")
	host := mustGrant(t, srv, "opening-1", "主持人", publisher)
	bidder := mustGrant(t, srv, "opening-1", "投标人", subscriber)
	h := startSeat(t, host)
	b := startSeat(t, bidder, func(c *seat.Config) { c.PublishAudio, c.PublishVideo = true, true })
	waitFor(t, 10*time.Second, "the refusal", func() bool { return b.Stats().HasError(signaling.CodePublishForbidden) })
	// The refused seat still receives the host; the host never receives anything from it.
	waitFor(t, 20*time.Second, "the bidder to receive the host", func() bool { return receivesFrom(b.Agent, host.Identity, 20) })
	if got := h.Stats().From(bidder.Identity); len(got) != 0 {
		t.Errorf("host receives tracks from a subscriber-only grant: %+v", got)
	}
	ps, err := srv.Participants(context.Background(), "opening-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Identity == bidder.Identity && len(p.Tracks) != 0 {
			t.Errorf("subscriber-only participant has published tracks %+v", p.Tracks)
		}
	}
}

func TestPublishOnlyWhatGranted(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{})
	mustRoom(t, srv, "r")
	audioOnly := signaling.Permissions{PublishAudio: true, Subscribe: signaling.Subscription{All: true}}
	g := mustGrant(t, srv, "r", "只许音频", audioOnly)
	a := startSeat(t, g, func(c *seat.Config) { c.PublishVideo = true })
	waitFor(t, 10*time.Second, "the refusal", func() bool { return a.Stats().HasError(signaling.CodePublishForbidden) })
}

func TestGrantsRefused(t *testing.T) {
	clock := kaiping.NewManualClock(time.Now())
	srv := mustServer(t, clock)
	mustRoom(t, srv, "r")
	mustRoom(t, srv, "other")
	good := mustGrant(t, srv, "r", "专家", publisher)
	other := mustGrant(t, srv, "other", "专家", publisher)
	parts := strings.Split(good.Token, ".")
	otherParts := strings.Split(other.Token, ".")
	tests := []struct {
		name  string
		token string
		setup func()
		code  string
	}{
		{"garbage", "not-a-token", nil, signaling.CodeGrantInvalid},
		{"wrong prefix", "g2." + parts[1] + "." + parts[2], nil, signaling.CodeGrantInvalid},
		{"claims of another grant", parts[0] + "." + otherParts[1] + "." + parts[2], nil, signaling.CodeGrantInvalid},
		{"mac flipped", parts[0] + "." + parts[1] + "." + flip(parts[2]), nil, signaling.CodeGrantInvalid},
		{"signed with another secret", forge(t, good), nil, signaling.CodeGrantInvalid},
		{"expired", good.Token, func() { clock.Advance(5*time.Minute + time.Second) }, signaling.CodeGrantExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			cfg := seat.Config{URL: good.URL, Token: tt.token, Loopback: true}
			err := seat.Run(context.Background(), cfg)
			var je *seat.JoinError
			if !errors.As(err, &je) || je.Code != tt.code {
				t.Fatalf("join error = %v, want code %s", err, tt.code)
			}
		})
	}
	t.Run("closed room", func(t *testing.T) {
		clock.Set(time.Now())
		g := mustGrant(t, srv, "other", "专家", publisher)
		if err := srv.CloseRoom(context.Background(), "other"); err != nil {
			t.Fatal(err)
		}
		err := seat.Run(context.Background(), seat.Config{URL: g.URL, Token: g.Token, Loopback: true})
		var je *seat.JoinError
		if !errors.As(err, &je) || je.Code != signaling.CodeRoomNotFound {
			t.Fatalf("join error = %v, want %s", err, signaling.CodeRoomNotFound)
		}
	})
}

// flip changes the first character of a base64url string.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// forge signs g's claims with a different secret.
func forge(t *testing.T, g signaling.Grant) string {
	k, err := deriveKeys([]byte("another secret, 32 bytes or more......"))
	if err != nil {
		t.Fatal(err)
	}
	return k.signGrant(claims{Room: g.Room, Identity: g.Identity, Perms: g.Permissions, Expires: g.Expires.Add(time.Hour).Unix()})
}

func TestHiddenParticipant(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{})
	mustRoom(t, srv, "session-2")
	ga := mustGrant(t, srv, "session-2", "专家甲", publisher)
	gb := mustGrant(t, srv, "session-2", "专家乙", publisher)
	gh := mustGrant(t, srv, "session-2", "监督人员", hidden)
	a := startSeat(t, ga)
	waitFor(t, 10*time.Second, "a to join", func() bool { return !a.Stats().JoinedAt.IsZero() })
	h := startSeat(t, gh)
	waitFor(t, 10*time.Second, "h to join", func() bool { return !h.Stats().JoinedAt.IsZero() })
	b := startSeat(t, gb)
	for _, id := range []string{ga.Identity, gb.Identity} {
		waitFor(t, 20*time.Second, "the hidden participant to receive "+id, func() bool { return receivesFrom(h.Agent, id, 20) })
	}
	waitFor(t, 20*time.Second, "a and b to see each other", func() bool {
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
	ps, err := srv.Participants(context.Background(), "session-2")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range ps {
		if p.Identity == gh.Identity {
			found = p.Hidden
		}
	}
	if !found {
		t.Errorf("Participants does not list the hidden participant as hidden: %+v", ps)
	}
	// Leaving is not announced either.
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if errs := a.Stats().Errors; len(errs) != 0 {
		t.Errorf("a got errors %+v", errs)
	}
}

func TestGrantValidation(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{})
	mustRoom(t, srv, "r")
	who := kaiping.Principal{ID: kaiping.NewID(), Name: "x"}
	tests := []struct {
		name  string
		room  string
		who   kaiping.Principal
		perms signaling.Permissions
		code  string
	}{
		{"hidden publisher", "r", who, signaling.Permissions{Hidden: true, PublishVideo: true}, signaling.CodePermissionsInvalid},
		{"hidden data", "r", who, signaling.Permissions{Hidden: true, Data: true}, signaling.CodePermissionsInvalid},
		{"all and only", "r", who, signaling.Permissions{Subscribe: signaling.Subscription{All: true, Only: []string{"a"}}}, signaling.CodePermissionsInvalid},
		{"bad subscription identity", "r", who, signaling.Permissions{Subscribe: signaling.Subscription{Only: []string{"a b"}}}, signaling.CodePermissionsInvalid},
		{"no identity", "r", kaiping.Principal{}, publisher, signaling.CodeIdentityInvalid},
		{"bad room name", "房间", who, publisher, signaling.CodeRoomInvalid},
		{"unknown room", "nope", who, publisher, signaling.CodeRoomNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := srv.Grant(context.Background(), tt.room, tt.who, tt.perms)
			if got := kaiping.CodeOf(err); got != tt.code {
				t.Fatalf("Grant error code %s (%v), want %s", got, err, tt.code)
			}
		})
	}
}

func TestSubscribeOnlySome(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{})
	mustRoom(t, srv, "r")
	ga := mustGrant(t, srv, "r", "主持人", publisher)
	gb := mustGrant(t, srv, "r", "投标人甲", publisher)
	gc := mustGrant(t, srv, "r", "投标人乙", signaling.Permissions{Subscribe: signaling.Subscription{Only: []string{ga.Identity}}})
	startSeat(t, ga)
	b := startSeat(t, gb)
	c := startSeat(t, gc)
	waitFor(t, 20*time.Second, "c to receive a", func() bool { return receivesFrom(c.Agent, ga.Identity, 20) })
	waitFor(t, 20*time.Second, "b to receive a", func() bool { return receivesFrom(b.Agent, ga.Identity, 20) })
	if got := c.Stats().From(gb.Identity); len(got) != 0 {
		t.Errorf("c receives b, which its grant does not list: %+v", got)
	}
	if _, ok := c.Stats().Peers[gb.Identity]; !ok {
		t.Errorf("c is not told b is present (presence is not media): %v", c.Stats().Peers)
	}
}
