package main

import (
	"context"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping/internal/demo"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "start PostgreSQL, MinIO and kaiping on loopback and walk through a demonstration",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Usage: "folder for the demo's servers, keys and config (default: a new temporary folder)"},
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8080", Usage: "kaiping listen address (port 0 picks a free one)"},
			&cli.BoolFlag{Name: "exit", Usage: "stop after the demonstration instead of serving until Ctrl-C (for tests)"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			return demo.Run(ctx, demo.Options{Dir: cmd.String("dir"), Listen: cmd.String("listen"), Exit: cmd.Bool("exit")})
		},
	}
}
