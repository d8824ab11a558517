package faults

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/opening"
)

// The environment that makes the test binary the kaiping server under test instead of
// running tests: the configuration file and the clock file.
const (
	envChildConfig = "KAIPING_FAULTS_SERVE_CONFIG"
	envChildClock  = "KAIPING_FAULTS_SERVE_CLOCK"
)

// childHall is the hall the server under test runs: the defaults, but it looks for ended
// windows every 200 ms and takes over keys left queued by a killed process after 2 s of
// its clock, so that a case waits on events rather than on the production intervals.
func childHall() opening.HallConfig {
	c := opening.DefaultHallConfig
	c.DueInterval = 200 * time.Millisecond
	c.RequeueAfter = 2 * time.Second
	return c
}

// serveChild runs the server as `kaiping serve` does (the same configuration loading and
// the same App), with two differences a test needs and production must not have: the clock
// is the wall clock plus an offset the test writes to a file (to reach a deadline, the end
// of the sealing grace or of a window without waiting for it), and the hall's intervals
// are shorter (childHall). It returns the process's exit code.
func serveChild() int {
	cfg, err := app.LoadConfig(os.Getenv(envChildConfig), os.Environ())
	if err != nil {
		fmt.Fprintln(os.Stderr, "kaiping (fault suite):", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg, app.WithClock(fileClock(os.Getenv(envChildClock))), app.WithHallConfig(childHall()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "kaiping (fault suite):", err)
		return 1
	}
	ln, err := a.Listen()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kaiping (fault suite):", err)
		return 1
	}
	errc := make(chan error, 1)
	go func() { errc <- a.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintln(os.Stderr, "kaiping (fault suite): serve:", err)
		return 1
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := a.Shutdown(shutdown); err != nil {
		fmt.Fprintln(os.Stderr, "kaiping (fault suite): shutdown:", err)
		return 1
	}
	return 0
}

// fileClock is the wall clock plus the offset in nanoseconds written in a file, read at
// every call so that the server sees the test's jump at once.
type fileClock string

func (f fileClock) Now() time.Time { return time.Now().Add(readOffset(string(f))) }

func readOffset(path string) time.Duration {
	b, err := os.ReadFile(path)
	if err != nil {
		panic("fault suite clock: " + err.Error())
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		panic("fault suite clock: " + err.Error())
	}
	return time.Duration(n)
}
