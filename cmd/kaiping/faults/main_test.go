// Package faults is the fault suite (故障演练): kaiping runs as a child process between
// toxiproxy proxies in front of PostgreSQL and object storage, and each case cuts, slows,
// resets or holds their connections, kills kaiping with SIGKILL, or stops PostgreSQL in
// immediate mode at a step of a submission or an opening, then checks what the law asks:
// nothing receipted is lost, nothing unreceipted is counted, no bid is classified against a
// bidder for the platform's outage, the hall reaches the lawful outcome, and
// `kaiping ledger verify` passes.
package faults

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kaiping/kaiping/internal/devenv"
)

func TestMain(m *testing.M) {
	if os.Getenv(envChildConfig) != "" {
		os.Exit(serveChild())
	}
	// Built while the first case runs: it takes a while and is needed only at its end.
	go built.once.Do(build)
	code := devenv.Run(m, devenv.NeedPostgres, devenv.NeedMinIO)
	removeBuilt()
	os.Exit(code)
}

// The kaiping binary, built once per test binary for `kaiping ledger verify`.
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// kaipingBinary builds cmd/kaiping (once) and returns its path.
func kaipingBinary(tb testing.TB) string {
	tb.Helper()
	built.once.Do(build)
	if built.err != nil {
		tb.Fatalf("go build ./cmd/kaiping: %v", built.err)
	}
	return built.path
}

func build() {
	built.dir, built.err = os.MkdirTemp("", "kaiping-faults-bin-*")
	if built.err != nil {
		return
	}
	built.path = filepath.Join(built.dir, "kaiping")
	out, err := exec.Command("go", "build", "-o", built.path, "github.com/kaiping/kaiping/cmd/kaiping").CombinedOutput()
	if err != nil {
		built.err = &buildError{err: err, out: out}
	}
}

func removeBuilt() {
	built.once.Do(func() {}) // waits for a build under way
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + string(e.out) }
