package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
)

// The scoring scenario: the committee's computation at the largest scale seen (the 2025
// Gansu framework procurement: 6,531 bidders, 5 groups of 5 members, 11 sections a group,
// 12 criteria), from the marks stored in PostgreSQL as the chair's summary computes them,
// against the same totals and ranks by one plain SQL aggregate over the same rows.

// scoringAnchorName names the anchor of the scoring figure.
const scoringAnchorName = "one SQL query over the same rows: valid bids, mean of each item over the members, weighted sum, average-base price score, rank() window"

// scoringGoal: the whole session computed in under a second (issue's Benchmarks).
var scoringGoal = &benchGoal{Below: 1000}

func benchScoringCommand() *cli.Command {
	return &cli.Command{
		Name: "scoring",
		Usage: "the committee's computation of a whole session from the marks stored in PostgreSQL (evaluation.Service.ComputeSession: " +
			"totals, ranks, every warning) against a plain SQL aggregate computing the same totals and ranks over the same rows",
		Flags:  append(scoringFlags(), profileFlag()),
		Action: benchScoring,
	}
}

// scoringFlags are the flags of the scoring and report-pdf scenarios: the size of the session
// they seed, the runs, the folder, the JSON.
func scoringFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "bidders", Value: 6531, Usage: "bidders, each bidding in one section, spread over every section"},
		&cli.IntFlag{Name: "groups", Value: 5, Usage: "committee groups (评标小组)"},
		&cli.IntFlag{Name: "sections", Value: 11, Usage: "sections (标段) each group evaluates"},
		&cli.IntFlag{Name: "members", Value: 5, Usage: "members of each group, every one scoring every bid of its sections"},
		&cli.IntFlag{Name: "items", Value: 12, Usage: "scored criteria"},
		&cli.IntFlag{Name: "runs", Value: 3, Usage: "runs of each side, alternating which goes first; the figures are the medians (of memory, the largest)"},
		&cli.StringFlag{Name: "tmpdir", Usage: "folder to work in (default: the system's temporary folder); everything written is removed at the end"},
		&cli.StringFlag{Name: "json", Usage: "also write the figures as JSON to this file (for `kaiping bench report`)"},
	}
}

// scoringScenario reads scoringFlags and --runs, and makes the scenario's folder (removed
// by the caller).
func scoringScenario(cmd *cli.Command) (scoringPlan, *benchSetup, error) {
	plan := scoringPlan{bidders: int(cmd.Int("bidders")), groups: int(cmd.Int("groups")), sections: int(cmd.Int("sections")),
		members: int(cmd.Int("members")), items: int(cmd.Int("items"))}
	runs := int(cmd.Int("runs"))
	if plan.groups < 1 || plan.sections < 1 || plan.bidders < plan.groups*plan.sections || plan.bidders > 100_000 ||
		plan.members < 3 || plan.members > 25 || plan.items < 3 || plan.items > 100 || runs < 1 {
		return plan, nil, kaiping.E(kaiping.KindInvalid, "bench.scoring_size",
			"--groups、--sections、--runs 须至少为 1，--bidders 须不少于标段数且不超过 100000，--members 在 3 至 25 之间，--items 在 3 至 100 之间")
	}
	dir, err := benchDir(cmd.String("tmpdir"))
	if err != nil {
		return plan, nil, err
	}
	return plan, &benchSetup{runs: runs, dir: dir, loadStart: loadAverage()}, nil
}

func benchScoring(ctx context.Context, cmd *cli.Command) error {
	plan, b, err := scoringScenario(cmd)
	if err != nil {
		return err
	}
	defer os.RemoveAll(b.dir)
	runs := b.runs
	fmt.Fprintf(os.Stderr, "bench: scoring: seeding %d bidders in %d sections\n", plan.bidders, plan.groups*plan.sections)
	w, err := newScoringWorld(ctx, b.dir, plan)
	if err != nil {
		return err
	}
	defer w.close()

	// One run of each side before measuring, so that both find PostgreSQL's buffers and the
	// code warm; and the check that both compute the same, which every run repeats.
	var last scoringOutcome
	check := func() error {
		a, err := w.anchor(ctx)
		if err != nil {
			return fmt.Errorf("anchor: %w", err)
		}
		return sameRanks(last, a)
	}
	if last, err = w.ours(ctx); err != nil {
		return err
	}
	if err := check(); err != nil {
		return err
	}
	profile := cmd.String("profile")
	var oursMS, anchorMS, allocMiB, oursCPU, anchorCPU []float64
	var oursBy, anchorBy []cpuSeconds
	for run := range runs {
		for k := range 2 {
			if (k+run)%2 == 0 {
				stop, err := startProfile(profileName(profile, "scoring-ours"))
				if err != nil {
					return err
				}
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				before, cpu := ms.TotalAlloc, treeCPU()
				s, err := timeIt(func() (err error) { last, err = w.ours(ctx); return err })
				stop()
				if err != nil {
					return err
				}
				used := treeCPU().since(cpu)
				oursCPU, oursBy = append(oursCPU, 1000*used.total()), append(oursBy, used)
				runtime.ReadMemStats(&ms)
				oursMS, allocMiB = append(oursMS, 1000*s), append(allocMiB, float64(ms.TotalAlloc-before)/(1<<20))
				fmt.Fprintf(os.Stderr, "bench: scoring run %d/%d ours   %8.1f ms\n", run+1, runs, 1000*s)
				continue
			}
			cpu := treeCPU()
			s, err := timeIt(func() error { _, err := w.anchor(ctx); return err })
			if err != nil {
				return err
			}
			used := treeCPU().since(cpu)
			anchorCPU, anchorBy = append(anchorCPU, 1000*used.total()), append(anchorBy, used)
			anchorMS = append(anchorMS, 1000*s)
			fmt.Fprintf(os.Stderr, "bench: scoring run %d/%d anchor %8.1f ms\n", run+1, runs, 1000*s)
		}
		if err := check(); err != nil {
			return err
		}
	}

	r := b.result(fmt.Sprintf("Scoring a session: %d bidders in %d groups × %d sections, %d members a group, %d criteria (size: the stored marks, eval_marks with its index)",
		plan.bidders, plan.groups, plan.sections, plan.members, plan.items), "")
	r.Size = w.bytes
	r.Method = fmt.Sprintf("Ours is evaluation.Service.ComputeSession over the %d marks seeded (by COPY) into eval_marks, every one submitted: it reads the tender's method and the submitted marks "+
		"of the whole session in one query, and meanwhile every section's bids with their prices, review, submissions and the bidders' origins from PostgreSQL, then per section builds "+
		"the inputs as the chair's summary does and runs scoring.Compute with every warning; timed from the call to the last section's outcome. The anchor computes the same valid bids, totals and ranks (not the warnings) in one query and reads its rows. "+
		"Both run in the same process against the same PostgreSQL (one warm-up run each first); after every run the bench checks that both gave every valid bid the same total and rank.", w.marks)
	r.Figures = append(r.Figures, newFigure("totals, ranks and every warning of the session", "ms", scoringAnchorName, "median", oursMS, anchorMS, scoringGoal),
		newFigure("the same, CPU time of this process and PostgreSQL together", "ms", scoringAnchorName, "median", oursCPU, anchorCPU, nil))
	r.Notes = append(r.Notes,
		fmt.Sprintf("Ours computes %d sections at once (GOMAXPROCS) and allocates %.0f MiB of Go memory a run (median).", runtime.GOMAXPROCS(0), medianOf(allocMiB)),
		fmt.Sprintf("CPU seconds by process, run by run: ours %s; anchor %s. On a machine whose other tenants keep the cores busy, the wall time is mostly waiting for a core; "+
			"the CPU time is what the work itself costs.", cpuRuns(oursBy), cpuRuns(anchorBy)),
		fmt.Sprintf("%d valid bids ranked; warnings found by ours, by code: %s. The anchor computes none of them.", len(last.ranks), warningCounts(last.warnings)),
		"Seeded spread: prices at 80–98 % of the ceiling, 2 % far below (below cost), 0.5 % above it, 1 % a copy of the section's previous bid (equal prices, tied ranks); "+
			"objective items scored alike but for one member on 0.5 % of them, subjective ones within 0.3 points but for 1 % far off; 1.5 % of bids failing an initial-review item by a majority, 3 % with one dissenting verdict.")
	return emitResult(cmd, r)
}

// profileName is the CPU profile prefix under dir for name, or "" (no profile) without dir.
func profileName(dir, name string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, name)
}

// cpuRuns lists each run's CPU seconds by process.
func cpuRuns(runs []cpuSeconds) string {
	parts := make([]string, len(runs))
	for i, c := range runs {
		parts[i] = "(" + c.String() + ")"
	}
	return strings.Join(parts, ", ")
}

// warningCounts lists the counts by code, sorted by code.
func warningCounts(by map[string]int) string {
	codes := make([]string, 0, len(by))
	for c := range by {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%s %d", c, by[c])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
