package bench

import (
	"strings"
	"testing"
)

// TestBenchSession runs the session scenario for a few seconds on a small room (3 seats: the
// LiveKit SDK's pion logger races with its own receivers under -race on larger rooms): both
// sides forwarded packets with the recorder in the room, and the dropped seat came back with video every time, its
// figure the slowest return against the goal of 3 s.
func TestBenchSession(t *testing.T) {
	r := mustRunBench(t, "session", "--duration", "3s", "--seats", "3", "--hidden", "1", "--drops", "2", "--drop-for", "3s", "--bitrate", "150000")
	if len(r.Figures) != len(mediaFigureNames)+1 {
		t.Fatalf("%d figures", len(r.Figures))
	}
	for i, name := range mediaFigureNames {
		if f := r.Figures[i]; f.Name != name || !(f.Ours > 0) && i < 4 || !(f.Anchor > 0) && i < 4 {
			t.Errorf("figure %d: %+v", i, f)
		}
	}
	back := r.Figures[len(r.Figures)-1]
	if len(back.OursRuns) != 2 || !(back.Ours > 0) || back.Ours > 30_000 || back.Goal == nil || back.Goal.Below != 3000 {
		t.Errorf("the dropped seat's figure: %+v", back)
	}
	if !strings.Contains(r.Scenario, "3 seats across 3 cities, 1 hidden") || !strings.Contains(r.Method, "3 seats each publishing") {
		t.Errorf("scenario %q, method %q", r.Scenario, r.Method)
	}
}
