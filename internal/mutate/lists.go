package main

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// A target is one package to mutate: its directory, optionally only some of its files,
// and the go test flags that choose its tests.
type target struct {
	Dir      string   // relative to the module root, slash-separated
	Files    []string // file names in Dir; empty means every non-test .go file
	Args     []string // extra go test flags, e.g. -run=...
	Optional bool     // a package that may not exist yet: reported as absent, not an error
}

// parseTargets reads the targets file: one package a line,
//
//	[?]dir [files=a.go,b.go] [go test flags...]
//
// with # starting a comment. A leading ? marks a package that may not exist yet.
func parseTargets(data []byte) ([]target, error) {
	var ts []target
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		t := target{Dir: f[0]}
		if d, ok := strings.CutPrefix(t.Dir, "?"); ok {
			t.Dir, t.Optional = d, true
		}
		for _, a := range f[1:] {
			if files, ok := strings.CutPrefix(a, "files="); ok {
				t.Files = strings.Split(files, ",")
				continue
			}
			if !strings.HasPrefix(a, "-") {
				return nil, fmt.Errorf("targets line %d: %q is neither files=... nor a flag", n, a)
			}
			t.Args = append(t.Args, a)
		}
		ts = append(ts, t)
	}
	return ts, sc.Err()
}

// parseEquivalent reads the list of equivalent mutants: mutants that change the code but
// not what it does, so no test can kill them. One a line,
//
//	<mutant ID, as MUTATION.md prints it> :: <why it is equivalent>
//
// with lines starting with # ignored. A reason is required: an unexplained entry would
// hide a missing test.
func parseEquivalent(data []byte) (map[string]string, error) {
	eq := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndex(line, " :: ")
		if i < 0 || strings.TrimSpace(line[i+4:]) == "" {
			return nil, fmt.Errorf("equivalent line %d: want \"<mutant> :: <reason>\"", n)
		}
		id := strings.TrimSpace(line[:i])
		if _, dup := eq[id]; dup {
			return nil, fmt.Errorf("equivalent line %d: %s listed twice", n, id)
		}
		eq[id] = strings.TrimSpace(line[i+4:])
	}
	return eq, sc.Err()
}
