package livekit

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/signaling"
	lksignal "github.com/kaiping/kaiping/signaling/livekit"
)

// server is the LiveKit server the package's tests share, started by devenv.
var server *devenv.LiveKit

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := devenv.MkdirTemp("kaiping-seat-livekit-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if server, err = devenv.StartLiveKit(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer server.Stop()
	return m.Run()
}

func testLog() *slog.Logger {
	if os.Getenv("KAIPING_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func mustMedia(tb testing.TB) *lksignal.Client {
	tb.Helper()
	c, err := lksignal.New(lksignal.Config{URL: server.URL, APIKey: server.APIKey, APISecret: server.APISecret},
		nil, kaiping.SystemClock{}, testLog())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// TestAgentsExchangeMedia: two agents publish audio and video to each other and count it,
// with key frames, first-frame times and no loss on loopback.
func TestAgentsExchangeMedia(t *testing.T) {
	media := mustMedia(t)
	ctx := context.Background()
	room := "seat-" + string(kaiping.NewID())[:8]
	if err := media.CreateRoom(ctx, room, signaling.RoomOptions{}); err != nil {
		t.Fatal(err)
	}
	perms := signaling.Permissions{PublishAudio: true, PublishVideo: true, Subscribe: signaling.Subscription{All: true}}
	var agents []*Agent
	var ids []string
	var hooked sync.Map // mime type → *atomic.Int64, packets the first agent's OnPacket saw
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 2)
	for _, name := range []string{"专家甲", "专家乙"} {
		g, err := media.Grant(ctx, room, kaiping.Principal{ID: kaiping.NewID(), Name: name}, perms)
		if err != nil {
			t.Fatal(err)
		}
		cfg := ConfigFromGrant(g)
		cfg.Log = testLog()
		if len(agents) == 0 {
			cfg.OnPacket = func(tr signaling.Track, codec webrtc.RTPCodecParameters, p *rtp.Packet) {
				n, _ := hooked.LoadOrStore(codec.MimeType+" "+string(tr.Kind), new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
			}
		}
		a := New(cfg)
		agents, ids = append(agents, a), append(ids, g.Identity)
		go func() { done <- a.Run(runCtx) }()
	}
	deadline := time.Now().Add(20 * time.Second)
	for i, a := range agents {
		other := ids[1-i]
		for {
			got := a.Stats().From(other)
			if len(got) == 2 && got[0].Packets > 50 && got[1].Packets > 50 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("agent %d received %+v", i, got)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for i, a := range agents {
		s := a.Stats()
		if s.Identity != ids[i] || s.JoinedAt.Before(s.JoinStarted) || s.Sent[signaling.Audio] == 0 || s.Sent[signaling.Video] == 0 ||
			!s.Published[signaling.Audio] || !s.Published[signaling.Video] || len(s.Refused) != 0 {
			t.Errorf("agent %d: %+v", i, s)
		}
		if name, ok := s.Peers[ids[1-i]]; !ok || name == "" {
			t.Errorf("agent %d peers %v", i, s.Peers)
		}
		ff := s.FirstFrame(ids[1-i])
		if ff.IsZero() || ff.Before(s.JoinedAt) {
			t.Errorf("agent %d: first frame at %s, joined at %s", i, ff, s.JoinedAt)
		}
		for _, tr := range s.From(ids[1-i]) {
			if tr.Lost > 0 || tr.Bytes < tr.Packets || tr.TrackID == "" || (tr.Kind == signaling.Video) != (tr.Keyframes > 0) {
				t.Errorf("agent %d track %+v", i, tr)
			}
		}
	}
	for _, k := range []string{webrtc.MimeTypeOpus + " audio", webrtc.MimeTypeVP8 + " video"} {
		if n, ok := hooked.Load(k); !ok || n.(*atomic.Int64).Load() == 0 {
			t.Errorf("OnPacket saw no %s packets", k)
		}
	}
	stop()
	for range agents {
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	}
}

func TestConfigRefused(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no token", Config{URL: server.URL}},
		{"no URL", Config{Token: "t"}},
		{"negative size", Config{URL: server.URL, Token: "t", Width: -1, Height: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Run(context.Background(), tt.cfg); err == nil {
				t.Fatal("ran with an invalid configuration")
			}
		})
	}
}

// TestBench runs a small evaluation room: 3 seats and 1 hidden supervisor. It checks that the
// harness measures; the figures are logged. KAIPING_BENCH_SECONDS, KAIPING_BENCH_SEATS and
// KAIPING_BENCH_HIDDEN change the window and the room.
func TestBench(t *testing.T) {
	env := func(name string, def int) int {
		if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
			return n
		}
		return def
	}
	window := time.Duration(env("KAIPING_BENCH_SECONDS", 3)) * time.Second
	seats, hidden := env("KAIPING_BENCH_SEATS", 3), env("KAIPING_BENCH_HIDDEN", 1)
	res, err := Bench(context.Background(), mustMedia(t), Load{
		Room: "bench-" + string(kaiping.NewID())[:8], Seats: seats, Hidden: hidden,
		Duration: window, ServerPID: server.Pid(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	// Each publisher (audio 50 packets/s, video at least 25/s) reaches every other seat and
	// every supervisor.
	pairs := seats * (seats - 1 + hidden)
	if min := uint64(float64(pairs*75) * window.Seconds() * 0.8); res.Forwarded < min {
		t.Errorf("forwarded %d packets in %s, want at least %d", res.Forwarded, res.Window, min)
	}
	if len(res.FirstFrame) != pairs || res.FirstFrameP50 <= 0 || res.FirstFrameP99 < res.FirstFrameP50 {
		t.Errorf("first frames %v (p50 %s, p99 %s)", res.FirstFrame, res.FirstFrameP50, res.FirstFrameP99)
	}
	if res.LossRatio > 0.01 || res.ServerCPU <= 0 || res.CPUPerPacket <= 0 || res.AgentCPU <= 0 {
		t.Errorf("result %+v", res)
	}
}

// TestNoLeak runs join/publish/receive/leave cycles and checks that the goroutines come back
// to their level before the cycles (KAIPING_LEAK_CYCLES sets how many; default 20).
func TestNoLeak(t *testing.T) {
	cycles := 20
	if n, err := strconv.Atoi(os.Getenv("KAIPING_LEAK_CYCLES")); err == nil {
		cycles = n
	}
	media := mustMedia(t)
	ctx := context.Background()
	room := "leak-" + string(kaiping.NewID())[:8]
	if err := media.CreateRoom(ctx, room, signaling.RoomOptions{}); err != nil {
		t.Fatal(err)
	}
	perms := signaling.Permissions{PublishAudio: true, PublishVideo: true, Subscribe: signaling.Subscription{All: true}}
	cycle := func() {
		runCtx, stop := context.WithCancel(ctx)
		defer stop()
		var agents []*Agent
		var ids []string
		done := make(chan error, 2)
		for range 2 {
			g, err := media.Grant(ctx, room, kaiping.Principal{ID: kaiping.NewID(), Name: "甲"}, perms)
			if err != nil {
				t.Fatal(err)
			}
			a := New(ConfigFromGrant(g))
			agents, ids = append(agents, a), append(ids, g.Identity)
			go func() { done <- a.Run(runCtx) }()
		}
		deadline := time.Now().Add(20 * time.Second)
		for agents[0].Stats().FirstFrame(ids[1]).IsZero() || agents[1].Stats().FirstFrame(ids[0]).IsZero() {
			if time.Now().After(deadline) {
				t.Fatal("no media")
			}
			time.Sleep(20 * time.Millisecond)
		}
		stop()
		for range agents {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
	}
	cycle()
	base := settle(t, 0)
	for range cycles {
		cycle()
	}
	const slack = 3
	if g := settle(t, base+slack); g > base+slack {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after %d cycles, %d before\n%s", g, cycles, base, buf[:runtime.Stack(buf, true)])
	} else {
		t.Logf("%d cycles: goroutines %d -> %d", cycles, base, g)
	}
}

// settle waits up to 10 s for the goroutine count to drop to at most want (0: for it to stop
// changing) and returns it.
func settle(t *testing.T, want int) int {
	t.Helper()
	last := -1
	for i := 0; i < 100; i++ {
		runtime.GC()
		n := runtime.NumGoroutine()
		if (want > 0 && n <= want) || (want == 0 && n == last) {
			return n
		}
		last = n
		time.Sleep(100 * time.Millisecond)
	}
	return runtime.NumGoroutine()
}
