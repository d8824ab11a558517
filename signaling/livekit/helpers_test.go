package livekit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	seatlk "github.com/kaiping/kaiping/clients/seat/livekit"
	"github.com/kaiping/kaiping/signaling"
)

// The permissions the tests grant.
var (
	publisher  = signaling.Permissions{PublishAudio: true, PublishVideo: true, Subscribe: signaling.Subscription{All: true}, Data: true}
	subscriber = signaling.Permissions{Subscribe: signaling.Subscription{All: true}}
	hidden     = signaling.Permissions{Subscribe: signaling.Subscription{All: true}, Hidden: true}
)

// mustRoom creates a room whose name is unique to the test and returns the name.
func mustRoom(tb testing.TB, c *Client) string {
	tb.Helper()
	room := fmt.Sprintf("t%d-%s", time.Now().UnixNano()%1e9, kaiping.NewID())[:40]
	if err := c.CreateRoom(context.Background(), room, signaling.RoomOptions{}); err != nil {
		tb.Fatal(err)
	}
	return room
}

func mustGrant(tb testing.TB, c *Client, room, name string, perms signaling.Permissions) signaling.Grant {
	tb.Helper()
	g, err := c.Grant(context.Background(), room, kaiping.Principal{ID: kaiping.NewID(), Name: name}, perms)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// running is a seat agent running in the background.
type running struct {
	*seatlk.Agent
	cancel context.CancelFunc
	done   chan error
	left   chan struct{} // closed when Run has returned
}

// startSeat runs an agent for g (tuned by the options) until stop or the end of the test.
func startSeat(tb testing.TB, g signaling.Grant, tune ...func(*seatlk.Config)) *running {
	tb.Helper()
	cfg := seatlk.ConfigFromGrant(g)
	cfg.Log = testLog()
	for _, f := range tune {
		f(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Agent: seatlk.New(cfg), cancel: cancel, done: make(chan error, 1), left: make(chan struct{})}
	go func() {
		err := r.Run(ctx)
		close(r.left)
		r.done <- err
	}()
	tb.Cleanup(func() { _ = r.stop() })
	return r
}

// stop leaves and returns what Run returned.
func (r *running) stop() error {
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(20 * time.Second):
		return fmt.Errorf("agent did not stop")
	}
}

// ended waits for Run to return by itself and returns its error.
func (r *running) ended(tb testing.TB, within time.Duration) error {
	tb.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(within):
		tb.Fatalf("agent still running after %s", within)
		return nil
	}
}

func waitFor(tb testing.TB, within time.Duration, what string, ok func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// receivesFrom reports whether a has received at least n packets of both audio and video
// from identity.
func receivesFrom(a *seatlk.Agent, identity string, n uint64) bool {
	got := map[signaling.TrackKind]uint64{}
	for _, t := range a.Stats().From(identity) {
		got[t.Kind] += t.Packets
	}
	return got[signaling.Audio] >= n && got[signaling.Video] >= n
}

// packetsFrom is how many packets a has received from identity.
func packetsFrom(a *seatlk.Agent, identity string) uint64 {
	var n uint64
	for _, t := range a.Stats().From(identity) {
		n += t.Packets
	}
	return n
}

// events subscribes to room's events until the test ends.
func events(tb testing.TB, c *Client, room string) <-chan signaling.RoomEvent {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	ch, err := c.Events(ctx, room)
	if err != nil {
		tb.Fatal(err)
	}
	return ch
}

// awaitEvent reads ch until an event matching ok arrives; the events before it are skipped.
func awaitEvent(tb testing.TB, ch <-chan signaling.RoomEvent, what string, ok func(signaling.RoomEvent) bool) signaling.RoomEvent {
	tb.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev, open := <-ch:
			if !open {
				tb.Fatalf("event stream closed waiting for %s", what)
			}
			if ok(ev) {
				return ev
			}
		case <-timeout:
			tb.Fatalf("no event: %s", what)
		}
	}
}

// find returns identity's entry in ps.
func find(ps []signaling.Participant, identity string) (signaling.Participant, bool) {
	for _, p := range ps {
		if p.Identity == identity {
			return p, true
		}
	}
	return signaling.Participant{}, false
}
