package main

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"time"
)

// pkgReport is one package's outcome.
type pkgReport struct {
	Dir        string
	Args       []string
	Files      []string
	Absent     bool // an optional package that does not exist yet
	Total      int  // every mutant of its files
	Counted    []result
	Uncounted  []result // did not compile
	Equivalent []mutant // drawn but listed as equivalent
	Took       time.Duration
	ids        map[string]bool // every mutant's ID, to find stale equivalent entries
}

func (p pkgReport) count(s status) int {
	n := 0
	for _, r := range p.Counted {
		if r.status == s {
			n++
		}
	}
	return n
}

// score is the percentage of counted mutants the tests killed (a timeout is a kill).
func (p pkgReport) score() float64 {
	if len(p.Counted) == 0 {
		return 100
	}
	return 100 * float64(p.count(killed)+p.count(timedOut)) / float64(len(p.Counted))
}

// report is the whole run, as MUTATION.md shows it.
type report struct {
	N, Jobs    int
	Seed       uint64
	Packages   []pkgReport
	Equivalent map[string]string
	Stale      []string // equivalent entries that name no mutant any more
	Took       time.Duration
}

func (r report) markdown() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# 变异测试 Mutation testing\n\n")
	fmt.Fprintf(&b, "Written by `make mutate` (`go run ./internal/mutate`); do not edit by hand. Each package's code is\n"+
		"changed one small step at a time (an operator swapped, a constant moved by one, a condition\n"+
		"negated, an if or case body or a call removed) and its tests run against each change through a\n"+
		"`go test -overlay`. A **killed** mutant is a change some test noticed; a **survivor** is behaviour no\n"+
		"test pins. Per package, a sample of %d mutants that compile and are not listed as equivalent\n"+
		"(`internal/mutate/equivalent.txt`, each with its reason), drawn with seed %d. The goal is at least\n"+
		"90 %% killed in each package.\n\n", r.N, r.Seed)
	b.WriteString("| package and files | tests run | mutants in its files | counted | killed | timeout | survived | not compiled | equivalent drawn | score | time |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, p := range r.Packages {
		if p.Absent {
			fmt.Fprintf(&b, "| `%s` | (not written yet) | | | | | | | | | |\n", p.Dir)
			continue
		}
		tests := "all"
		if len(p.Args) > 0 {
			// A table cell ends at any unescaped |, inside backticks too.
			tests = "`" + strings.ReplaceAll(strings.Join(p.Args, " "), "|", `\|`) + "`"
		}
		fmt.Fprintf(&b, "| `%s` %s | %s | %d | %d | %d | %d | %d | %d | %d | **%.1f %%** | %s |\n",
			p.Dir, strings.Join(p.Files, ", "), tests, p.Total, len(p.Counted), p.count(killed), p.count(timedOut), p.count(survived),
			len(p.Uncounted), len(p.Equivalent), p.score(), p.Took.Round(time.Second))
	}
	fmt.Fprintf(&b, "\nTotal time %s with %d mutants at a time on %d CPUs (%s).\n", r.Took.Round(time.Second), r.Jobs, runtime.NumCPU(), runtime.Version())

	b.WriteString("\n## Survivors\n\nEach is a change to the code that every test passed: a missing test, or (after checking) an\nequivalent mutant to list with its reason.\n")
	for _, p := range r.Packages {
		var lines []string
		for _, res := range p.Counted {
			if res.status == survived {
				lines = append(lines, fmt.Sprintf("- line %d: `` %s ``", res.Line, res.ID()))
			}
		}
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n\n%s\n", p.Dir, strings.Join(lines, "\n"))
	}

	b.WriteString("\n## Equivalent mutants drawn\n\nListed in `internal/mutate/equivalent.txt`; not counted.\n\n")
	any := false
	for _, p := range r.Packages {
		for _, m := range p.Equivalent {
			fmt.Fprintf(&b, "- `` %s ``: %s\n", m.ID(), r.Equivalent[m.ID()])
			any = true
		}
	}
	if !any {
		b.WriteString("None.\n")
	}
	if len(r.Stale) > 0 {
		b.WriteString("\n## Stale equivalent entries\n\nThese lines of `internal/mutate/equivalent.txt` name no mutant of today's code: delete or update them.\n\n")
		for _, id := range r.Stale {
			fmt.Fprintf(&b, "- `` %s ``\n", id)
		}
	}
	return b.Bytes()
}

// summary is the table for the terminal.
func (r report) summary() string {
	var b strings.Builder
	for _, p := range r.Packages {
		if p.Absent {
			fmt.Fprintf(&b, "%-20s not written yet\n", p.Dir)
			continue
		}
		fmt.Fprintf(&b, "%-20s %5.1f %%  killed %d, timeout %d, survived %d of %d (not compiled %d, equivalent %d) in %s\n",
			p.Dir, p.score(), p.count(killed), p.count(timedOut), p.count(survived), len(p.Counted),
			len(p.Uncounted), len(p.Equivalent), p.Took.Round(time.Second))
	}
	fmt.Fprintf(&b, "total %s\n", r.Took.Round(time.Second))
	return b.String()
}
