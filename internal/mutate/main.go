// Command mutate is the repository's mutation tester (`make mutate`): it makes one small
// change at a time to a package's code (a relational or boolean operator swapped, a
// constant moved by one, a condition negated, an if or case body or a call removed), runs
// that package's tests against it through a go build overlay, and counts the changes the
// tests notice. A change no test notices is a behaviour nothing pins. It writes the scores
// and the surviving mutants to MUTATION.md.
//
// The maintained Go mutation tools are not served by the module proxy these machines
// reach, hence this small go/ast one.
//
// Each package gets a deterministic sample (seeded) of -n mutants that compile and are not
// listed as equivalent. Run it from the module root:
//
//	go run ./internal/mutate [-n 60] [-seed 1] [-j 2] [-min 90] [-only opening/seal] [-match REGEXP] [-list]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// config is the command line.
type config struct {
	targets, equivalent string
	n                   int
	seed                uint64
	jobs                int
	out                 string
	min                 float64
	only                string
	match               *regexp.Regexp
	list                bool
}

func main() {
	var c config
	var match string
	flag.StringVar(&c.targets, "targets", "internal/mutate/targets.txt", "the packages to mutate")
	flag.StringVar(&c.equivalent, "equivalent", "internal/mutate/equivalent.txt", "the mutants known to be equivalent, with reasons")
	flag.IntVar(&c.n, "n", 60, "mutants to count per package")
	flag.Uint64Var(&c.seed, "seed", 1, "the sampling seed")
	flag.IntVar(&c.jobs, "j", 2, "mutants tested at once")
	flag.StringVar(&c.out, "out", "MUTATION.md", "the report to write")
	flag.Float64Var(&c.min, "min", 0, "fail unless every package kills at least this percentage")
	flag.StringVar(&c.only, "only", "", "mutate only this package directory (the report then holds only it)")
	flag.StringVar(&match, "match", "", "instead of a sample, test every mutant whose ID matches this regular expression (to check a new test)")
	flag.BoolVar(&c.list, "list", false, "print every mutant of the targets and exit")
	flag.Parse()
	if match != "" {
		c.match = regexp.MustCompile(match)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(c.targets)
	if err != nil {
		return err
	}
	targets, err := parseTargets(data)
	if err != nil {
		return err
	}
	data, err = os.ReadFile(c.equivalent)
	if err != nil {
		return err
	}
	equiv, err := parseEquivalent(data)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "kaiping-mutate-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	r := &runner{root: root, tmp: tmp, logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }}

	rep := report{N: c.n, Seed: c.seed, Jobs: c.jobs, Equivalent: equiv}
	start := time.Now()
	for _, t := range targets {
		if c.only != "" && t.Dir != c.only {
			continue
		}
		p, err := mutatePackage(ctx, r, t, equiv, c)
		if err != nil {
			return err
		}
		rep.Packages = append(rep.Packages, p)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if c.list {
		return nil
	}
	rep.Took = time.Since(start)
	if c.match != nil {
		fmt.Fprint(os.Stderr, rep.summary())
		return nil // a check of chosen mutants is no sample: no report
	}
	if c.only == "" {
		rep.Stale = stale(equiv, rep.Packages)
		for _, id := range rep.Stale {
			r.logf("stale equivalent entry: %s", id)
		}
	}
	if err := os.WriteFile(c.out, rep.markdown(), 0o644); err != nil {
		return err
	}
	fmt.Fprint(os.Stderr, rep.summary())
	var low []string
	for _, p := range rep.Packages {
		if !p.Absent && p.score() < c.min {
			low = append(low, fmt.Sprintf("%s %.1f %%", p.Dir, p.score()))
		}
	}
	if len(low) > 0 {
		return fmt.Errorf("below %.0f %%: %s", c.min, strings.Join(low, ", "))
	}
	return nil
}

// mutatePackage enumerates t's mutants, shuffles them with a generator seeded by the seed
// and the package, and tests them until c.n count (with -list, prints them instead; with
// -match, tests those that match).
func mutatePackage(ctx context.Context, r *runner, t target, equiv map[string]string, c config) (pkgReport, error) {
	p := pkgReport{Dir: t.Dir, Args: t.Args}
	all, files, err := enumerate(r.root, t)
	if errors.Is(err, fs.ErrNotExist) && t.Optional {
		p.Absent = true
		return p, nil
	}
	if err != nil {
		return p, err
	}
	p.Files = files
	p.Total = len(all)
	p.ids = map[string]bool{}
	for _, m := range all {
		p.ids[m.ID()] = true
	}
	if c.list {
		for _, m := range all {
			_, eq := equiv[m.ID()]
			fmt.Printf("%s:%d\t%s\tequivalent=%v\n", m.File, m.Line, m.ID(), eq)
		}
		return p, nil
	}
	order, n := shuffled(all, c.seed, t.Dir), c.n
	if c.match != nil {
		order = slices.DeleteFunc(all, func(m mutant) bool { return !c.match.MatchString(m.ID()) })
		n = len(order)
	}

	start := time.Now()
	base, err := r.baseline(ctx, t)
	if err != nil {
		return p, err
	}
	r.timeout = 3*base + 20*time.Second
	r.logf("%s: %d mutants, baseline %s", t.Dir, len(all), base.Round(time.Millisecond))
	p.Counted, p.Uncounted, p.Equivalent = r.sample(ctx, t, order, equiv, n, c.jobs)
	p.Took = time.Since(start)
	return p, nil
}

// stale lists the equivalent entries that name no mutant of the packages, sorted.
func stale(equiv map[string]string, ps []pkgReport) []string {
	var out []string
	for id := range equiv {
		found := false
		for _, p := range ps {
			found = found || p.ids[id]
		}
		if !found {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// enumerate lists every mutant of t's files (all its non-test files unless it names some),
// with the files.
func enumerate(root string, t target) ([]mutant, []string, error) {
	dir := filepath.Join(root, filepath.FromSlash(t.Dir))
	if _, err := os.Stat(dir); err != nil {
		return nil, nil, err
	}
	files := t.Files
	if len(files) == 0 {
		all, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			return nil, nil, err
		}
		for _, f := range all {
			if !strings.HasSuffix(f, "_test.go") {
				files = append(files, filepath.Base(f))
			}
		}
	}
	slices.Sort(files)
	var all []mutant
	for _, f := range files {
		src, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, nil, err
		}
		ms, err := mutants(t.Dir+"/"+f, src)
		if err != nil {
			return nil, nil, err
		}
		all = append(all, ms...)
	}
	return all, files, nil
}

// shuffled is ms in an order fixed by seed and the package, so a run is reproducible and
// adding a test never changes which mutants are drawn.
func shuffled(ms []mutant, seed uint64, pkg string) []mutant {
	h := fnv.New64a()
	h.Write([]byte(pkg))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	out := slices.Clone(ms)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
