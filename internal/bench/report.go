package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v3"
)

// benchResult is what one scenario measured: written with --json, read by `bench report`.
type benchResult struct {
	Scenario string        `json:"scenario"`
	Size     int64         `json:"size"` // plaintext bytes per run
	Runs     int           `json:"runs"`
	Method   string        `json:"method"` // where the work read and wrote, what was timed
	Load     string        `json:"load"`   // how busy the machine was
	Figures  []benchFigure `json:"figures"`
	Notes    []string      `json:"notes,omitempty"`
}

// benchFigure is one figure: ours against its anchor, measured in the same run.
type benchFigure struct {
	Name       string     `json:"name"`
	Unit       string     `json:"unit"` // MB/s (10^6 bytes a second) or MiB
	Ours       float64    `json:"ours"`
	Anchor     float64    `json:"anchor"`
	AnchorName string     `json:"anchor_name"`
	Ratio      float64    `json:"ratio"` // Ours / Anchor
	Goal       *benchGoal `json:"goal,omitempty"`
	Met        *bool      `json:"met,omitempty"`
	Statistic  string     `json:"statistic"` // how Ours and Anchor summarise the runs
	OursRuns   []float64  `json:"ours_runs"`
	AnchorRuns []float64  `json:"anchor_runs"`
}

// benchGoal is what the issue asks of a figure: a ratio to the anchor, or a bound.
type benchGoal struct {
	MinRatio float64 `json:"min_ratio,omitempty"` // Ours ≥ MinRatio × Anchor
	Below    float64 `json:"below,omitempty"`     // Ours < Below, in the figure's unit
}

func (g *benchGoal) String() string {
	switch {
	case g == nil:
		return "—"
	case g.MinRatio > 0:
		return fmt.Sprintf("≥ %g× anchor", g.MinRatio)
	default:
		return fmt.Sprintf("< %g", g.Below)
	}
}

// newFigure summarises the runs (statistic: median or max) and checks the goal.
func newFigure(name, unit, anchorName, statistic string, ours, anchor []float64, goal *benchGoal) benchFigure {
	sum := medianOf
	if statistic == "max" {
		sum = maxOf
	}
	f := benchFigure{
		Name: name, Unit: unit, AnchorName: anchorName, Statistic: statistic, Goal: goal,
		Ours: sum(ours), Anchor: sum(anchor), OursRuns: ours, AnchorRuns: anchor,
	}
	if f.Anchor > 0 {
		f.Ratio = f.Ours / f.Anchor
	}
	if goal != nil {
		met := (goal.MinRatio > 0 && f.Ratio >= goal.MinRatio) || (goal.Below > 0 && f.Ours < goal.Below)
		f.Met = &met
	}
	return f
}

func maxOf(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// verdict says whether the goal is met, and by how much it is missed.
func (f benchFigure) verdict() string {
	switch {
	case f.Met == nil:
		return "—"
	case *f.Met:
		return "yes"
	case f.Goal.MinRatio > 0:
		return fmt.Sprintf("**no**: %.2f× is %.0f%% short of %g×", f.Ratio, 100*(1-f.Ratio/f.Goal.MinRatio), f.Goal.MinRatio)
	default:
		return fmt.Sprintf("**no**: %.1f %s is not below %g", f.Ours, f.Unit, f.Goal.Below)
	}
}

// writeTable prints a scenario's figures for a terminal.
func writeTable(w io.Writer, r benchResult) {
	fmt.Fprintf(w, "%s, %s, %d runs (%s)\n  %s\n", r.Scenario, formatSize(r.Size), r.Runs, r.Load, r.Method)
	for _, f := range r.Figures {
		fmt.Fprintf(w, "  %-40s ours %9.1f %-4s  %-34s %9.1f  ratio %5.2f  goal %-14s met %s\n",
			f.Name, f.Ours, f.Unit, f.AnchorName, f.Anchor, f.Ratio, f.Goal, f.verdict())
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  - %s\n", n)
	}
}

func benchReportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "write BENCHMARKS.md from the JSON of the scenarios and the output of go test -bench",
		ArgsUsage: "RESULT.json...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Value: "BENCHMARKS.md", Usage: "the Markdown file to write"},
			&cli.StringFlag{Name: "go", Usage: "output of `go test -bench` to include"},
		},
		Action: benchReport,
	}
}

func benchReport(_ context.Context, cmd *cli.Command) error {
	var results []benchResult
	for _, path := range cmd.Args().Slice() {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var r benchResult
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		results = append(results, r)
	}
	var goBench []goBenchLine
	if path := cmd.String("go"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		goBench, err = parseGoBench(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	out, err := os.Create(cmd.String("out"))
	if err != nil {
		return err
	}
	writeMarkdown(out, machineInfo(time.Now()), results, goBench)
	return out.Close()
}

// benchMachine is where the figures were measured.
type benchMachine struct {
	CPUs int
	CPU  string
	RAM  string
	Go   string
	Date time.Time
}

func machineInfo(now time.Time) benchMachine {
	m := benchMachine{CPUs: runtime.NumCPU(), CPU: "unknown", RAM: "unknown", Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH, Date: now}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kib int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kib); err == nil {
			m.RAM = fmt.Sprintf("%.0f GiB", float64(kib)/(1<<20))
		}
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

func writeMarkdown(w io.Writer, m benchMachine, results []benchResult, goBench []goBenchLine) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("# Benchmarks")
	p("")
	p("Written by `make bench` (`kaiping bench report`) from the figures it measured; do not edit by hand.")
	p("")
	p("- Machine: %d CPUs (nproc), %s, %s RAM", m.CPUs, m.CPU, m.RAM)
	p("- Go: %s", m.Go)
	p("- Date: %s", m.Date.Format("2006-01-02 15:04 MST"))
	p("- Every figure is measured against its anchor, the same work done by a well-known tool, in the same run on the same machine: absolute figures drift on these shared machines, ratios much less.")
	p("- Speeds are in MB/s (10^6 bytes a second). Memory is the peak resident set (VmHWM) of the child process that did the work alone.")
	for _, r := range results {
		p("")
		p("## %s, %s", r.Scenario, formatSize(r.Size))
		p("")
		p("Figures are medians of %d alternating runs (ours and the anchor take turns going first, so background load hits both; %s); peak memory is the largest of the %d. %s", r.Runs, r.Load, r.Runs, r.Method)
		p("")
		p("| figure | ours | anchor | anchor is | ratio | goal | met |")
		p("|---|---:|---:|---|---:|---|---|")
		for _, f := range r.Figures {
			p("| %s | %.1f %s | %.1f %s | %s | %.2f× | %s | %s |", f.Name, f.Ours, f.Unit, f.Anchor, f.Unit, f.AnchorName, f.Ratio, f.Goal, f.verdict())
		}
		p("")
		p("Each run, in order:")
		p("")
		for _, f := range r.Figures {
			p("- %s: ours %s; anchor %s", f.Name, joinFloats(f.OursRuns), joinFloats(f.AnchorRuns))
		}
		if len(r.Notes) > 0 {
			p("")
			for _, n := range r.Notes {
				p("- %s", n)
			}
		}
	}
	if len(goBench) > 0 {
		p("")
		p("## Go benchmarks")
		p("")
		p("`go test -run '^$' -bench . -benchmem` in every package that has benchmarks; these measure one piece each and have no anchor.")
		p("")
		p("| package | benchmark | runs | ns/op | MB/s | B/op | allocs/op | other |")
		p("|---|---|---:|---:|---:|---:|---:|---|")
		for _, b := range goBench {
			p("| %s | %s | %d | %s | %s | %s | %s | %s |", b.Pkg, b.Name, b.N, b.metric("ns/op"), b.metric("MB/s"),
				b.metric("B/op"), b.metric("allocs/op"), b.custom())
		}
	}
}

func joinFloats(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strings.Join(s, ", ")
}

// goBenchLine is one result line of `go test -bench`.
type goBenchLine struct {
	Pkg     string
	Name    string
	N       int64
	Metrics map[string]string // unit → value as printed
}

func (b goBenchLine) metric(unit string) string {
	if v, ok := b.Metrics[unit]; ok {
		return v
	}
	return "—"
}

// standardUnits are the metrics with a column of their own.
var standardUnits = map[string]bool{"ns/op": true, "MB/s": true, "B/op": true, "allocs/op": true}

// custom lists the metrics a benchmark reports itself (b.ReportMetric: bookings/s, ...),
// sorted by unit.
func (b goBenchLine) custom() string {
	var out []string
	for unit, v := range b.Metrics {
		if !standardUnits[unit] {
			out = append(out, v+" "+unit)
		}
	}
	if len(out) == 0 {
		return "—"
	}
	slices.SortFunc(out, func(x, y string) int {
		return strings.Compare(x[strings.IndexByte(x, ' '):], y[strings.IndexByte(y, ' '):])
	})
	return strings.Join(out, ", ")
}

// parseGoBench reads the output of `go test -bench` over several packages.
func parseGoBench(r io.Reader) ([]goBenchLine, error) {
	var out []goBenchLine
	pkg := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(strings.TrimSpace(v), "github.com/kaiping/kaiping/")
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") || len(fields)%2 != 0 {
			continue
		}
		n, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			continue
		}
		b := goBenchLine{Pkg: pkg, Name: fields[0], N: n, Metrics: map[string]string{}}
		for i := 2; i+1 < len(fields); i += 2 {
			b.Metrics[fields[i+1]] = fields[i]
		}
		out = append(out, b)
	}
	return out, sc.Err()
}
