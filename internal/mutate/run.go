package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// status is what the package's tests made of a mutant.
type status int

const (
	killed   status = iota // a test failed
	survived               // every test passed
	timedOut               // the tests ran past the deadline: counted as killed (an endless loop is caught)
	notBuilt               // the mutant does not compile: not counted at all
)

func (s status) String() string {
	return [...]string{"killed", "survived", "timeout", "not built"}[s]
}

// A result is one mutant's outcome.
type result struct {
	mutant
	status status
	by     string // the first failing test, for a killed mutant
}

// runner runs a package's tests against mutants, each through a go build overlay so the
// working tree is never written.
type runner struct {
	root    string // module root, where go test runs
	tmp     string // scratch directory for mutated files and overlays
	timeout time.Duration
	logf    func(format string, args ...any)
}

var (
	failedTest  = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)
	buildFailed = regexp.MustCompile(`\[(build|setup) failed\]`)
)

// baseline runs the unmutated tests; they must pass, and their time sets the deadline.
func (r *runner) baseline(ctx context.Context, t target) (time.Duration, error) {
	start := time.Now()
	scratch := filepath.Join(r.tmp, "baseline")
	defer os.RemoveAll(scratch)
	out, err := r.goTest(ctx, t, "", scratch, 10*time.Minute)
	if err != nil {
		return 0, fmt.Errorf("%s: the tests fail without any mutant:\n%s", t.Dir, out)
	}
	return time.Since(start), nil
}

// run applies m through an overlay and runs t's tests with it.
func (r *runner) run(ctx context.Context, t target, m mutant, id int) result {
	res := result{mutant: m}
	orig := filepath.Join(r.root, filepath.FromSlash(m.File))
	src, err := os.ReadFile(orig)
	if err != nil {
		r.logf("%v", err)
		res.status = notBuilt
		return res
	}
	dir := filepath.Join(r.tmp, fmt.Sprint(id))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.logf("%v", err)
		res.status = notBuilt
		return res
	}
	defer os.RemoveAll(dir)
	mutated := filepath.Join(dir, filepath.Base(orig))
	overlay := filepath.Join(dir, "overlay.json")
	o, _ := json.Marshal(map[string]map[string]string{"Replace": {orig: mutated}})
	if err := errors.Join(os.WriteFile(mutated, m.apply(src), 0o644), os.WriteFile(overlay, o, 0o644)); err != nil {
		r.logf("%v", err)
		res.status = notBuilt
		return res
	}
	out, err := r.goTest(ctx, t, overlay, filepath.Join(dir, "tmp"), r.timeout)
	switch {
	case err == nil:
		res.status = survived
	case errors.Is(err, context.DeadlineExceeded) || bytes.Contains(out, []byte("panic: test timed out")):
		res.status = timedOut
	case buildFailed.Match(out):
		res.status = notBuilt
	default:
		res.status = killed
		if f := failedTest.FindSubmatch(out); f != nil {
			res.by = string(f[1])
		} else if i := bytes.Index(out, []byte("panic: ")); i >= 0 {
			res.by = strings.SplitN(string(out[i:]), "\n", 2)[0]
		}
	}
	return res
}

// goTest runs go test on t with the overlay (none if empty). The test binary gets the
// timeout; the whole command, which also compiles, gets two minutes more. Its temporary
// files go to scratch, and whatever it left running there is killed when it ends: a
// mutant that panics or hangs a test binary skips the deferred stop of the PostgreSQL
// server devenv started (in its own process group) for it.
func (r *runner) goTest(ctx context.Context, t target, overlay, scratch string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout+2*time.Minute)
	defer cancel()
	// devenv runs PostgreSQL as the postgres user when we are root: it must reach scratch.
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return nil, err
	}
	for d := scratch; d != filepath.Dir(r.tmp) && d != filepath.Dir(d); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			return nil, err
		}
	}
	defer reap(scratch)
	args := []string{"test", "-count=1", "-vet=off", "-failfast", "-timeout=" + timeout.String()}
	if overlay != "" {
		args = append(args, "-overlay="+overlay)
	}
	args = append(args, t.Args...)
	args = append(args, "./"+t.Dir)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = r.root
	cmd.Env = append(os.Environ(), "TMPDIR="+scratch)
	// go test starts the test binary as a child: kill the whole group on the deadline.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return out, ctx.Err()
	}
	return out, err
}

// sample runs mutants from order until n of them count (killed, survived or timed out),
// skipping those marked equivalent, jobs at a time. It runs them in chunks of the number
// still wanted, so which mutants count does not depend on which finished first.
func (r *runner) sample(ctx context.Context, t target, order []mutant, equiv map[string]string, n, jobs int) (counted, uncounted []result, equivalent []mutant) {
	next := 0
	for len(counted) < n && next < len(order) {
		var chunk []mutant
		for len(chunk) < n-len(counted) && next < len(order) {
			m := order[next]
			next++
			if _, ok := equiv[m.ID()]; ok {
				equivalent = append(equivalent, m)
				continue
			}
			chunk = append(chunk, m)
		}
		results := make([]result, len(chunk))
		sem := make(chan struct{}, jobs)
		var wg sync.WaitGroup
		for i, m := range chunk {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				results[i] = r.run(ctx, t, m, next*1000+i)
				r.logf("%-9s %s", results[i].status, m.ID())
			}()
		}
		wg.Wait()
		for _, res := range results {
			if res.status == notBuilt {
				uncounted = append(uncounted, res)
			} else {
				counted = append(counted, res)
			}
		}
	}
	return counted, uncounted, equivalent
}

// reap kills every process whose command line names dir, with its process group.
func reap(dir string) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(dir)) {
			continue
		}
		if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}
