package recorder

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/seat"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/embedded"
)

// testLog is quiet unless KAIPING_TEST_LOG is set.
func testLog() *slog.Logger {
	if os.Getenv("KAIPING_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

var publisher = signaling.Permissions{PublishAudio: true, PublishVideo: true, Subscribe: signaling.Subscription{All: true}}

// mustSpoolRecorder is a recorder that keeps its recordings in a spool of the test's.
func mustSpoolRecorder(tb testing.TB, clock kaiping.Clock, tune ...func(*Config)) *Recorder {
	tb.Helper()
	cfg := Config{SpoolDir: tb.TempDir(), Loopback: true, GapThreshold: 500 * time.Millisecond}
	for _, f := range tune {
		f(&cfg)
	}
	r, err := newRecorder(cfg, nil, nil, clock, testLog())
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// mustSFU starts an embedded SFU on loopback that records with rec.
func mustSFU(tb testing.TB, rec signaling.Recorder, clock kaiping.Clock) *embedded.Server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := embedded.New(embedded.Config{
		Secret: []byte("0123456789abcdef0123456789abcdef-test"), URL: "ws://" + ln.Addr().String() + "/media/ws",
		UDPAddr: "127.0.0.1:0", Loopback: true, JoinsPerSecond: 1000, JoinBurst: 1000,
		ResumeWindow: 20 * time.Second, ICEDisconnectedTimeout: time.Second, ICEFailedTimeout: 2 * time.Second,
	}, rec, clock, testLog())
	if err != nil {
		ln.Close()
		tb.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go func() { _ = hs.Serve(ln) }()
	tb.Cleanup(func() {
		_ = srv.Close()
		_ = hs.Close()
	})
	return srv
}

// running is a seat agent running in the background.
type running struct {
	*seat.Agent
	grant  signaling.Grant
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func (r *running) stop() {
	r.once.Do(func() {
		r.cancel()
		<-r.done
	})
}

// startSeat runs a seat agent publishing with a grant for name in room until the test ends.
func startSeat(tb testing.TB, m signaling.Media, room, name string, tune ...func(*seat.Config)) *running {
	tb.Helper()
	g, err := m.Grant(context.Background(), room, kaiping.Principal{ID: kaiping.NewID(), Name: name}, publisher)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := seat.ConfigFromGrant(g)
	cfg.Loopback, cfg.FPS, cfg.VideoBitrate = true, 20, 200_000
	for _, f := range tune {
		f(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Agent: seat.New(cfg), grant: g, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- r.Run(ctx) }()
	tb.Cleanup(r.stop)
	return r
}

// packetsFrom sums the packets a has received from identity.
func packetsFrom(a *seat.Agent, identity string) uint64 {
	var n uint64
	for _, t := range a.Stats().From(identity) {
		n += t.Packets
	}
	return n
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

// spooledRecording returns the one recording spooled for room, once its manifest is final.
func spooledRecording(tb testing.TB, r *Recorder, room string) (string, Manifest) {
	tb.Helper()
	var dir string
	var m Manifest
	waitFor(tb, 20*time.Second, "the recording's final manifest", func() bool {
		dirs, _ := filepath.Glob(filepath.Join(r.cfg.SpoolDir, room, "*"))
		if len(dirs) != 1 {
			return false
		}
		dir = dirs[0]
		var err error
		m, _, err = ReadManifest(dir)
		return err == nil && m.Final
	})
	return dir, m
}

// countFrames counts the frames of a recorded file, failing the test if it does not parse.
func countFrames(tb testing.TB, path string) int {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	n, err := CountFrames(path, f)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// outage cuts n for 3 s, during which the clock jumps 30 s (once what was in flight has
// arrived), and returns the clock's time before the jump.
func outage(n *seat.CutNet, clock *kaiping.ManualClock) time.Time {
	n.Set(true)
	time.Sleep(1500 * time.Millisecond)
	before := clock.Now()
	clock.Advance(30 * time.Second)
	time.Sleep(1500 * time.Millisecond)
	n.Set(false)
	return before
}

// cutNet is a seat network the test cuts and restores, closed when the test ends.
func cutNet(tb testing.TB) *seat.CutNet {
	tb.Helper()
	n, err := seat.NewCutNet()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { n.Close() })
	return n
}
