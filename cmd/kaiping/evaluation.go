package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/clients/reviewer"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/evaluation"
)

// evaluationCommand is `kaiping evaluation verify <session id>`: recompute every total, rank
// and candidate of a session from the audit ledger and check its report's signatures; and
// `kaiping evaluation sign`: a member signs the session's report with their own key.
func evaluationCommand() *cli.Command {
	return &cli.Command{Name: "evaluation", Usage: "evaluation tools (评标)", Commands: []*cli.Command{{
		Name:      "verify",
		Usage:     "recompute a session's scores, ranks and candidates from the audit ledger and check the report's signatures; name the first mismatch",
		ArgsUsage: "<session id>",
		Flags: []cli.Flag{configFlag, &cli.StringFlag{
			Name: "public-key", Usage: "platform public key PEM (default: derived from ledger.signing_key_file)",
		}},
		Action: evaluationVerify,
	}, {
		Name: "sign",
		Usage: "评委以本人证书私钥（密钥文件或 UKEY）签署评标报告：报告摘要，及 PDF 签名（RSA/ECDSA）或 CMS 分离签名（SM2） " +
			"a member signs the evaluation report with their own key",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "session", Required: true, Usage: "评标会议 ID the session's ID"},
			&cli.StringFlag{Name: "dissent", Usage: "不同意见及理由（不填即签字同意） a dissent with its reasons; none to agree"},
		}, serverFlags()...),
		Action: evaluationSign,
	}}}
}

func evaluationVerify(ctx context.Context, cmd *cli.Command) error {
	return verifyByID(ctx, cmd, "kaiping evaluation verify <session id>", "评标复核失败 evaluation verification FAILED",
		app.VerifyEvaluation,
		func(_ kaiping.ID, check *evaluation.ReportCheck) string {
			return fmt.Sprintf("评标复核通过 evaluation OK: report %s, %d sections and %d bids recomputed from %d marks, %d signatures (%d in the PDF, %d SM2 CMS)",
				check.Digest, check.Sections, check.Bids, check.Marks, check.Signatures, check.PDFSignatures, check.CMS)
		})
}

func evaluationSign(ctx context.Context, cmd *cli.Command) error {
	id := kaiping.ID(cmd.String("session"))
	if !id.Valid() {
		return errors.New("--session 须为评标会议 ID (a session ID)")
	}
	s, err := login(ctx, cmd)
	if err != nil {
		return err
	}
	defer s.Close()
	leaf, err := bidder.LeafCertificate(s.cert)
	if err != nil {
		return err
	}
	signed, err := reviewer.SignReport(ctx, s.api, s.key, leaf, id, strings.TrimSpace(cmd.String("dissent")))
	if err != nil {
		return err
	}
	reviewer.PrintSigned(cmd.Writer, signed)
	return nil
}
