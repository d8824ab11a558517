// Command kaiping is the one Kaiping binary: the server, its maintenance commands, the
// bidder's and seat's tools, and the demonstration.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newCommand().Run(ctx, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "kaiping:", err)
		os.Exit(1)
	}
}
