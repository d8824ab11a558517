package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/opening"
)

// openingAnchorName names the anchor of the unlock figures.
const openingAnchorName = "seal.Decrypt of the same envelopes from MinIO, same workers, same arrivals"

// The goals for a full opening (BENCHMARKS.md).
var (
	openingLatencyGoal = &benchGoal{Below: 500}    // p99 unlock latency, ms
	openingPublishGoal = &benchGoal{Below: 1000}   // last verified → record published, ms
	openingVerifyGoal  = &benchGoal{MinRatio: 0.8} // verification throughput against seal's decryption
)

func benchOpeningCommand() *cli.Command {
	return &cli.Command{
		Name: "opening",
		Usage: "a full no-show opening with simulated bidders (check-in, unlock, record, confirm): unlock latency, " +
			"time to the published record, verification throughput against seal's own decryption of the same envelopes",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "bidders", Value: 1000, Usage: "bidders in the opening (at least 3: fewer bids are no opening)"},
			&cli.StringFlag{Name: "bid-size", Value: "1MiB", Usage: "plaintext of each bidder's technical envelope: bytes or with KiB, MiB, GiB"},
			&cli.StringFlag{Name: "ramp", Usage: "counts of bidders to open in turn, e.g. 1000,2000,4000,6531, stopping after the first that misses a goal (default: --bidders alone)"},
			&cli.DurationFlag{Name: "spread", Value: time.Minute, Usage: "bidders start unlocking at random moments over this long after the window opens, \"in the same minute\" by default (0: all at once, the hardest case)"},
			&cli.IntFlag{Name: "runs", Value: 1, Usage: "openings of each count; the figures are their medians"},
			&cli.IntFlag{Name: "concurrency", Value: 16, Usage: "bidders doing a set-up step, checking in or confirming at once"},
			&cli.StringFlag{Name: "tmpdir", Usage: "folder to work in (default: the system's temporary folder); everything written is removed at the end"},
			&cli.StringFlag{Name: "json", Usage: "also write the figures as JSON to this file (for `kaiping bench report`)"},
			&cli.StringFlag{Name: "profile", Usage: "write a CPU profile of each opening's unlocking (server and bidders: one process) into this folder"},
		},
		Action: benchOpening,
	}
}

// openingPlan is what the flags ask for.
type openingPlan struct {
	counts      []int
	runs        int
	bidSize     int64
	spread      time.Duration
	concurrency int
	profile     string // folder for CPU profiles of the unlocking, if set
}

func parseOpeningPlan(cmd *cli.Command) (openingPlan, error) {
	p := openingPlan{spread: cmd.Duration("spread"), profile: cmd.String("profile"), concurrency: int(cmd.Int("concurrency")), runs: int(cmd.Int("runs")), counts: []int{int(cmd.Int("bidders"))}}
	var err error
	if p.bidSize, err = parseSize(cmd.String("bid-size")); err != nil {
		return p, err
	}
	if ramp := strings.TrimSpace(cmd.String("ramp")); ramp != "" {
		p.counts = nil
		for _, f := range strings.Split(ramp, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 3 || len(p.counts) > 0 && n <= p.counts[len(p.counts)-1] {
				return p, kaiping.Errorf(kaiping.KindInvalid, "bench.ramp", "--ramp %q 无效：须为逗号分隔、递增的投标人数，每个至少为 3", ramp)
			}
			p.counts = append(p.counts, n)
		}
	}
	switch {
	case p.counts[0] < 3:
		return p, kaiping.Errorf(kaiping.KindInvalid, "bench.bidders", "--bidders 须至少为 3（不足 3 家不得开标），收到 %d", p.counts[0])
	case p.runs < 1:
		return p, kaiping.Errorf(kaiping.KindInvalid, "bench.runs", "--runs 须至少为 1，收到 %d", p.runs)
	case p.spread < 0:
		return p, kaiping.Errorf(kaiping.KindInvalid, "bench.spread", "--spread 不能为负，收到 %s", p.spread)
	case p.concurrency < 1:
		return p, kaiping.Errorf(kaiping.KindInvalid, "bench.concurrency", "--concurrency 须至少为 1，收到 %d", p.concurrency)
	}
	return p, nil
}

func benchOpening(ctx context.Context, cmd *cli.Command) error {
	plan, err := parseOpeningPlan(cmd)
	if err != nil {
		return err
	}
	dir, err := benchDir(cmd.String("tmpdir"))
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &benchSetup{size: plan.bidSize, runs: plan.runs, dir: dir, loadStart: loadAverage()}
	counts, err := rampOpenings(plan.counts, plan.runs, func(n, run int) (openingSample, error) {
		s, err := runOpening(ctx, b.path(fmt.Sprintf("%d-%d", n, run)), n, plan)
		if err != nil {
			return s, fmt.Errorf("opening with %d bidders, run %d: %w", n, run, err)
		}
		fmt.Fprintf(os.Stderr, "bench: %d bidders, run %d/%d: unlock p50 %.0f ms p99 %.0f ms (anchor %.0f / %.0f), %d busy retries, %d live reconnects; published %.0f ms after the last; verified %.1f MB/s (anchor %.1f); %.1f confirmations/s; %.0f s in all\n",
			n, run, plan.runs, percentile(s.latencies, 50), percentile(s.latencies, 99), percentile(s.anchorLatencies, 50), percentile(s.anchorLatencies, 99),
			s.retries, s.reconnects, s.publishMs, s.oursMBps(), s.anchorMBps(), s.confirmsPerSec, s.wallSeconds)
		return s, nil
	})
	if err != nil {
		return err
	}
	return emitResult(cmd, openingResult(b, plan, counts))
}

// rampOpenings runs runs openings of each count in turn (run counts from 1) and stops after
// the first count that misses a goal: larger ones would miss it too.
func rampOpenings(counts []int, runs int, run func(n, run int) (openingSample, error)) ([]openingRuns, error) {
	var out []openingRuns
	for _, n := range counts {
		var rs openingRuns
		for r := range runs {
			s, err := run(n, r+1)
			if err != nil {
				return out, err
			}
			rs = append(rs, s)
		}
		out = append(out, rs)
		if !rs.figures().met() {
			break
		}
	}
	return out, nil
}

// openingRuns are the openings of one count.
type openingRuns []openingSample

// openingSample is what one opening of n bidders measured.
type openingSample struct {
	n int
	// latencies are ms per bidder from its first unlock request to the moment its live view
	// shows every one of its envelopes decrypted; anchorLatencies per bidder from its arrival
	// to its last envelope decrypted by the bare pipeline.
	latencies, anchorLatencies []float64
	retries                    int   // unlock requests refused with hall.busy and made again
	reconnects                 int   // live connections the server dropped while unlocking, opened again
	bytes                      int64 // envelope bytes verified (sealed files, headers included)
	// oursSeconds runs from the first unlock accepted to the last envelope seen verified;
	// anchorSeconds from the first arrival to the last envelope decrypted.
	oursSeconds, anchorSeconds float64
	unlockSeconds              float64 // the start of unlocking → the last envelope seen verified
	publishMs                  float64 // last envelope seen verified → publication answered
	boardMs                    float64 // the host's GET of the board right after
	recordMs                   float64 // publication answered → a bidder holds the checked record
	confirmsPerSec             float64
	checkinsPerSec             float64
	setupSeconds, wallSeconds  float64
	unlockCPU                  cpuSeconds // CPU used while unlocking, by process name
}

func (s openingSample) oursMBps() float64   { return float64(s.bytes) / s.oursSeconds / 1e6 }
func (s openingSample) anchorMBps() float64 { return float64(s.bytes) / s.anchorSeconds / 1e6 }

// openingFigures are one opening's figures.
type openingFigures []benchFigure

// met reports whether every goal of these figures is met.
func (fs openingFigures) met() bool {
	return !slices.ContainsFunc(fs, func(f benchFigure) bool { return f.Met != nil && !*f.Met })
}

// figures are the medians over the runs.
func (rs openingRuns) figures() openingFigures {
	each := func(f func(openingSample) float64) []float64 {
		out := make([]float64, len(rs))
		for i, s := range rs {
			out[i] = f(s)
		}
		return out
	}
	fig := func(name, unit, anchor string, ours, anc func(openingSample) float64, goal *benchGoal) benchFigure {
		return newFigure(fmt.Sprintf(name, rs[0].n), unit, anchor, "median", each(ours), each(anc), goal)
	}
	p := func(q float64, of func(openingSample) []float64) func(openingSample) float64 {
		return func(s openingSample) float64 { return percentile(of(s), q) }
	}
	ours := func(s openingSample) []float64 { return s.latencies }
	anc := func(s openingSample) []float64 { return s.anchorLatencies }
	return openingFigures{
		fig("p99 unlock latency, %d bidders (request → own envelopes shown verified)", "ms", openingAnchorName, p(99, ours), p(99, anc), openingLatencyGoal),
		fig("median unlock latency, %d bidders", "ms", openingAnchorName, p(50, ours), p(50, anc), nil),
		fig("last envelope verified → record published, %d bidders", "ms", "the host's GET of the board just after (reads the same envelopes)",
			func(s openingSample) float64 { return s.publishMs }, func(s openingSample) float64 { return s.boardMs }, openingPublishGoal),
		fig("verification throughput, %d bidders", "MB/s", openingAnchorName, openingSample.oursMBps, openingSample.anchorMBps, openingVerifyGoal),
		fig("confirmations of the record, %d bidders", "/s", "check-ins of the same bidders, same concurrency",
			func(s openingSample) float64 { return s.confirmsPerSec }, func(s openingSample) float64 { return s.checkinsPerSec }, nil),
	}
}

// openingResult gathers the openings' figures, largest count last.
func openingResult(b *benchSetup, plan openingPlan, counts []openingRuns) benchResult {
	arrival := "all at once, the moment the host opens the decrypt window"
	if plan.spread > 0 {
		arrival = fmt.Sprintf("at moments drawn uniformly over the %s after the host opens the decrypt window", plan.spread)
	}
	workers := runtime.GOMAXPROCS(0)
	names := make([]string, len(counts))
	for i, rs := range counts {
		names[i] = strconv.Itoa(rs[0].n)
	}
	r := b.result(fmt.Sprintf("A full no-show opening, %s bidders (size: each technical envelope)", strings.Join(names, ", then ")), fmt.Sprintf(
		"Each run of each count is one opening on fresh servers: PostgreSQL, MinIO and a kaiping server in the benchmark's process on loopback, on a manual clock so the bid set seals at once. "+
			"Not timed: every bidder gets a P-256 certificate and logs in, registers, seals a summary (its price) and a technical envelope of %s of random bytes to itself and uploads both "+
			"(presigned multipart, receipt); the set is sealed; all check in (%d at a time); each bidder opens the hall's live WebSocket (GET …/hall/live) and the host opens the decrypt window. "+
			"Timed: the bidders start %s; each fetches its envelopes' headers, unwraps both file keys with its own key and POSTs them to …/hall/unlocks "+
			"(on hall.busy it waits the Retry-After the server gives and tries again); the server checks each key, records it and its ledger entry, and its verification queue "+
			"(%d workers, the default: one per core) reads each envelope back from MinIO and decrypts every chunk. Unlock latency runs from a bidder's first unlock request to the moment "+
			"its live view shows both its envelopes decrypted (so it includes any waiting for retries, the queue, and the push; a live connection the server drops is opened again "+
			"at once, as the hall's page does, and counted); p50 and p99 over the bidders. "+
			"The moment the last bidder sees its envelopes verified, the host POSTs the transition to published (the server builds the record from every envelope, digests it and commits it with its ledger entry): "+
			"that figure runs to the answer. Verification throughput is the envelope bytes (sealed files, headers included) over the time from the first unlock accepted to the last envelope "+
			"seen verified (with a spread of arrivals both sides are paced by them, and the ratio says whether verification kept up; all at once, it compares capacities). Then the host opens confirmation and every bidder fetches the record, checks its digest, signs it with its key and POSTs the signature (%d at a time). "+
			"The anchor, measured after each opening on the same servers, is the bare pipeline: the same envelopes, read with the server's own reader from the same MinIO and decrypted with "+
			"seal.Decrypt by the same number of workers from one queue, each bidder's two envelopes queued at the same moment after the start as in the opening (no HTTP, database, ledger or push). "+
			"A count misses its goals when p99 latency is 500 ms or more, publication takes 1 s or more, or verification runs below 0.8× the anchor; the ramp stops there. "+
			"The bidders' clients run in the benchmark's process and share the machine's cores with the server, PostgreSQL and MinIO, on both sides.",
		formatSize(plan.bidSize), plan.concurrency, arrival, workers, plan.concurrency))
	largest := 0
	for _, rs := range counts {
		fs := rs.figures()
		r.Figures = append(r.Figures, fs...)
		if fs.met() {
			largest = rs[0].n
		}
		for i, s := range rs {
			r.Notes = append(r.Notes, fmt.Sprintf("%d bidders, run %d: %d unlock requests refused busy and retried; %d live connections dropped by the server (up to the last envelope verified) and opened again; %d envelopes, %.1f MB; the record reached a bidder %.0f ms after its publication was answered; "+
				"CPU seconds while unlocking (%.1f s from the start to the last envelope seen verified): %s; set-up %.0f s, the whole opening with its anchor %.0f s.",
				s.n, i+1, s.retries, s.reconnects, 2*s.n, float64(s.bytes)/1e6, s.recordMs, s.unlockSeconds, s.unlockCPU, s.setupSeconds, s.wallSeconds))
		}
	}
	switch last := counts[len(counts)-1]; {
	case largest == 0:
		r.Notes = append(r.Notes, fmt.Sprintf("No opening of those tried held the goals on this machine: the smallest, %d bidders, missed one.", counts[0][0].n))
	case largest == last[0].n:
		r.Notes = append(r.Notes, fmt.Sprintf("The largest opening this machine held within the goals: %d bidders, the largest tried (the largest procurement we know of had 6,531).", largest))
	default:
		r.Notes = append(r.Notes, fmt.Sprintf("The largest opening this machine held within the goals: %d bidders; %d missed a goal (the largest procurement we know of had 6,531).", largest, last[0].n))
	}
	return r
}

// runOpening runs one whole opening of n bidders on fresh servers under dir and removes dir.
func runOpening(ctx context.Context, dir string, n int, plan openingPlan) (openingSample, error) {
	start := time.Now()
	s := openingSample{n: n}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return s, err
	}
	defer os.RemoveAll(dir)
	clock := kaiping.NewManualClock(time.Now())
	live := opening.DefaultLiveConfig
	live.MaxConnections = max(live.MaxConnections, n+100)
	srv, stop, err := startBenchServers(ctx, dir, app.WithClock(clock), app.WithLiveConfig(live))
	if err != nil {
		return s, err
	}
	defer stop()
	w, err := newOpeningWorld(ctx, dir, srv, clock, n, plan, &s)
	if err != nil {
		return s, err
	}
	defer w.close()
	s.setupSeconds = time.Since(start).Seconds()
	stopProfile, err := startProfile(profilePrefix(plan.profile, fmt.Sprintf("unlock-%d", n)))
	if err != nil {
		return s, err
	}
	cpu0 := treeCPU()
	err = w.unlockAll(ctx, &s)
	s.unlockCPU = treeCPU().since(cpu0)
	stopProfile()
	if err != nil {
		return s, err
	}
	if err := w.publish(ctx, &s); err != nil {
		return s, err
	}
	if err := w.confirmAll(ctx, &s); err != nil {
		return s, err
	}
	if err := w.anchor(ctx, srv, &s); err != nil {
		return s, fmt.Errorf("anchor: %w", err)
	}
	s.wallSeconds = time.Since(start).Seconds()
	return s, nil
}

// profilePrefix is where startProfile writes a profile named name under dir; none if dir
// is empty.
func profilePrefix(dir, name string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, name)
}
