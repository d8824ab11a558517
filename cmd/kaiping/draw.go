package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/storage/ledger"
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
	var rec evaluation.DrawRecord
	return verifyByID(ctx, cmd, "kaiping draw verify <draw id>", "抽取复核失败 draw verification FAILED",
		func(ctx context.Context, cfg app.Config, v ledger.Verifier, id kaiping.ID) (*evaluation.VerifyReport, error) {
			var report *evaluation.VerifyReport
			var err error
			rec, report, err = app.VerifyDraw(ctx, cfg, v, id)
			return report, err
		},
		func(id kaiping.ID, report *evaluation.VerifyReport) string {
			return fmt.Sprintf("抽取复核通过 draw OK: %s reproduced from %d ledger entries, snapshot %s (%d experts), %d replacements",
				id, len(rec.Entries), report.SnapshotDigest, report.SnapshotSize, report.Replacements)
		})
}
