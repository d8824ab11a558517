package recorder

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/seat"
	"github.com/kaiping/kaiping/signaling"
)

// The recorder's cost is measured in a child process that does nothing but record (or, as
// the anchor, nothing but receive as a plain subscribing seat agent), so that the
// operating system's accounting of that process (rusage: user + system CPU, peak RSS) is
// the cost itself, with the SFU and the publishers in the parent.
const costChildEnv = "KAIPING_RECORDER_COST_CHILD"

// costResult is what a child reports on its standard output.
type costResult struct {
	Bytes     int64  `json:"bytes"`      // written to the spool (recorder)
	Packets   uint64 `json:"packets"`    // received
	HeapEarly uint64 `json:"heap_early"` // heap in use a quarter of the way in
	HeapLate  uint64 `json:"heap_late"`  // and at the end
}

// BenchmarkRecorderCost records a room of 3 seats each publishing Opus and 500 kbps VP8
// for 20 s (KAIPING_COST_SEATS and KAIPING_COST_SECONDS override both), and reports the recorder process's CPU seconds
// and bytes written per minute of recording, beside a subscribing seat agent's CPU on the
// same room. Run it with -benchtime=1x.
func BenchmarkRecorderCost(b *testing.B) {
	seconds, seats := envInt("KAIPING_COST_SECONDS", 20), envInt("KAIPING_COST_SEATS", 3)
	ctx := context.Background()
	srv := mustSFU(b, nil, kaiping.SystemClock{})
	if err := srv.CreateRoom(ctx, "cost", signaling.RoomOptions{}); err != nil {
		b.Fatal(err)
	}
	var room []*running
	for i := 0; i < seats; i++ {
		room = append(room, startSeat(b, srv, "cost", fmt.Sprintf("工位%d", i+1), func(c *seat.Config) {
			c.FPS, c.VideoBitrate = 25, 500_000
		}))
	}
	for _, s := range room {
		for _, o := range room {
			if o != s {
				waitFor(b, 30*time.Second, "media between the seats", func() bool { return packetsFrom(s.Agent, o.grant.Identity) > 50 })
			}
		}
	}
	for i := 0; i < b.N; i++ {
		for _, role := range []string{"recorder", "subscriber"} {
			g, err := srv.Grant(ctx, "cost", kaiping.Principal{ID: kaiping.NewID(), Name: role},
				signaling.Permissions{Subscribe: signaling.Subscription{All: true}, Hidden: true})
			if err != nil {
				b.Fatal(err)
			}
			res, cpu, rss := runCostChild(b, role, g, seconds)
			perMin := 60 / float64(seconds)
			b.ReportMetric(cpu*perMin, role+"-cpu-s/min")
			b.ReportMetric(float64(rss)/(1<<20), role+"-maxrss-MiB")
			if role == "recorder" {
				b.ReportMetric(float64(res.Bytes)*perMin/(1<<20), "recorder-MiB/min")
				b.ReportMetric(float64(res.HeapLate)/(1<<20), "recorder-heap-end-MiB")
				b.ReportMetric(float64(res.HeapEarly)/(1<<20), "recorder-heap-early-MiB")
			}
			b.Logf("%s, %d seats: %.2f CPU s over %d s, %d packets, %d bytes, max RSS %.1f MiB, heap %.1f → %.1f MiB",
				role, seats, cpu, seconds, res.Packets, res.Bytes, float64(rss)/(1<<20), float64(res.HeapEarly)/(1<<20), float64(res.HeapLate)/(1<<20))
		}
	}
}

// runCostChild runs this test binary as a child in role with grant g for seconds and
// returns its report, its CPU seconds and its peak RSS in bytes.
func runCostChild(tb testing.TB, role string, g signaling.Grant, seconds int) (costResult, float64, int64) {
	tb.Helper()
	grant, err := json.Marshal(g)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCostChild$", "-test.v")
	cmd.Env = append(os.Environ(), costChildEnv+"="+role, "KAIPING_COST_GRANT="+string(grant),
		"KAIPING_COST_SECONDS="+strconv.Itoa(seconds), "KAIPING_COST_SPOOL="+tb.TempDir())
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("%s child: %v\n%s", role, err, out)
	}
	var res costResult
	for _, line := range bytes.Split(out, []byte("\n")) {
		if err := json.Unmarshal(line, &res); err == nil && res.Packets > 0 {
			break
		}
	}
	if res.Packets == 0 {
		tb.Fatalf("%s child received nothing:\n%s", role, out)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return res, cpu, ru.Maxrss * 1024
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// TestCostChild is the child process of BenchmarkRecorderCost; run any other way it does
// nothing.
func TestCostChild(t *testing.T) {
	role := os.Getenv(costChildEnv)
	if role == "" {
		return
	}
	var g signaling.Grant
	if err := json.Unmarshal([]byte(os.Getenv("KAIPING_COST_GRANT")), &g); err != nil {
		t.Fatal(err)
	}
	seconds, _ := strconv.Atoi(os.Getenv("KAIPING_COST_SECONDS"))
	var res costResult
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	ctx := context.Background()
	switch role {
	case "recorder":
		r, err := newRecorder(Config{SpoolDir: os.Getenv("KAIPING_COST_SPOOL"), Loopback: true}, nil, nil, kaiping.SystemClock{}, testLog())
		if err != nil {
			t.Fatal(err)
		}
		rec, err := r.Start(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(seconds) * time.Second / 4)
		res.HeapEarly = heap()
		time.Sleep(time.Duration(seconds) * time.Second * 3 / 4)
		res.HeapLate = heap()
		if err := rec.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		m, _, err := ReadManifest(rec.dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m.Files {
			res.Bytes += f.Size
			res.Packets += f.Packets
		}
		st, _ := os.Stat(filepath.Join(rec.dir, ManifestName))
		res.Bytes += st.Size()
	case "subscriber":
		cfg := seat.ConfigFromGrant(g)
		cfg.Loopback = true
		a := seat.New(cfg)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- a.Run(runCtx) }()
		time.Sleep(time.Duration(seconds) * time.Second / 4)
		res.HeapEarly = heap()
		time.Sleep(time.Duration(seconds) * time.Second * 3 / 4)
		res.HeapLate = heap()
		cancel()
		<-done
		for _, tr := range a.Stats().Received {
			res.Packets += tr.Packets
		}
	}
	out, _ := json.Marshal(res)
	fmt.Printf("\n%s\n", out)
}
