package seat

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/embedded"
)

// mustSFU is an embedded SFU on loopback, in this process.
func mustSFU(tb testing.TB) *embedded.Server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := embedded.New(embedded.Config{
		Secret: []byte("a bench secret that is long enough!"), URL: "ws://" + ln.Addr().String() + "/media/ws",
		UDPAddr: "127.0.0.1:0", Loopback: true,
	}, nil, kaiping.SystemClock{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		ln.Close()
		tb.Fatal(err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/media/ws", srv.FiberHandler())
	go func() { _ = app.Listener(ln) }()
	tb.Cleanup(func() {
		_ = srv.Close()
		_ = app.Shutdown()
	})
	return srv
}

// TestBench runs 2 seats and a hidden supervisor for a second on an SFU in this process: the
// harness counts what the agents received, a first frame per pair, no CPU for a server it
// was given no process of, and its own.
func TestBench(t *testing.T) {
	res, err := Bench(context.Background(), mustSFU(t), Load{
		Room: "bench-seat", Seats: 2, Hidden: 1, Warmup: 200 * time.Millisecond, Duration: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each publisher (audio 50 packets/s, video at least 25/s) reaches the other seat and
	// the supervisor.
	const pairs = 2 * 2
	if min := uint64(pairs * 75 * 0.8 * res.Window.Seconds()); res.Forwarded < min || res.Bytes < res.Forwarded*20 {
		t.Errorf("forwarded %d packets (%d bytes) in %s, want at least %d", res.Forwarded, res.Bytes, res.Window, min)
	}
	if len(res.FirstFrame) != pairs || res.FirstFrame[0] <= 0 || res.FirstFrameP50 < res.FirstFrame[0] || res.FirstFrameP99 != res.FirstFrame[pairs-1] {
		t.Errorf("first frames %v, p50 %s, p99 %s", res.FirstFrame, res.FirstFrameP50, res.FirstFrameP99)
	}
	if res.LossRatio > 0.01 || res.ServerCPU != 0 || res.CPUPerPacket != 0 || res.AgentCPU <= 0 {
		t.Errorf("result %+v", res)
	}
}

// otherBackend hands out the SFU's grants as if another backend had issued them.
type otherBackend struct{ *embedded.Server }

func (o otherBackend) Grant(ctx context.Context, room string, who kaiping.Principal, perms signaling.Permissions) (signaling.Grant, error) {
	g, err := o.Server.Grant(ctx, room, who, perms)
	g.Backend = "livekit"
	return g, err
}

func TestBenchRefuses(t *testing.T) {
	srv := mustSFU(t)
	tests := []struct {
		name  string
		rooms Rooms
		load  Load
		want  string // a code or part of the error
	}{
		{"no publisher", srv, Load{Room: "r1", Hidden: 2}, "at least one publishing seat"},
		{"negative subscribers", srv, Load{Room: "r2", Seats: 1, Subscribers: -1}, "no negative counts"},
		{"a room name the backend refuses", srv, Load{Room: "no spaces", Seats: 2}, signaling.CodeRoomInvalid},
		{"grants of another backend", otherBackend{srv}, Load{Room: "r3", Seats: 2}, `not the "livekit" backend's`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Bench(context.Background(), tt.rooms, tt.load)
			if err == nil || (kaiping.CodeOf(err) != tt.want && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Bench = %v, want %s", err, tt.want)
			}
		})
	}
}

// rtpHeader is a 12-byte RTP header of payload type pt.
func rtpHeader(pt byte, seq uint16, ssrc uint32) []byte {
	b := make([]byte, 12, 40)
	b[0], b[1] = 0x80, pt
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	return append(b, make([]byte, 28)...) // an encrypted payload, never read
}

func TestLossMeter(t *testing.T) {
	tests := []struct {
		name      string
		packets   [][]byte
		lost, got uint64
	}{
		{"in order", [][]byte{rtpHeader(96, 1, 7), rtpHeader(96, 2, 7), rtpHeader(96, 3, 7)}, 0, 3},
		{"a gap", [][]byte{rtpHeader(96, 1, 7), rtpHeader(96, 4, 7)}, 2, 2},
		{"a gap filled by a retransmission", [][]byte{rtpHeader(96, 1, 7), rtpHeader(96, 3, 7), rtpHeader(96, 2, 7)}, 0, 3},
		{"across the wrap", [][]byte{rtpHeader(96, 65534, 7), rtpHeader(96, 65535, 7), rtpHeader(96, 1, 7)}, 1, 3},
		{"reordered before the first", [][]byte{rtpHeader(96, 0, 7), rtpHeader(96, 65535, 7), rtpHeader(96, 2, 7)}, 1, 3},
		{"marker bit", [][]byte{rtpHeader(0x80|96, 10, 7), rtpHeader(111, 11, 7)}, 0, 2},
		{"streams apart", [][]byte{rtpHeader(96, 1, 7), rtpHeader(111, 500, 8), rtpHeader(96, 3, 7), rtpHeader(111, 501, 8)}, 1, 4},
		{"a duplicate hides a loss, as in a receiver's counters", [][]byte{rtpHeader(96, 1, 7), rtpHeader(96, 1, 7), rtpHeader(96, 3, 7)}, 0, 3},
		{"RTCP, STUN, DTLS and runts are not RTP", [][]byte{
			rtpHeader(200, 1, 7), rtpHeader(0x80|73, 1, 7), {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0},
			{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {0x80, 96, 0, 1},
		}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &lossMeter{streams: map[uint32]*seqSpan{}}
			for _, p := range tt.packets {
				m.observe(p)
			}
			if lost, got := m.Counts(); lost != tt.lost || got != tt.got {
				t.Errorf("lost %d of %d, want %d of %d", lost, got, tt.lost, tt.got)
			}
		})
	}
}

// TestLossMeterReads: the meter counts what passes through ReadFrom, unchanged.
func TestLossMeterReads(t *testing.T) {
	recv, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &lossMeter{PacketConn: recv, streams: map[uint32]*seqSpan{}}
	defer m.Close()
	send, err := net.Dial("udp4", recv.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer send.Close()
	for _, seq := range []uint16{5, 7} {
		if _, err := send.Write(rtpHeader(96, seq, 9)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1500)
	_ = m.SetReadDeadline(time.Now().Add(5 * time.Second))
	for range 2 {
		n, _, err := m.ReadFrom(buf)
		if err != nil || n != 40 || buf[1] != 96 {
			t.Fatalf("ReadFrom = %d bytes %x, %v", n, buf[:n], err)
		}
	}
	if lost, got := m.Counts(); lost != 1 || got != 2 {
		t.Errorf("lost %d of %d, want 1 of 2", lost, got)
	}
}

func TestNearestRank(t *testing.T) {
	ds := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tt := range []struct {
		p    int
		want time.Duration
	}{{50, 5}, {99, 10}, {100, 10}, {1, 1}, {0, 1}} {
		if got := NearestRank(ds, tt.p); got != tt.want {
			t.Errorf("p%d = %d, want %d", tt.p, got, tt.want)
		}
	}
	if NearestRank(nil, 50) != 0 {
		t.Error("percentile of nothing")
	}
}

func TestProcessCPU(t *testing.T) {
	d, err := ProcessCPU(os.Getpid())
	if err != nil || d <= 0 {
		t.Fatalf("ProcessCPU(self) = %s, %v", d, err)
	}
	if _, err := ProcessCPU(1 << 30); err == nil {
		t.Error("ProcessCPU of no process succeeded")
	}
}
