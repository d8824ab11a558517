package bench

import (
	"strings"
	"testing"
)

// TestBenchReading runs the reading scenario small, through the command: three members
// reading 8 MiB bids each, both figures measured on both sides in each run, the per-member
// one judged against its goal.
func TestBenchReading(t *testing.T) {
	r := mustRunBench(t, "reading", "--members", "3", "--size", "8MiB")
	checkFigures(t, r, 2, "reading an opened bid, 3 members at once, per member", "reading opened bids, 3 members at once, all together")
	if r.Size != 8<<20 || !strings.Contains(r.Scenario, "3 committee members") {
		t.Errorf("scenario %q, size %d; want 3 members, 8 MiB", r.Scenario, r.Size)
	}
	if f := r.Figures[0]; f.Goal == nil || *f.Goal != *readingGoal || f.Met == nil || *f.Met != (f.Ratio >= 0.8) || f.Unit != "MB/s" {
		t.Errorf("per member: %+v, want MB/s judged against ≥ 0.8× the anchor", f)
	}
	if f := r.Figures[1]; f.Goal != nil || f.Unit != "MB/s" {
		t.Errorf("all together: %+v, want MB/s with no goal", f)
	}
}
