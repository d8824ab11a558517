package signaling

import (
	"context"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
)

func TestHubFiltersAndCutsOffSlowSubscribers(t *testing.T) {
	var h Hub
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	one, err := h.Subscribe(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	all, err := h.Subscribe(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	h.Publish(RoomEvent{Type: EventJoined, Room: "b"})
	h.Publish(RoomEvent{Type: EventJoined, Room: "a"})
	if ev := <-one; ev.Room != "a" {
		t.Errorf("room subscriber got %+v", ev)
	}
	if ev := <-all; ev.Room != "b" {
		t.Errorf("all-rooms subscriber got %+v first", ev)
	}
	// one never reads again: after EventBuffer more events it is cut off, all is not.
	for i := 0; i <= EventBuffer; i++ {
		h.Publish(RoomEvent{Type: EventLeft, Room: "a"})
		<-all
	}
	n := 0
	for range one {
		n++
	}
	if n != EventBuffer {
		t.Errorf("slow subscriber got %d events before being cut off, want %d", n, EventBuffer)
	}
	h.Publish(RoomEvent{Type: EventLeft, Room: "a"})
	if _, ok := <-all; !ok {
		t.Errorf("the reading subscriber was cut off")
	}
	cancel()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-all:
			if !ok {
				goto closed
			}
		case <-deadline:
			t.Fatal("cancelling the context did not close the stream")
		}
	}
closed:
	h.Close()
	if _, err := h.Subscribe(context.Background(), ""); kaiping.CodeOf(err) != CodeClosed {
		t.Errorf("Subscribe after Close: %v", err)
	}
}

func TestValidNames(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"session-1", true}, {"a.b_c-D9", true}, {"", false}, {"有中文", false}, {"a b", false},
		{"a/b", false}, {string(make([]byte, 65)), false},
	}
	for _, tt := range tests {
		if got := ValidRoomName(tt.name) == nil; got != tt.ok {
			t.Errorf("ValidRoomName(%q) ok = %v", tt.name, got)
		}
		if got := ValidIdentity(tt.name) == nil; got != tt.ok {
			t.Errorf("ValidIdentity(%q) ok = %v", tt.name, got)
		}
	}
}

func TestSubscriptionAllows(t *testing.T) {
	if !(Subscription{All: true}).Allows("x") || (Subscription{}).Allows("x") ||
		!(Subscription{Only: []string{"x"}}).Allows("x") || (Subscription{Only: []string{"y"}}).Allows("x") {
		t.Error("Subscription.Allows is wrong")
	}
}
