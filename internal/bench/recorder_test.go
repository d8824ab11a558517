package bench

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/recorder"
)

// recorderFigureNames are the recorder's figures of one side, after the side's name.
var recorderFigureNames = []string{
	"CPU seconds per minute of room",
	"CPU per recorded packet",
	"bytes per minute of room (the anchor: RTP bytes received)",
}

// TestBenchMediaRecorder runs the room with the recorder (3 seats, 2 s, two runs): on both
// sides the recorder and its anchor cost CPU, received every packet the publishers sent,
// and the recorder wrote about what it received.
func TestBenchMediaRecorder(t *testing.T) {
	const seats, bitrate = 3, 500_000
	r := mustRunBench(t, "media", "--scenario", "room", "--seats", "3", "--hidden", "0", "--seconds", "2", "--warmup", "500ms")
	if len(r.Figures) != len(mediaFigureNames)+2*len(recorderFigureNames) {
		t.Fatalf("%d figures", len(r.Figures))
	}
	// Each publisher sends 25 video frames a second (500 kbps, a few packets each) and 50
	// Opus packets: every track's bytes, and about 100 to 200 packets a second a seat.
	wantMiB := float64(seats*bitrate/8*60) / (1 << 20)
	for i, s := range recorderSides {
		cpu, perPacket, bytes := r.Figures[len(mediaFigureNames)+3*i], r.Figures[len(mediaFigureNames)+3*i+1], r.Figures[len(mediaFigureNames)+3*i+2]
		for k, f := range []benchFigure{cpu, perPacket, bytes} {
			if want := "recorder on " + s.name + ": " + recorderFigureNames[k]; f.Name != want || f.AnchorName != s.anchor || len(f.OursRuns) != 2 || len(f.AnchorRuns) != 2 {
				t.Errorf("figure %q (want %q), anchor %q, runs %v %v", f.Name, want, f.AnchorName, f.OursRuns, f.AnchorRuns)
			}
			if f.Ours != medianOf(f.OursRuns) || f.Anchor != medianOf(f.AnchorRuns) || math.Abs(f.Ratio-f.Ours/f.Anchor) > 1e-9 {
				t.Errorf("%s: ours %g anchor %g ratio %g do not follow from the runs %v %v", f.Name, f.Ours, f.Anchor, f.Ratio, f.OursRuns, f.AnchorRuns)
			}
		}
		for run := range 2 {
			// Both cost CPU, below a whole core.
			for _, c := range []float64{cpu.OursRuns[run], cpu.AnchorRuns[run]} {
				if !(c > 0) || c > 60 {
					t.Errorf("%s run %d: %g CPU s/min", s.name, run+1, c)
				}
			}
			// CPU per packet is the CPU per minute over at least 100 packets a second a seat.
			for _, pair := range [][2]float64{{perPacket.OursRuns[run], cpu.OursRuns[run]}, {perPacket.AnchorRuns[run], cpu.AnchorRuns[run]}} {
				if pkt, perMin := pair[0], pair[1]; !(pkt > 0) || pkt > perMin*1e6/60/(100*seats) {
					t.Errorf("%s run %d: %g µs a packet at %g CPU s/min", s.name, run+1, pkt, perMin)
				}
			}
			rec, anchor := bytes.OursRuns[run], bytes.AnchorRuns[run]
			if rec < wantMiB*0.8 || rec > wantMiB*1.5 || math.Abs(rec/anchor-1) > 0.2 {
				t.Errorf("%s run %d: the recorder wrote %.2f MiB/min, its anchor received %.2f, the publishers' video alone %.2f", s.name, run+1, rec, anchor, wantMiB)
			}
		}
	}
	notes := strings.Join(r.Notes, "\n")
	for _, want := range []string{"Recorder on embedded SFU (medians): ", "Recorder on LiveKit (medians): ", "0 packets counted lost"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if !strings.Contains(r.Method, "Once both have all 6 tracks, 500ms of warm-up, then a 2s window") || !strings.Contains(r.Method, "Storing is left out") {
		t.Errorf("method: %s", r.Method)
	}
}

// TestMediaRecorderFlag: the recorder is measured on the room unless --recorder=false, and
// on the broadcast only with --recorder.
func TestMediaRecorderFlag(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{nil, true},
		{[]string{"--recorder=false"}, false},
		{[]string{"--scenario", "broadcast"}, false},
		{[]string{"--scenario", "broadcast", "--recorder"}, true},
	}
	for _, tt := range tests {
		var got mediaLoad
		cmd := benchMediaCommand()
		cmd.Action = func(_ context.Context, c *cli.Command) (err error) {
			got, err = newMediaLoad(c)
			return err
		}
		if err := cmd.Run(context.Background(), append([]string{"media"}, tt.args...)); err != nil || got.recorder != tt.want {
			t.Errorf("%v: recorder %v, %v; want %v", tt.args, got.recorder, err, tt.want)
		}
	}
}

// TestRecorderChild: the child refuses what it cannot join with the recorder's or the
// server's code, records a room of the SFU child, answers status and stop, and refuses an
// unknown request.
func TestRecorderChild(t *testing.T) {
	ctx := context.Background()
	sfu := mustSFUChild(t)
	if err := sfu.CreateRoom(ctx, "r", signaling.RoomOptions{}); err != nil {
		t.Fatal(err)
	}
	grant := func(name string) signaling.Grant {
		g, err := sfu.Grant(ctx, "r", kaiping.Principal{ID: kaiping.NewID(), Name: name}, hiddenPerms)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	spool := t.TempDir()
	unknown := grant("录像")
	unknown.Backend = "janus"
	forged := grant("录像")
	forged.Token += "x"
	for _, tt := range []struct {
		name  string
		start recorderStart
		code  string
	}{
		{"a backend the recorder cannot join", recorderStart{Grant: unknown, Spool: spool}, recorder.CodeBackendUnsupported},
		{"a backend the anchor cannot join", recorderStart{Grant: unknown, Discard: true}, "bench.backend"},
		{"a forged grant", recorderStart{Grant: forged, Spool: spool}, signaling.CodeGrantInvalid},
	} {
		if c, err := startRecorderChild(ctx, tt.start); kaiping.CodeOf(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
			if c != nil {
				_ = c.stop()
			}
		}
	}

	for _, discard := range []bool{false, true} {
		c, err := startRecorderChild(ctx, recorderStart{Grant: grant("录像"), Spool: spool, Discard: discard})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.call("dance"); kaiping.CodeOf(err) != "bench.op" {
			t.Errorf("discard %v: an unknown request: %v", discard, err)
		}
		// No one publishes: nothing to record, and nothing fails.
		s, err := c.sample()
		if err != nil || s.Tracks != 0 || s.Packets != 0 || s.cpu <= 0 || s.at.IsZero() {
			t.Errorf("discard %v: sample %+v, %v", discard, s, err)
		}
		stopped, err := c.call("stop")
		if err != nil || stopped.Tracks != 0 || stopped.Bytes != 0 || (!discard && !(stopped.CloseSeconds > 0)) {
			t.Errorf("discard %v: stop %+v, %v", discard, stopped, err)
		}
		if err := c.stop(); err != nil {
			t.Errorf("discard %v: the child after stop: %v", discard, err)
		}
	}
}

func TestRecorderRun(t *testing.T) {
	run := recorderRun{
		window: 30 * time.Second, recWindow: 30 * time.Second,
		recCPU: 3 * time.Second, anchorCPU: 1500 * time.Millisecond, recWChar: 6 << 20,
		rec:        recorderReply{PacketsPerS: 1000, BytesPerS: 200 << 10},
		anchorPkts: 30_000, anchorB: 6 << 20,
	}
	tests := []struct {
		name string
		f    func(recorderRun) float64
		want float64
	}{
		{"recorder CPU s/min", recorderRun.recCPUPerMin, 6},
		{"anchor CPU s/min", recorderRun.anchorCPUPerMin, 3},
		{"recorder µs/packet", recorderRun.recPerPacket, 100},
		{"anchor µs/packet", recorderRun.anchorPerPacket, 50},
		{"recorder MiB/min", recorderRun.recMiBPerMin, 11.71875},
		{"anchor MiB/min", recorderRun.anchorMiBPerMin, 12},
		{"recorder wchar MiB/min", recorderRun.recWCharMiBPerMin, 12},
		{"anchor packets/s", recorderRun.anchorPPS, 1000},
		{"no window", func(recorderRun) float64 { return recorderRun{}.recCPUPerMin() }, 0},
		{"no packets recorded", func(recorderRun) float64 {
			return recorderRun{recCPU: time.Second, recWindow: time.Second}.recPerPacket()
		}, 0},
		{"no packets received", func(recorderRun) float64 { return recorderRun{anchorCPU: time.Second}.anchorPerPacket() }, 0},
	}
	for _, tt := range tests {
		if got := tt.f(run); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s: %g, want %g", tt.name, got, tt.want)
		}
	}

	// Figures of the sides that ran, each against its anchor.
	r := benchResult{Method: "SFU."}
	addRecorderFigures(&r, mediaLoad{seats: 9, warmup: 2 * time.Second, window: 30 * time.Second}, map[string][]recorderRun{sideLiveKit: {run, run, run}})
	if len(r.Figures) != len(recorderFigureNames) || len(r.Notes) != 1 {
		t.Fatalf("%d figures, %d notes", len(r.Figures), len(r.Notes))
	}
	if f := r.Figures[1]; f.Name != "recorder on LiveKit: CPU per recorded packet" || f.Ours != 100 || f.Anchor != 50 || f.Ratio != 2 || f.Goal != nil {
		t.Errorf("figure %+v", f)
	}
	if !strings.HasPrefix(r.Method, "SFU. Recorder: ") || !strings.Contains(r.Method, "Once both have all 18 tracks, 2s of warm-up, then a 30s window") {
		t.Errorf("method %s", r.Method)
	}
	if n := r.Notes[0]; !strings.Contains(n, "Recorder on LiveKit (medians): 1000 packets/s recorded, its anchor received 1000; 12.0 MiB/min handed to write calls") {
		t.Errorf("note %s", n)
	}
}

// TestSpoolOnly: the benchmark's archive and catalog refuse everything with one code, which
// the child's log leaves out.
func TestSpoolOnly(t *testing.T) {
	ctx := context.Background()
	var s spoolOnly
	_, e1 := s.Put(ctx, "k", strings.NewReader(""), 0, "")
	_, e2 := s.Stat(ctx, "k")
	_, e3 := s.Get(ctx, "k")
	e4 := s.Begin(ctx, recorder.Pending{})
	_, e5 := s.Commit(ctx, recorder.Stored{})
	_, e6 := s.Pending(ctx, time.Now())
	for i, err := range []error{e1, e2, e3, e4, e5, e6} {
		if kaiping.CodeOf(err) != codeNoStore {
			t.Errorf("call %d: %v", i+1, err)
		}
	}
	var b strings.Builder
	log := slog.New(withoutNoStore{slog.NewTextHandler(&b, nil)}).With("room", "r")
	log.Error("storing the recording failed", "err", e4)
	log.Error("recording a track failed", "err", errors.New("disk full"))
	if got := b.String(); strings.Contains(got, "storing") || !strings.Contains(got, "disk full") || !strings.Contains(got, "room=r") {
		t.Errorf("log:\n%s", got)
	}
}
