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

// evaluationCommand is `kaiping evaluation verify <session id>`: recompute every total, rank
// and candidate of a session from the audit ledger and check its report's signatures.
func evaluationCommand() *cli.Command {
	return &cli.Command{Name: "evaluation", Usage: "evaluation tools (评标)", Commands: []*cli.Command{{
		Name:      "verify",
		Usage:     "recompute a session's scores, ranks and candidates from the audit ledger and check the report's signatures; name the first mismatch",
		ArgsUsage: "<session id>",
		Flags: []cli.Flag{configFlag, &cli.StringFlag{
			Name: "public-key", Usage: "platform public key PEM (default: derived from ledger.signing_key_file)",
		}},
		Action: evaluationVerify,
	}}}
}

func evaluationVerify(ctx context.Context, cmd *cli.Command) error {
	id := kaiping.ID(cmd.Args().First())
	if !id.Valid() || cmd.Args().Len() != 1 {
		return errors.New("用法 usage: kaiping evaluation verify <session id>")
	}
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	verifier, err := app.LoadVerifier(cfg, cmd.String("public-key"))
	if err != nil {
		return err
	}
	check, verr := app.VerifyEvaluation(ctx, cfg, verifier, id)
	if check == nil {
		return verr
	}
	out, _ := json.MarshalIndent(check, "", "  ")
	w := cmd.Root().Writer
	fmt.Fprintln(w, string(out))
	if verr != nil {
		return fmt.Errorf("评标复核失败 evaluation verification FAILED (%s): %w", kaiping.CodeOf(verr), verr)
	}
	fmt.Fprintf(w, "评标复核通过 evaluation OK: report %s, %d sections and %d bids recomputed from %d marks, %d signatures (%d in the PDF, %d SM2 CMS)\n",
		check.Digest, check.Sections, check.Bids, check.Marks, check.Signatures, check.PDFSignatures, check.CMS)
	return nil
}
