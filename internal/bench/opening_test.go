package bench

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
)

// TestBenchOpening runs two openings of five bidders through the command and checks that
// every figure is measured, its ratio follows from the runs and every goal is judged.
func TestBenchOpening(t *testing.T) {
	r := mustRunBench(t, "opening", "--bidders", "5", "--bid-size", "64KiB", "--concurrency", "3", "--spread", "1s")
	want := []struct {
		name, unit string
		goal       *benchGoal
	}{
		{"p99 unlock latency, 5 bidders (request → own envelopes shown verified)", "ms", openingLatencyGoal},
		{"median unlock latency, 5 bidders", "ms", nil},
		{"last envelope verified → record published, 5 bidders", "ms", openingPublishGoal},
		{"verification throughput, 5 bidders", "MB/s", openingVerifyGoal},
		{"confirmations of the record, 5 bidders", "/s", nil},
	}
	names := make([]string, len(want))
	for i, w := range want {
		names[i] = w.name
	}
	checkFigures(t, r, 2, names...)
	if r.Size != 64<<10 || !strings.Contains(r.Scenario, "5 bidders") {
		t.Errorf("scenario %q, size %d; want 5 bidders, 64 KiB", r.Scenario, r.Size)
	}
	for i, f := range r.Figures {
		w := want[i]
		switch {
		case f.Unit != w.unit:
			t.Errorf("%s in %s, want %s", f.Name, f.Unit, w.unit)
		case (f.Goal == nil) != (w.goal == nil) || f.Goal != nil && *f.Goal != *w.goal:
			t.Errorf("%s: goal %v, want %v", f.Name, f.Goal, w.goal)
		case f.Met != nil && *f.Met != (f.Goal.MinRatio > 0 && f.Ratio >= f.Goal.MinRatio || f.Goal.Below > 0 && f.Ours < f.Goal.Below):
			t.Errorf("%s: met %v does not follow from ours %g, ratio %g, goal %v", f.Name, *f.Met, f.Ours, f.Ratio, f.Goal)
		}
	}
	// Each bidder has a summary and a 64 KiB technical envelope: both are verified.
	for run := 1; run <= 2; run++ {
		prefix := fmt.Sprintf("5 bidders, run %d: ", run)
		if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.HasPrefix(n, prefix) && strings.Contains(n, "10 envelopes") }) {
			t.Errorf("no note %q… on 10 envelopes: %q", prefix, r.Notes)
		}
	}
	verdict := r.Notes[len(r.Notes)-1]
	if openingFigures(r.Figures).met() != strings.Contains(verdict, "largest opening this machine held within the goals: 5 bidders") {
		t.Errorf("last note %q does not follow from the goals", verdict)
	}
}

// fakeOpening is an opening of n bidders whose p99 latency is p99 ms and whose other goals
// are met.
func fakeOpening(n int, p99 float64) openingSample {
	return openingSample{n: n, latencies: []float64{p99 / 2, p99}, anchorLatencies: []float64{10, 20}, bytes: 2e6,
		oursSeconds: 1, anchorSeconds: 1, publishMs: 100, boardMs: 10, confirmsPerSec: 50, checkinsPerSec: 100}
}

func TestRampOpenings(t *testing.T) {
	tests := []struct {
		name    string
		counts  []int
		p99     map[int]float64 // ms; 100 if absent
		fail    int             // the count whose opening fails, if any
		ran     []int
		verdict string
	}{
		{"all within the goals", []int{10, 20}, nil, 0, []int{10, 20}, "held within the goals: 20 bidders, the largest tried"},
		{"stops after the first miss", []int{10, 20, 40, 80}, map[int]float64{40: 900, 80: 900}, 0, []int{10, 20, 40},
			"held within the goals: 20 bidders; 40 missed a goal"},
		{"the smallest misses", []int{10, 20}, map[int]float64{10: 500}, 0, []int{10}, "No opening of those tried held the goals"},
		{"an opening fails", []int{10, 20, 40}, nil, 20, []int{10}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ran []int
			counts, err := rampOpenings(tt.counts, 2, func(n, run int) (openingSample, error) {
				if n == tt.fail {
					return openingSample{}, errors.New("broken")
				}
				if run == 1 {
					ran = append(ran, n)
				}
				p99, ok := tt.p99[n]
				if !ok {
					p99 = 100
				}
				return fakeOpening(n, p99), nil
			})
			if !slices.Equal(ran, tt.ran) {
				t.Errorf("ran %v, want %v", ran, tt.ran)
			}
			if tt.fail != 0 {
				if err == nil {
					t.Errorf("the failed opening of %d bidders was not reported", tt.fail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := openingResult(&benchSetup{size: 1 << 20, runs: 2}, openingPlan{concurrency: 4, runs: 2}, counts)
			if len(counts) != len(tt.ran) || len(r.Figures) != 5*len(tt.ran) {
				t.Errorf("%d counts and %d figures for %d counts run", len(counts), len(r.Figures), len(tt.ran))
			}
			for _, rs := range counts {
				if len(rs) != 2 {
					t.Errorf("%d runs of %d bidders, want 2", len(rs), rs[0].n)
				}
			}
			if last := r.Notes[len(r.Notes)-1]; !strings.Contains(last, tt.verdict) {
				t.Errorf("verdict %q, want it to say %q", last, tt.verdict)
			}
		})
	}
}

func TestOpeningGoals(t *testing.T) {
	tests := []struct {
		name   string
		change func(*openingSample)
		missed string // the figure whose goal is missed, "" if none
	}{
		{"all met", func(*openingSample) {}, ""},
		{"p99 latency at the bound", func(s *openingSample) { s.latencies = []float64{100, 500} }, "p99 unlock latency"},
		{"publication takes a second", func(s *openingSample) { s.publishMs = 1000 }, "last envelope verified → record published"},
		{"verification below 0.8× the anchor", func(s *openingSample) { s.oursSeconds = 1.26 }, "verification throughput"},
		{"verification at 0.8× the anchor", func(s *openingSample) { s.oursSeconds = 1.25 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fakeOpening(10, 100)
			tt.change(&s)
			fs := openingRuns{s}.figures()
			var missed []string
			for _, f := range fs {
				if f.Met != nil && !*f.Met {
					missed = append(missed, f.Name)
				}
			}
			switch {
			case tt.missed == "" && (len(missed) > 0 || !fs.met()):
				t.Errorf("missed %q, want every goal met", missed)
			case tt.missed != "" && (len(missed) != 1 || !strings.HasPrefix(missed[0], tt.missed) || fs.met()):
				t.Errorf("missed %q, want only %q", missed, tt.missed)
			}
		})
	}
}

func TestBenchOpeningBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code string
	}{
		{"two bidders", []string{"--bidders", "2"}, "bench.bidders"},
		{"ramp not a number", []string{"--ramp", "1000,x"}, "bench.ramp"},
		{"ramp going down", []string{"--ramp", "1000,500"}, "bench.ramp"},
		{"ramp repeating a count", []string{"--ramp", "1000,1000"}, "bench.ramp"},
		{"ramp below three", []string{"--ramp", "2,10"}, "bench.ramp"},
		{"negative spread", []string{"--spread", "-1s"}, "bench.spread"},
		{"no concurrency", []string{"--concurrency", "0"}, "bench.concurrency"},
		{"no runs", []string{"--runs", "0"}, "bench.runs"},
		{"zero bid size", []string{"--bid-size", "0"}, "bench.size"},
		{"bid size without a number", []string{"--bid-size", "MiB"}, "bench.size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := run(t, append([]string{"bench", "opening", "--tmpdir", dir}, tt.args...)...)
			if kaiping.CodeOf(err) != tt.code {
				t.Errorf("%v: %v, want %s", tt.args, err, tt.code)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("%v left %d entries behind", tt.args, len(left))
			}
		})
	}
}
