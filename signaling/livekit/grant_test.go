package livekit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	seatlk "github.com/kaiping/kaiping/clients/seat/livekit"
	"github.com/kaiping/kaiping/signaling"
)

// TestGrantsRefused: the server refuses a join with an expired, forged or tampered token, or
// for a closed room, and the agent reports the signaling code.
func TestGrantsRefused(t *testing.T) {
	clock := kaiping.NewManualClock(time.Now())
	c := mustClient(t, clock)
	room := mustRoom(t, c)
	other := mustRoom(t, c)
	good := mustGrant(t, c, room, "专家", publisher)
	forger := &Client{cfg: Config{APIKey: testKey, APISecret: "another-secret-of-at-least-32-characters!"}}
	forged, err := forger.sign(time.Now(), time.Now().Add(5*time.Minute), room, good.Identity, "专家", publisher)
	if err != nil {
		t.Fatal(err)
	}
	unknownKey := &Client{cfg: Config{APIKey: "nosuchkey", APISecret: shared.secret}}
	unknown, err := unknownKey.sign(time.Now(), time.Now().Add(5*time.Minute), room, good.Identity, "专家", publisher)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good.Token, ".")
	otherParts := strings.Split(mustGrant(t, c, other, "专家", publisher).Token, ".")
	clock.Set(time.Now().Add(-(5*time.Minute + time.Second))) // the next grant expired a second ago
	expired := mustGrant(t, c, room, "专家", publisher)
	clock.Set(time.Now().Add(-(5*time.Minute - 10*time.Second))) // and this one expires in 10 s
	lastChance := mustGrant(t, c, room, "专家", publisher)
	clock.Set(time.Now())
	if !expired.Expires.Before(time.Now()) {
		t.Fatalf("grant expires %s, not in the past", expired.Expires)
	}
	tests := []struct {
		name, token, code string
	}{
		{"garbage", "not-a-token", signaling.CodeGrantInvalid},
		{"signed with another secret", forged, signaling.CodeGrantInvalid},
		{"unknown key", unknown, signaling.CodeGrantInvalid},
		{"claims of another grant", parts[0] + "." + otherParts[1] + "." + parts[2], signaling.CodeGrantInvalid},
		{"expired", expired.Token, signaling.CodeGrantExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := seatlk.Run(context.Background(), seatlk.Config{URL: good.URL, Token: tt.token, Log: testLog()})
			var je *seatlk.JoinError
			if !errors.As(err, &je) || je.Code != tt.code {
				t.Fatalf("join error = %v, want code %s", err, tt.code)
			}
			if strings.Contains(je.Message, "eyJ") {
				t.Errorf("the error quotes the token: %s", je.Message)
			}
		})
	}
	t.Run("about to expire", func(t *testing.T) {
		a := startSeat(t, lastChance)
		select {
		case <-a.Joined():
		case err := <-a.done:
			t.Fatalf("a grant 10 s before its expiry was refused: %v", err)
		case <-time.After(15 * time.Second):
			t.Fatal("no join")
		}
	})
	t.Run("closed room", func(t *testing.T) {
		g := mustGrant(t, c, other, "专家", publisher)
		if err := c.CloseRoom(context.Background(), other); err != nil {
			t.Fatal(err)
		}
		err := seatlk.Run(context.Background(), seatlk.Config{URL: g.URL, Token: g.Token, Log: testLog()})
		var je *seatlk.JoinError
		if !errors.As(err, &je) || je.Code != signaling.CodeRoomNotFound {
			t.Fatalf("join error = %v, want %s", err, signaling.CodeRoomNotFound)
		}
	})
}
