package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
)

// drawCommand is `kaiping draw verify <draw id>`: re-run an expert draw from the audit
// ledger and its stored snapshot (evaluation/DRAW.md) and check it reproduces exactly.
func drawCommand() *cli.Command {
	return &cli.Command{Name: "draw", Usage: "expert draw tools (专家抽取)", Commands: []*cli.Command{{
		Name:      "verify",
		Usage:     "re-run a draw from the audit ledger and its stored snapshot; fail loudly on any difference",
		ArgsUsage: "<draw id>",
		Flags: []cli.Flag{configFlag, &cli.StringFlag{
			Name: "public-key", Usage: "platform public key PEM (default: derived from ledger.signing_key_file)",
		}},
		Action: drawVerify,
	}}}
}

func drawVerify(ctx context.Context, cmd *cli.Command) error {
	id := kaiping.ID(cmd.Args().First())
	if !id.Valid() || cmd.Args().Len() != 1 {
		return errors.New("用法 usage: kaiping draw verify <draw id>")
	}
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	verifier, err := app.LoadVerifier(cfg, cmd.String("public-key"))
	if err != nil {
		return err
	}
	rec, report, verr := app.VerifyDraw(ctx, cfg, verifier, id)
	if report == nil {
		return verr
	}
	out, _ := json.MarshalIndent(report, "", "  ")
	w := cmd.Root().Writer
	fmt.Fprintln(w, string(out))
	if verr != nil {
		return fmt.Errorf("抽取复核失败 draw verification FAILED (%s): %w", kaiping.CodeOf(verr), verr)
	}
	fmt.Fprintf(w, "抽取复核通过 draw OK: %s reproduced from %d ledger entries, snapshot %s (%d experts), %d replacements\n",
		id, len(rec.Entries), report.SnapshotDigest, report.SnapshotSize, report.Replacements)
	return nil
}
