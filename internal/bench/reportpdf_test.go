package bench

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func atoi(tb testing.TB, s string) int {
	tb.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// TestBenchReportPDF runs the report scenario small, through the command: the report of a
// whole session built and rendered, its time and memory judged against their goals, and the
// anchor set with as many rows.
func TestBenchReportPDF(t *testing.T) {
	r := mustRunBench(t, "report-pdf", "--bidders", "300", "--groups", "2", "--sections", "2", "--members", "5", "--items", "6")
	names := []string{"the report built and rendered as a PDF", "peak memory: growth of the resident set (VmHWM)", "peak memory: Go heap objects, sampled"}
	units := []string{"ms", "MiB", "MiB"}
	goals := []float64{60_000, 256, 0}
	if r.Runs != 2 || len(r.Figures) != len(names) {
		t.Fatalf("%d runs, %d figures; want 2 runs, figures %q", r.Runs, len(r.Figures), names)
	}
	for i, f := range r.Figures {
		if f.Name != names[i] || f.Unit != units[i] || len(f.OursRuns) != 2 || len(f.AnchorRuns) != 2 {
			t.Errorf("figure %d: %+v; want %q in %s with 2 runs a side", i, f, names[i], units[i])
		}
		for _, v := range append(append([]float64{}, f.OursRuns...), f.AnchorRuns...) {
			if !(v > 0) {
				t.Errorf("%s: %g, want a positive figure", f.Name, v)
			}
		}
		if (f.Goal != nil) != (goals[i] > 0) || f.Goal != nil && (f.Goal.Below != goals[i] || f.Met == nil || *f.Met != (f.Ours < goals[i])) {
			t.Errorf("%s: goal %+v met %v, want < %g", f.Name, f.Goal, f.Met, goals[i])
		}
	}
	// The PDF holds every section: a few pages a section at least, more than the anchor's
	// one table of as many rows.
	notes := strings.Join(r.Notes, "\n")
	m := regexp.MustCompile(`in (\d+) pages \(the anchor's (\d+) pages\)`).FindStringSubmatch(notes)
	if m == nil || r.Size < 50_000 || !strings.Contains(notes, "4 sections, 300 bids") {
		t.Fatalf("PDF of %d bytes; notes:\n%s", r.Size, notes)
	}
	if pages, anchor := atoi(t, m[1]), atoi(t, m[2]); pages < 10 || anchor < 5 || pages <= anchor {
		t.Errorf("the report has %d pages, the anchor %d", pages, anchor)
	}
	if !strings.Contains(r.Scenario, "300 bidders in 2 groups × 2 sections") {
		t.Errorf("scenario %q", r.Scenario)
	}
}
