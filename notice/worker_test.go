package notice

import (
	"testing"
	"time"
)

// TestBackoff: the wait doubles from Backoff after each failure and stops at MaxBackoff.
func TestBackoff(t *testing.T) {
	w := &Worker{cfg: WorkerConfig{Backoff: 30 * time.Second, MaxBackoff: 5 * time.Minute}.withDefaults()}
	for n, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute,
		4: 4 * time.Minute, 5: 5 * time.Minute, 12: 5 * time.Minute} {
		if got := w.backoff(n); got != want {
			t.Errorf("after failure %d: wait %v, want %v", n, got, want)
		}
	}
	if d := (WorkerConfig{}).withDefaults(); d.Attempts != 10 || d.Interval != 5*time.Second || d.MaxBackoff != 30*time.Minute {
		t.Errorf("defaults %+v", d)
	}
}
