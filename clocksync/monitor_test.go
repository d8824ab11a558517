package clocksync

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/internal/devenv"
)

// kernelSays is a kernel whose clock discipline the test decides: this machine's kernel
// answers for itself (Adjtimex), and may well say unsynchronised.
type kernelSays bool

func (k kernelSays) KernelSync() (KernelState, error) { return KernelState{Synchronised: bool(k)}, nil }

// TestMonitor: the verdict of each check against an NTP server on loopback, and of the
// kernel's state when it is required.
func TestMonitor(t *testing.T) {
	ntp := devenv.StartNTPServer(t)
	silent := "127.0.0.1:9" // discard: nothing answers NTP there
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name    string
		servers []string
		offset  time.Duration
		kernel  *kernelSays
		problem string // in Status.Problem, "" = trusted
	}{
		{"same time", []string{ntp.Addr}, 0, nil, ""},
		{"within the bound", []string{ntp.Addr}, 400 * time.Millisecond, nil, ""},
		{"ahead beyond it", []string{ntp.Addr}, 600 * time.Millisecond, nil, "超过允许的 500ms"},
		{"behind beyond it", []string{ntp.Addr}, -600 * time.Millisecond, nil, "超过允许的 500ms"},
		{"one of two answers", []string{silent, ntp.Addr}, 0, nil, ""},
		{"none answers", []string{silent}, 0, nil, "均无应答"},
		{"kernel synchronised", []string{ntp.Addr}, 0, new(kernelSays(true)), ""},
		{"kernel not synchronised", []string{ntp.Addr}, 0, new(kernelSays(false)), "操作系统报告时钟未由 NTP 同步"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ntp.SetOffset(tt.offset)
			cfg := Config{Servers: tt.servers, MaxOffset: 500 * time.Millisecond, Interval: time.Minute, Timeout: 300 * time.Millisecond}
			var k Kernel = Adjtimex{}
			if tt.kernel != nil {
				cfg.RequireKernelSync, k = true, *tt.kernel
			}
			m := New(cfg, k, log)
			if err := m.Synchronised(); kaiping.CodeOf(err) != "clock.unsynchronised" {
				t.Fatalf("before the first check: %v", err)
			}
			st := m.Check(context.Background())
			if tt.problem == "" && st.Problem != "" || !strings.Contains(st.Problem, tt.problem) {
				t.Fatalf("%+v, want problem %q", st, tt.problem)
			}
			if err := m.Synchronised(); (err == nil) != (tt.problem == "") || err != nil && kaiping.KindOf(err) != kaiping.KindUnavailable {
				t.Fatalf("Synchronised: %v", err)
			}
		})
	}
}

// TestAdjtimex reads this machine's kernel: it answers, whatever it says.
func TestAdjtimex(t *testing.T) {
	ks, err := Adjtimex{}.KernelSync()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kernel synchronised: %v, max error %s", ks.Synchronised, ks.MaxError)
}
