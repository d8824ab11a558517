package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/internal/clitest"
	"github.com/kaiping/kaiping/internal/devenv"
)

// benchChildEnv marks a process as the test binary re-executed as `kaiping bench child`.
const benchChildEnv = "KAIPING_BENCH_TEST_CHILD"

// The bench commands measure each side in a child process: os.Executable re-executed as
// `kaiping bench child ...`. Under go test that executable is the test binary, so here it
// becomes the kaiping command line before the tests (and TestMain's servers) start.
func init() {
	if os.Getenv(benchChildEnv) != "1" || len(os.Args) < 3 || os.Args[1] != "bench" || os.Args[2] != "child" {
		return
	}
	if err := rootCommand().Run(context.Background(), os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "kaiping:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func TestMain(m *testing.M) { devenv.Main(m, devenv.NeedPostgres, devenv.NeedMinIO) }

// rootCommand is the kaiping command line as far as the scenarios need it: `kaiping bench`.
func rootCommand() *cli.Command {
	return &cli.Command{Name: "kaiping", Commands: []*cli.Command{Command()}}
}

// run runs the kaiping command line in-process and returns what it printed.
func run(tb testing.TB, args ...string) (string, error) {
	tb.Helper()
	return clitest.Run(tb, rootCommand(), args...)
}

// mustBenchDir is a folder for a scenario to work in, traversable by the postgres user,
// and checked empty at the end: a scenario removes everything it wrote.
func mustBenchDir(tb testing.TB) string {
	tb.Helper()
	dir, err := devenv.MkdirTemp("kaiping-benchtest-*")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		left, _ := os.ReadDir(dir)
		os.RemoveAll(dir)
		if len(left) != 0 {
			tb.Errorf("the scenario left %d entries in its folder (%s...)", len(left), left[0].Name())
		}
	})
	return dir
}

// mustRunBench runs a bench scenario with tiny sizes and returns its JSON result.
func mustRunBench(t *testing.T, args ...string) benchResult {
	t.Helper()
	t.Setenv(benchChildEnv, "1")
	path := filepath.Join(t.TempDir(), "result.json")
	args = append(args, "--runs", "2", "--tmpdir", mustBenchDir(t), "--json", path)
	out, err := run(t, append([]string{"bench"}, args...)...)
	if err != nil {
		t.Fatalf("bench %v: %v\n%s", args, err, out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r benchResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Figures {
		if !strings.Contains(out, f.Name) {
			t.Errorf("the table printed lacks %q:\n%s", f.Name, out)
		}
	}
	return r
}

// checkFigures asserts what every figure must satisfy whatever the machine's speed: positive
// values from every run, the summary and ratio computed from them, the goal judged.
func checkFigures(t *testing.T, r benchResult, runs int, names ...string) {
	t.Helper()
	if r.Runs != runs || len(r.Figures) != len(names) {
		t.Fatalf("%d runs, %d figures; want %d runs, figures %q", r.Runs, len(r.Figures), runs, names)
	}
	for i, f := range r.Figures {
		if f.Name != names[i] {
			t.Errorf("figure %d is %q, want %q", i, f.Name, names[i])
		}
		if len(f.OursRuns) != runs || len(f.AnchorRuns) != runs {
			t.Errorf("%s: %d and %d runs recorded, want %d", f.Name, len(f.OursRuns), len(f.AnchorRuns), runs)
		}
		for _, v := range append(append([]float64{}, f.OursRuns...), f.AnchorRuns...) {
			if !(v > 0) || math.IsInf(v, 0) {
				t.Errorf("%s: run value %g, want a positive number", f.Name, v)
			}
		}
		sum := medianOf
		if f.Unit == "MiB" {
			sum = maxOf
		}
		if f.Ours != sum(f.OursRuns) || f.Anchor != sum(f.AnchorRuns) || math.Abs(f.Ratio-f.Ours/f.Anchor) > 1e-9 {
			t.Errorf("%s: ours %g anchor %g ratio %g do not follow from the runs %v %v", f.Name, f.Ours, f.Anchor, f.Ratio, f.OursRuns, f.AnchorRuns)
		}
		if (f.Goal == nil) != (f.Met == nil) {
			t.Errorf("%s: goal %v but met %v", f.Name, f.Goal, f.Met)
		}
		if f.Unit == "MiB" && (f.Goal == nil || f.Goal.Below != 64) {
			t.Errorf("%s: memory figure without the < 64 MiB goal", f.Name)
		}
	}
}

func TestBenchSeal(t *testing.T) {
	r := mustRunBench(t, "seal", "--size", "2MiB")
	if r.Size != 2<<20 {
		t.Errorf("size %d, want 2 MiB", r.Size)
	}
	checkFigures(t, r, 2, "seal, AES-256-GCM", "seal, SM4-GCM (国密)", "SHA-256 alone of the same file (no encryption, no output)",
		"peak memory, seal AES-256-GCM", "peak memory, seal SM4-GCM")
	if g := r.Figures[0].Goal; g == nil || g.MinRatio != 1.5 {
		t.Errorf("AES figure goal %v, want ≥ 1.5× age", g)
	}
}

func TestBenchSubmit(t *testing.T) {
	// 20 MiB: two parts of 16 MiB, so the multipart path is really taken.
	r := mustRunBench(t, "submit", "--size", "20MiB")
	checkFigures(t, r, 2, "submit", "bidder.Check + submit, as `kaiping bid submit` does",
		"submit: parts upload phase only", "peak memory, submit")
	if g := r.Figures[0].Goal; g == nil || g.MinRatio != 0.8 {
		t.Errorf("submit figure goal %v, want ≥ 0.8× PutObject", g)
	}
	if sub := r.Figures[0]; r.Figures[1].OursRuns[0] >= sub.OursRuns[0] {
		t.Errorf("check + submit (%g MB/s) is not slower than submit alone (%g MB/s)", r.Figures[1].OursRuns[0], sub.OursRuns[0])
	}
}

func TestBenchReport(t *testing.T) {
	dir := t.TempDir()
	aes := newFigure("seal, AES-256-GCM", "MB/s", ageAnchor, "median", []float64{900, 1000, 1100}, []float64{1000, 500, 600}, &benchGoal{MinRatio: 1.5})
	mem := newFigure("peak memory, seal AES-256-GCM", "MiB", ageAnchor, "max", []float64{20, 80, 30}, []float64{18, 19, 18}, &benchGoal{Below: 64})
	result := benchResult{Scenario: "Seal a bid file", Size: 1 << 30, Runs: 3, Method: "测试方法。", Load: "load average 1.00 at the start", Figures: []benchFigure{aes, mem}, Notes: []string{"一条说明"}}
	b, _ := json.Marshal(result)
	resultPath := filepath.Join(dir, "seal.json")
	if err := os.WriteFile(resultPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	goPath := filepath.Join(dir, "gobench.txt")
	goOut := "goos: linux\npkg: github.com/kaiping/kaiping/opening/seal\ncpu: AMD EPYC\n" +
		"BenchmarkSeal/aes256gcm/workers=2-2         \t       3\t  52345678 ns/op\t1282.05 MB/s\t  123456 B/op\t      78 allocs/op\n" +
		"BenchmarkBook-2 \t 1000\t 1000 ns/op\t 517.0 bookings/s\t 888.0 attempts/s\n" +
		"PASS\nok  \tgithub.com/kaiping/kaiping/opening/seal\t4.2s\n"
	if err := os.WriteFile(goPath, []byte(goOut), 0o644); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(dir, "BENCHMARKS.md")
	if out, err := run(t, "bench", "report", "--out", md, "--go", goPath, resultPath); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	got, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# Benchmarks", "(nproc)", "GiB RAM", "- Go: go1.", "- Date: " + time.Now().Format("2006-01-02"),
		"## Seal a bid file, 1 GiB", "medians of 3 alternating runs", "load average 1.00 at the start",
		// medians 1000 and 600: 1.67×, met; the largest memory, 80 MiB, misses the bound.
		"| seal, AES-256-GCM | 1000.0 MB/s | 600.0 MB/s | " + ageAnchor + " | 1.67× | ≥ 1.5× anchor | yes |",
		"| peak memory, seal AES-256-GCM | 80.0 MiB | 19.0 MiB |", "**no**: 80.0 MiB is not below 64",
		"ours 900.0, 1000.0, 1100.0; anchor 1000.0, 500.0, 600.0", "- 一条说明",
		"| opening/seal | BenchmarkSeal/aes256gcm/workers=2-2 | 3 | 52345678 | 1282.05 | 123456 | 78 | — |",
		"| opening/seal | BenchmarkBook-2 | 1000 | 1000 | — | — | — | 888.0 attempts/s, 517.0 bookings/s |",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("BENCHMARKS.md lacks %q:\n%s", want, got)
		}
	}
}

func TestBenchBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code string // kaiping error code, or a substring of the error
	}{
		{"size without a number", []string{"bench", "seal", "--size", "GiB"}, "bench.size"},
		{"zero size", []string{"bench", "seal", "--size", "0"}, "bench.size"},
		{"negative size", []string{"bench", "submit", "--size", "-1MiB"}, "bench.size"},
		{"unknown unit", []string{"bench", "seal", "--size", "1TB"}, "bench.size"},
		{"larger than 1 TiB", []string{"bench", "seal", "--size", "1025GiB"}, "bench.size"},
		{"no runs", []string{"bench", "seal", "--size", "1MiB", "--runs", "0"}, "bench.runs"},
		{"report of a missing result", []string{"bench", "report", "--out", filepath.Join(dir, "x.md"), filepath.Join(dir, "missing.json")}, "no such file"},
		{"report of a malformed result", []string{"bench", "report", "--out", filepath.Join(dir, "x.md"), bad}, "bad.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := run(t, tt.args...)
			if err == nil {
				t.Fatalf("%v succeeded", tt.args)
			}
			if kaiping.CodeOf(err) != tt.code && !strings.Contains(err.Error(), tt.code) {
				t.Errorf("%v: %v, want %s", tt.args, err, tt.code)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"1GiB", 1 << 30}, {"8MiB", 8 << 20}, {"512KiB", 512 << 10}, {"1000", 1000}, {"12B", 12}, {" 3 MiB ", 3 << 20},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
		if tt.want%1024 == 0 {
			if back, _ := parseSize(strings.ReplaceAll(formatSize(got), " ", "")); back != got {
				t.Errorf("formatSize(%d) = %q does not parse back", got, formatSize(got))
			}
		}
	}
}

func TestFigureGoals(t *testing.T) {
	tests := []struct {
		name        string
		unit        string
		ours, anc   []float64
		goal        *benchGoal
		met         bool
		verdictPart string
	}{
		{"ratio met", "MB/s", []float64{150}, []float64{100}, &benchGoal{MinRatio: 1.5}, true, "yes"},
		{"ratio missed", "MB/s", []float64{90, 100, 110}, []float64{100}, &benchGoal{MinRatio: 1.5}, false, "1.00× is 33% short of 1.5×"},
		{"bound met", "MiB", []float64{20, 63.9}, []float64{18}, &benchGoal{Below: 64}, true, "yes"},
		{"bound missed at the largest run", "MiB", []float64{20, 64}, []float64{18}, &benchGoal{Below: 64}, false, "64.0 MiB is not below 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stat := "median"
			if tt.unit == "MiB" {
				stat = "max"
			}
			f := newFigure(tt.name, tt.unit, "anchor", stat, tt.ours, tt.anc, tt.goal)
			if f.Met == nil || *f.Met != tt.met || !strings.Contains(f.verdict(), tt.verdictPart) {
				t.Errorf("met %v, verdict %q; want %v, %q", f.Met, f.verdict(), tt.met, tt.verdictPart)
			}
		})
	}
	if f := newFigure("no goal", "MB/s", "anchor", "median", []float64{1}, []float64{2}, nil); f.Met != nil || f.verdict() != "—" || f.Ratio != 0.5 {
		t.Errorf("figure without a goal: %+v", f)
	}
}
