// Package clitest runs a command line in-process for tests and captures what it prints.
package clitest

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"github.com/urfave/cli/v3"
)

// Run runs root with args (without the program name) and returns what it printed on
// stdout. Commands print with fmt.Print* to os.Stdout, so os.Stdout is swapped for a pipe
// while it runs: tests that use Run must not run in parallel.
func Run(tb testing.TB, root *cli.Command, args ...string) (string, error) {
	tb.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		var b bytes.Buffer
		_, _ = io.Copy(&b, r)
		done <- b.String()
	}()
	err = root.Run(context.Background(), append([]string{"kaiping"}, args...))
	w.Close()
	os.Stdout = stdout
	return <-done, err
}
