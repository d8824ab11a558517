package main

import (
	"context"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

const source = `package p

const limit = 0x10

func check(s string, n int) (bool, error) {
	if len(s) == 0 || n > limit {
		return false, nil
	}
	switch {
	case !ok(s):
		return false, errBad
	}
	use(s)
	return true, nil
}
`

// TestMutants pins what each operator does to the source, and that every mutant parses.
func TestMutants(t *testing.T) {
	ms, err := mutants("p/p.go", []byte(source))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"p/p.go limit: `0x10` 0x10 → 17":                             "const limit = 17",
		"p/p.go limit: `0x10` 0x10 → 15":                             "const limit = 15",
		"p/p.go check: `len(s) == 0 || n > limit` || → &&":           "if len(s) == 0 && n > limit {",
		"p/p.go check: `len(s) == 0` == → !=":                        "if len(s) != 0 || n > limit {",
		"p/p.go check: `0` 0 → 1":                                    "if len(s) == 1 || n > limit {",
		"p/p.go check: `n > limit` > → >=":                           "if len(s) == 0 || n >= limit {",
		"p/p.go check: `len(s) == 0 || n > limit` condition negated": "if !(len(s) == 0 || n > limit) {",
		"p/p.go check: `len(s) == 0 || n > limit` if body removed":   "if len(s) == 0 || n > limit {}",
		"p/p.go check: `false` false → true":                         "return true, nil\n\t}\n\tswitch",
		"p/p.go check: `!ok(s)` ! removed":                           "case ok(s):",
		"p/p.go check: `!ok(s)` case body removed":                   "case !ok(s):\n\t}",
		"p/p.go check: `false` false → true #2":                      "return true, errBad",
		"p/p.go check: `use(s)` call removed":                        "}\n\t\n\treturn true, nil",
		"p/p.go check: `true` true → false":                          "return false, nil\n}",
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.ID())
		out := string(m.apply([]byte(source)))
		if _, err := parser.ParseFile(token.NewFileSet(), "", out, 0); err != nil {
			t.Errorf("%s does not parse: %v\n%s", m.ID(), err, out)
		}
		frag, ok := want[m.ID()]
		if !ok {
			continue
		}
		if !strings.Contains(out, frag) {
			t.Errorf("%s: the mutated source lacks %q:\n%s", m.ID(), frag, out)
		}
		if out == source {
			t.Errorf("%s changes nothing", m.ID())
		}
	}
	for id := range want {
		if !slices.Contains(got, id) {
			t.Errorf("no mutant %s; got\n%s", id, strings.Join(got, "\n"))
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d mutants, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
}

// TestShuffledIsDeterministic: the same seed and package draw the same order, another
// package or seed another one.
func TestShuffledIsDeterministic(t *testing.T) {
	ms, err := mutants("p/p.go", []byte(source))
	if err != nil {
		t.Fatal(err)
	}
	ids := func(ms []mutant) (s []string) {
		for _, m := range ms {
			s = append(s, m.ID())
		}
		return s
	}
	a, b := ids(shuffled(ms, 1, "p")), ids(shuffled(ms, 1, "p"))
	if !slices.Equal(a, b) {
		t.Error("the same seed drew two orders")
	}
	if slices.Equal(a, ids(shuffled(ms, 2, "p"))) || slices.Equal(a, ids(shuffled(ms, 1, "q"))) {
		t.Error("another seed or package drew the same order")
	}
	if slices.Equal(a, ids(ms)) {
		t.Error("not shuffled")
	}
}

func TestParseTargets(t *testing.T) {
	ts, err := parseTargets([]byte("# comment\nopening/seal\n\nstorage/ledger files=a.go,b.go -run=^TestX # why\n?evaluation/scoring\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []target{
		{Dir: "opening/seal"},
		{Dir: "storage/ledger", Files: []string{"a.go", "b.go"}, Args: []string{"-run=^TestX"}},
		{Dir: "evaluation/scoring", Optional: true},
	}
	if len(ts) != len(want) {
		t.Fatalf("got %+v", ts)
	}
	for i := range want {
		if ts[i].Dir != want[i].Dir || !slices.Equal(ts[i].Files, want[i].Files) || !slices.Equal(ts[i].Args, want[i].Args) || ts[i].Optional != want[i].Optional {
			t.Errorf("target %d = %+v, want %+v", i, ts[i], want[i])
		}
	}
	if _, err := parseTargets([]byte("opening/seal stray\n")); err == nil {
		t.Error("a word that is neither files= nor a flag was accepted")
	}
}

func TestParseEquivalent(t *testing.T) {
	eq, err := parseEquivalent([]byte("# c\np/p.go f: `a :: b` == → != :: the reason\n"))
	if err != nil {
		t.Fatal(err)
	}
	if eq["p/p.go f: `a :: b` == → !="] != "the reason" || len(eq) != 1 {
		t.Errorf("got %q", eq)
	}
	for _, bad := range []string{"p/p.go f: `a` == → !=\n", "x :: \n", "x :: a\nx :: b\n"} {
		if _, err := parseEquivalent([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestRunClassifies mutates testdata/sample for real and checks each kind of outcome:
// killed by the named test, survived, timed out, did not compile; and that sample counts
// only the mutants that compile and are not equivalent.
func TestRunClassifies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test once per mutant")
	}
	root, err := filepath.Abs("testdata/sample")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "sample.go"))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := mutants("sample.go", src)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]mutant{}
	for _, m := range ms {
		byID[m.ID()] = m
	}
	r := &runner{root: root, tmp: t.TempDir(), timeout: 3 * time.Second, logf: t.Logf}
	tg := target{Dir: "."}
	ctx := context.Background()
	for _, c := range []struct {
		id   string
		want status
		by   string
	}{
		{"sample.go Clamp: `v < 0` if body removed", killed, "TestClamp"},
		{"sample.go Sum: `i <= n` <= → <", killed, "TestSum"},
		{"sample.go Clamp: `v > max` > → >=", survived, ""}, // equivalent: at v == max both return max
		{"sample.go Sum: `i + 1` + → -", timedOut, ""},
		{"sample.go full: `255` 255 → 256", notBuilt, ""},
	} {
		m, ok := byID[c.id]
		if !ok {
			t.Fatalf("no mutant %s", c.id)
		}
		res := r.run(ctx, tg, m, 1)
		if res.status != c.want || res.by != c.by {
			t.Errorf("%s: %s by %q, want %s by %q", c.id, res.status, res.by, c.want, c.by)
		}
	}
	if entries, _ := os.ReadDir(r.tmp); len(entries) != 0 {
		t.Errorf("%d scratch directories left behind", len(entries))
	}

	order := []mutant{
		byID["sample.go full: `255` 255 → 256"],
		byID["sample.go Clamp: `v > max` > → >="],
		byID["sample.go Sum: `i <= n` <= → <"],
		byID["sample.go Clamp: `v < 0` < → <="],
		byID["sample.go Clamp: `v < 0` condition negated"],
	}
	equiv := map[string]string{"sample.go Clamp: `v > max` > → >=": "both return max at v == max"}
	counted, uncounted, equivalent := r.sample(ctx, tg, order, equiv, 2, 2)
	if len(counted) != 2 || counted[0].ID() != order[2].ID() || counted[1].ID() != order[3].ID() {
		t.Errorf("counted %v, want the third and fourth", counted)
	}
	if len(uncounted) != 1 || uncounted[0].status != notBuilt || len(equivalent) != 1 {
		t.Errorf("uncounted %v, equivalent %v", uncounted, equivalent)
	}
	rep := report{N: 2, Seed: 1, Jobs: 2, Equivalent: equiv, Packages: []pkgReport{{Dir: "sample", Args: []string{"-run=^Test(Clamp|Sum)"}, Total: len(ms), Counted: counted, Uncounted: uncounted, Equivalent: equivalent}}}
	md := string(rep.markdown())
	for _, s := range []string{"**50.0 %**", "- line 7: `` sample.go Clamp: `v < 0` < → <= ``", "both return max at v == max", "`-run=^Test(Clamp\\|Sum)`"} {
		if !strings.Contains(md, s) {
			t.Errorf("the report lacks %q:\n%s", s, md)
		}
	}
}

// TestStale: an equivalent entry naming no mutant is reported, one naming a mutant is not.
func TestStale(t *testing.T) {
	ps := []pkgReport{{ids: map[string]bool{"a": true}}, {ids: map[string]bool{"b": true}}}
	got := stale(map[string]string{"a": "x", "b": "y", "gone": "z", "also gone": "w"}, ps)
	if !slices.Equal(got, []string{"also gone", "gone"}) {
		t.Fatalf("stale = %q", got)
	}
	md := string(report{Stale: got}.markdown())
	if !strings.Contains(md, "## Stale equivalent entries") || !strings.Contains(md, "`` gone ``") {
		t.Fatalf("the report does not list them:\n%s", md)
	}
}

// TestReap: a process left running with the scratch directory on its command line is
// killed; another is not.
func TestReap(t *testing.T) {
	dir := t.TempDir()
	left := exec.Command("sleep", "60", dir)
	other := exec.Command("sleep", "60")
	for _, c := range []*exec.Cmd{left, other} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	defer other.Process.Kill()
	reap(dir)
	if err := left.Wait(); err == nil {
		t.Fatal("the process naming the directory was not killed")
	}
	if err := other.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the other process: %v", err)
	}
}
