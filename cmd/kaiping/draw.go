package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/storage/ledger"
	"github.com/kaiping/kaiping/storage/postgres"
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
	verifier, err := loadVerifier(cfg, cmd.String("public-key"))
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.Database.URL, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	rec, err := postgres.NewEvaluationStore(db, nil).DrawRecord(ctx, id)
	if err != nil {
		return err
	}
	report, verr := evaluation.VerifyDraw(rec)
	if verr == nil {
		verr = proveEntries(ctx, db, verifier, cfg.Ledger.Origin, rec.Entries)
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

// proveEntries checks that every entry the draw was re-run from is, byte for byte, in the
// platform's signed ledger: the latest checkpoint's signature verifies and each entry has an
// inclusion proof against it. Without this, whoever could rewrite the draw's rows could
// rewrite its entries too.
func proveEntries(ctx context.Context, db *postgres.DB, v ledger.Verifier, origin string, entries []evaluation.LedgerEntry) error {
	l := ledger.New(nil, origin)
	cp, err := l.Checkpoint(ctx, db.Pool)
	if err != nil {
		return err
	}
	if err := cp.Verify(v); err != nil {
		return err
	}
	for _, e := range entries {
		entry, err := l.ReadEntry(ctx, db.Pool, e.Seq)
		if err != nil {
			return err
		}
		proof, err := l.ProveInclusion(ctx, db.Pool, e.Seq, cp.Size)
		if err == nil {
			err = ledger.VerifyInclusion(proof, cp.Checkpoint, entry.LeafData())
		}
		if err != nil {
			return kaiping.Errorf(kaiping.KindInvalid, "draw.ledger_tampered",
				"审计日志第 %d 条（%s）不在已签名的日志中，记录被篡改（运行 kaiping ledger verify 定位）：%v", e.Seq, e.Action, err)
		}
	}
	return nil
}
