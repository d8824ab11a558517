package embedded

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/seat"
	"github.com/kaiping/kaiping/signaling"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-test")

// testLog is quiet unless KAIPING_TEST_LOG is set.
func testLog() *slog.Logger {
	if os.Getenv("KAIPING_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// mustServer starts an SFU on loopback with its signaling route on a fiber app, and stops
// both when the test ends.
func mustServer(tb testing.TB, clock kaiping.Clock, tune ...func(*Config)) *Server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	cfg := Config{
		Secret: testSecret, URL: "ws://" + ln.Addr().String() + "/media/ws",
		UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", Loopback: true,
		JoinsPerSecond: 1000, JoinBurst: 1000,
	}
	for _, f := range tune {
		f(&cfg)
	}
	srv, err := New(cfg, nil, clock, testLog())
	if err != nil {
		ln.Close()
		tb.Fatal(err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/media/ws", srv.FiberHandler())
	go func() { _ = app.Listener(ln) }()
	tb.Cleanup(func() {
		_ = srv.Close()
		_ = app.ShutdownWithTimeout(5 * time.Second)
	})
	return srv
}

func mustRoom(tb testing.TB, srv *Server, name string) {
	tb.Helper()
	if err := srv.CreateRoom(context.Background(), name, signaling.RoomOptions{}); err != nil {
		tb.Fatal(err)
	}
}

func mustGrant(tb testing.TB, srv *Server, room, name string, perms signaling.Permissions) signaling.Grant {
	tb.Helper()
	g, err := srv.Grant(context.Background(), room, kaiping.Principal{ID: kaiping.NewID(), Name: name}, perms)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

var (
	publisher  = signaling.Permissions{PublishAudio: true, PublishVideo: true, Subscribe: signaling.Subscription{All: true}, Data: true}
	subscriber = signaling.Permissions{Subscribe: signaling.Subscription{All: true}}
	hidden     = signaling.Permissions{Subscribe: signaling.Subscription{All: true}, Hidden: true}
)

// running is a seat agent running in the background.
type running struct {
	*seat.Agent
	cancel context.CancelFunc
	done   chan error
	left   chan struct{} // closed when Run has returned
	once   sync.Once
	err    error
}

// stop makes the agent leave and returns what Run returned.
func (r *running) stop() error {
	r.once.Do(func() {
		r.cancel()
		r.err = <-r.done
	})
	return r.err
}

// wait waits (up to 10 s) for the agent to end on its own and returns what Run returned.
func (r *running) wait() error {
	select {
	case err := <-r.done:
		r.once.Do(func() { r.err = err })
		return err
	case <-time.After(10 * time.Second):
		return errors.New("seat agent still running")
	}
}

// startSeat runs a seat agent with g, adjusted by tune, until the test ends.
func startSeat(tb testing.TB, g signaling.Grant, tune ...func(*seat.Config)) *running {
	tb.Helper()
	r := launchSeat(g, tune...)
	tb.Cleanup(func() { _ = r.stop() })
	return r
}

// launchSeat runs a seat agent until stopped.
func launchSeat(g signaling.Grant, tune ...func(*seat.Config)) *running {
	cfg := seat.ConfigFromGrant(g)
	cfg.Loopback = true
	cfg.FPS = 20
	cfg.VideoBitrate = 200_000
	if os.Getenv("KAIPING_TEST_LOG") != "" {
		cfg.Log = testLog().With("seat", g.Identity[:8])
	}
	for _, f := range tune {
		f(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Agent: seat.New(cfg), cancel: cancel, done: make(chan error, 1), left: make(chan struct{})}
	go func() {
		err := r.Run(ctx)
		close(r.left)
		r.done <- err
	}()
	return r
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// receivesFrom reports whether a has received at least n packets of audio and of video (with
// a key frame) from identity.
func receivesFrom(a *seat.Agent, identity string, n uint64) bool {
	var audio, video bool
	for _, t := range a.Stats().From(identity) {
		switch t.Kind {
		case signaling.Audio:
			audio = audio || t.Packets >= n
		case signaling.Video:
			video = video || (t.Packets >= n && t.Keyframes > 0)
		}
	}
	return audio && video
}

// startPair runs two publishing seats in room, b adjusted by tuneB, and waits until each
// receives the other's audio and video.
func startPair(tb testing.TB, srv *Server, room string, tuneB ...func(*seat.Config)) (a, b *running, ga, gb signaling.Grant) {
	tb.Helper()
	ga = mustGrant(tb, srv, room, "a", publisher)
	gb = mustGrant(tb, srv, room, "b", publisher)
	a = startSeat(tb, ga)
	b = startSeat(tb, gb, tuneB...)
	waitFor(tb, 20*time.Second, "media both ways", func() bool {
		return receivesFrom(a.Agent, gb.Identity, 20) && receivesFrom(b.Agent, ga.Identity, 20)
	})
	return a, b, ga, gb
}
