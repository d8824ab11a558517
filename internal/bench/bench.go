// Package bench holds the measured scenarios of `kaiping bench` (make bench): sealing and
// opening files (seal), uploading them to a real server (submit), the opening hall under
// load (hall-watchers, opening), the committee reading bids (reading), computing its
// scores (scoring) and setting its report in a PDF (report-pdf), the media plane (media,
// with the recorder), and the report that writes their figures into BENCHMARKS.md (report).
//
// It is one package rather than one per family because the families share nearly all of
// their machinery: the child processes each side runs in (runChild, the hidden `bench child`
// commands, peak memory from /proc), the alternating runs, the figures with their goals and
// anchors, CPU measurement and the report; and the opening and hall scenarios share their
// simulated world. Split, each family would export most of that to the others. The scenarios
// keep their own command definitions here because the `bench child` subcommands are the
// protocol between a scenario and the processes it starts; cmd/kaiping mounts Command.
package bench

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
)

// Command is `kaiping bench ...`: the larger measured scenarios that `make bench` runs.
// Each scenario measures our work and its anchor (the same work done by a well-known tool)
// in the same run, alternating them, each in a child process of its own so that its peak
// memory is its own.
func Command() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "run a measured scenario and print its figures (make bench)",
		Commands: []*cli.Command{
			benchSealCommand(),
			benchSubmitCommand(),
			benchHallWatchersCommand(),
			benchOpeningCommand(),
			benchReadingCommand(),
			benchMediaCommand(),
			benchSessionCommand(),
			benchScoringCommand(),
			benchReportPDFCommand(),
			benchReportCommand(),
			{
				Name:     "child",
				Usage:    "one measured run in a process of its own (started by the bench commands)",
				Hidden:   true,
				Commands: []*cli.Command{sealChildCommand(), ageChildCommand(), sha256ChildCommand(), submitChildCommand(), putChildCommand(), sfuChildCommand(), recorderChildCommand()},
			},
		},
	}
}

// benchFlags are the flags every scenario takes.
func benchFlags(defaultSize string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "size", Value: defaultSize, Usage: "plaintext size per run: bytes or with KiB, MiB, GiB"},
		&cli.IntFlag{Name: "runs", Value: 3, Usage: "runs of each side; the figures are the medians"},
		&cli.StringFlag{Name: "tmpdir", Usage: "folder to work in (default: the system's temporary folder); everything written is removed at the end"},
		&cli.StringFlag{Name: "json", Usage: "also write the figures as JSON to this file (for `kaiping bench report`)"},
	}
}

// benchSetup is what every scenario reads from its flags.
type benchSetup struct {
	size      int64
	runs      int
	dir       string // the scenario's own folder, removed by cleanup
	loadStart string // /proc/loadavg when the scenario started
}

func newBenchSetup(cmd *cli.Command) (*benchSetup, func(), error) {
	size, err := parseSize(cmd.String("size"))
	if err != nil {
		return nil, nil, err
	}
	runs := cmd.Int("runs")
	if runs < 1 {
		return nil, nil, kaiping.Errorf(kaiping.KindInvalid, "bench.runs", "--runs 须至少为 1，收到 %d", runs)
	}
	dir, err := benchDir(cmd.String("tmpdir"))
	if err != nil {
		return nil, nil, err
	}
	return &benchSetup{size: size, runs: runs, dir: dir, loadStart: loadAverage()}, func() { os.RemoveAll(dir) }, nil
}

// benchDir makes a scenario's own folder under tmpdir (the system's temporary folder if
// empty); the scenario removes it at the end.
func benchDir(tmpdir string) (string, error) {
	dir, err := os.MkdirTemp(tmpdir, "kaiping-bench-*")
	if err != nil {
		return "", err
	}
	// As root, PostgreSQL runs as the postgres user and must reach its data folder inside.
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// loadAverage is the 1-minute load average from /proc/loadavg, or "?" where there is none:
// on a shared machine, how busy the other tenants kept the cores.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// result starts the scenario's result, noting the load average over its runs.
func (b *benchSetup) result(scenario, method string) benchResult {
	return benchResult{Scenario: scenario, Size: b.size, Runs: b.runs, Method: method,
		Load: fmt.Sprintf("load average %s at the start, %s at the end, on %d CPUs", b.loadStart, loadAverage(), runtime.NumCPU())}
}

// sizeUnits are the units sizes are written in, largest first.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// parseSize reads "1GiB", "8MiB", "512KiB" or a plain number of bytes.
func parseSize(s string) (int64, error) {
	orig := s
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(v), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, kaiping.Errorf(kaiping.KindInvalid, "bench.size", "大小 %q 无效：须为正整数字节数，或带 KiB、MiB、GiB 单位，且不超过 1 TiB", orig)
	}
	return n * mult, nil
}

// formatSize writes n in the largest unit that divides it.
func formatSize(n int64) string {
	for _, u := range sizeUnits {
		if n >= u.mult && n%u.mult == 0 {
			return fmt.Sprintf("%d %s", n/u.mult, u.suffix)
		}
	}
	return fmt.Sprintf("%d B", n)
}

// writeRandomFile writes size random bytes to path. Random, so that nothing on the way can
// compress or deduplicate; from a ChaCha8 stream seeded by crypto/rand, so that writing a
// gigabyte takes a second rather than the time crypto/rand needs.
func writeRandomFile(ctx context.Context, path string, size int64) error {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return err
	}
	src := rand.NewChaCha8(seed)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		if err := ctx.Err(); err != nil {
			f.Close()
			return err
		}
		n := min(left, int64(len(buf)))
		_, _ = src.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
		left -= n
	}
	return f.Close()
}

// childReport is what a child prints on stdout when its run is done.
type childReport struct {
	Bytes   int64   `json:"bytes"`   // bytes of the work: plaintext sealed, file uploaded
	Seconds float64 `json:"seconds"` // wall time of the work alone: no start-up, no key generation
	// Phases are parts of Seconds, or work outside it, worth reporting (seconds).
	Phases map[string]float64 `json:"phases,omitempty"`
	// VmHWMKiB is the child's own peak resident set (VmHWM in /proc/self/status), read just
	// before it exits.
	VmHWMKiB int64             `json:"vm_hwm_kib"`
	Extra    map[string]string `json:"extra,omitempty"`
}

// benchSample is one child run as the parent saw it.
type benchSample struct {
	childReport
	// MaxRSSKiB is ru_maxrss of the child from wait4. On Linux it is at least the peak of the
	// process that spawned it (exec records the old address space's peak, and Go spawns with
	// CLONE_VM, sharing the parent's), so VmHWMKiB is the figure and this a cross-check.
	MaxRSSKiB int64 `json:"max_rss_kib"`
}

// MBps is the run's throughput in 10^6 bytes per second.
func (s benchSample) MBps() float64 { return float64(s.Bytes) / s.Seconds / 1e6 }

// PeakMiB is the child's peak resident set in MiB.
func (s benchSample) PeakMiB() float64 { return float64(s.VmHWMKiB) / 1024 }

// runChild re-executes this binary as `kaiping bench child args...` with extra environment
// and returns its report and resource usage.
func runChild(ctx context.Context, env []string, args ...string) (benchSample, error) {
	exe, err := os.Executable()
	if err != nil {
		return benchSample{}, err
	}
	cmd := exec.CommandContext(ctx, exe, append([]string{"bench", "child"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return benchSample{}, fmt.Errorf("bench child %s: %w", args[0], err)
	}
	var s benchSample
	if err := json.Unmarshal(out.Bytes(), &s.childReport); err != nil {
		return benchSample{}, fmt.Errorf("bench child %s printed %q: %w", args[0], out.String(), err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.MaxRSSKiB = ru.Maxrss // KiB on Linux
	}
	if s.Bytes <= 0 || s.Seconds <= 0 {
		return benchSample{}, fmt.Errorf("bench child %s reported %d bytes in %gs", args[0], s.Bytes, s.Seconds)
	}
	return s, nil
}

// profileEnv names the file prefix under which a child writes its CPU profile.
const profileEnv = "KAIPING_BENCH_PROFILE"

// startProfile starts a CPU profile into a new file named by prefix (folder and name
// start), if prefix is set; stop ends it.
func startProfile(prefix string) (stop func(), err error) {
	if prefix == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(filepath.Dir(prefix), 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(prefix), filepath.Base(prefix)+"-*.pprof")
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// profileSides has every side's child write CPU profiles under dir, if set.
func profileSides(dir string, sides []benchSide) {
	if dir == "" {
		return
	}
	for i := range sides {
		sides[i].env = append(sides[i].env, profileEnv+"="+filepath.Join(dir, sides[i].name))
	}
}

// profileFlag asks for CPU profiles. Flags hold their parsed values, so every command gets
// its own.
func profileFlag() cli.Flag {
	return &cli.StringFlag{Name: "profile", Usage: "write CPU profiles of every child run (and of the server, if any) into this folder"}
}

// childAction wraps a child's work with the CPU profile its parent asked for.
func childAction(work cli.ActionFunc) cli.ActionFunc {
	return func(ctx context.Context, cmd *cli.Command) error {
		stop, err := startProfile(os.Getenv(profileEnv))
		if err != nil {
			return err
		}
		defer stop()
		return work(ctx, cmd)
	}
}

// finishChild prints a child's report with its peak resident set.
func finishChild(r childReport) error {
	r.VmHWMKiB = peakRSSKiB()
	return json.NewEncoder(os.Stdout).Encode(r)
}

// peakRSSKiB is VmHWM from /proc/self/status: the peak resident set of this process image
// since it was executed, or since the peak was last reset (measurePeak).
func peakRSSKiB() int64 { return statusKiB("VmHWM:") }

// statusKiB is a field of /proc/self/status in KiB (0 where there is no /proc).
func statusKiB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// benchSide is one thing a scenario measures: ours or an anchor, run as a child with args.
type benchSide struct {
	name string
	env  []string
	args []string
}

// runAlternating runs every side runs times, rotating their order each run so that whatever
// else the machine is doing weighs on all of them alike. each is called after every run
// (to clean up its output); progress goes to stderr.
func runAlternating(ctx context.Context, runs int, sides []benchSide, each func(benchSide, benchSample) error) (map[string][]benchSample, error) {
	got := map[string][]benchSample{}
	for run := range runs {
		for k := range sides {
			sd := sides[(k+run)%len(sides)]
			s, err := runChild(ctx, sd.env, sd.args...)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(os.Stderr, "bench: run %d/%d %-8s %8.1f MB/s  %6.1f MiB peak\n", run+1, runs, sd.name, s.MBps(), s.PeakMiB())
			if each != nil {
				if err := each(sd, s); err != nil {
					return nil, err
				}
			}
			got[sd.name] = append(got[sd.name], s)
		}
	}
	return got, nil
}

// medianOf is the median of xs (the mean of the middle two for an even count).
func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// sampleValues maps samples to one number each.
func sampleValues(ss []benchSample, f func(benchSample) float64) []float64 {
	out := make([]float64, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}

// maxRSS is every sample's ru_maxrss in KiB.
func maxRSS(ss []benchSample) []float64 {
	return sampleValues(ss, func(s benchSample) float64 { return float64(s.MaxRSSKiB) })
}

// medianPhase is the median of one phase across samples.
func medianPhase(ss []benchSample, name string) float64 {
	return medianOf(sampleValues(ss, func(s benchSample) float64 { return s.Phases[name] }))
}

// emitResult prints the result as a table and writes it as JSON where --json asks.
func emitResult(cmd *cli.Command, r benchResult) error {
	writeTable(os.Stdout, r)
	path := cmd.String("json")
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// timeIt runs f and returns how long it took in seconds.
func timeIt(f func() error) (float64, error) {
	start := time.Now()
	err := f()
	return time.Since(start).Seconds(), err
}

// path joins the scenario folder and a name.
func (b *benchSetup) path(name string) string { return filepath.Join(b.dir, name) }
