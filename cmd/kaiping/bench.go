package main

import "github.com/urfave/cli/v3"

// benchCommand is `kaiping bench ...`: the larger measured scenarios that `make bench` runs.
func benchCommand() *cli.Command {
	return &cli.Command{Name: "bench", Usage: "run a measured scenario and print its figures (make bench)"}
}
