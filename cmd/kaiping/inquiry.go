package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/evaluation"
)

// inquiryCommand is `kaiping inquiry ...`: a bidder reads the evaluation committee's written
// requests (澄清、说明、补正; arithmetic correction; below-cost explanation) and answers them
// in writing, signed with the key of the certificate it registered (a key file or a PKCS#11
// token), or prints the signature to paste into the web page.
func inquiryCommand() *cli.Command {
	answerFlags := func(more ...cli.Flag) []cli.Flag {
		return append([]cli.Flag{
			&cli.StringFlag{Name: "inquiry", Required: true, Usage: "请求 ID（list 列出） the inquiry's ID"},
			&cli.StringFlag{Name: "text-file", Usage: "答复内容文件（UTF-8，按原样签名） the answer's text, signed as it is"},
			&cli.StringFlag{Name: "decision", Value: "answer", Usage: "answer（澄清、低于成本说明）、confirm 或 refuse（算术修正）"},
		}, more...)
	}
	return &cli.Command{
		Name:  "inquiry",
		Usage: "评标委员会的书面澄清与修正请求：查看、签名答复（投标人） the committee's requests: list, answer",
		Commands: []*cli.Command{{
			Name:   "list",
			Usage:  "列出评标委员会发给本单位的书面请求 list the requests sent to me",
			Flags:  serverFlags(),
			Action: inquiryList,
		}, {
			Name:   "answer",
			Usage:  "以证书私钥签名并提交书面答复 sign and send the answer",
			Flags:  answerFlags(serverFlags()...),
			Action: inquiryAnswer,
		}, {
			Name: "sign",
			Usage: "只在本机签名，输出签名（Base64）供粘贴到网页 sign only, printing the signature for the web page " +
				"(\"KAIPING-INQUIRY-ANSWER-V1\\n\" + inquiry + \"\\n\" + sha256(text) + \"\\n\" + decision + \"\\n\")",
			Flags:  answerFlags(append([]cli.Flag{certFlag}, keyFlags()...)...),
			Action: inquirySign,
		}},
	}
}

func inquiryList(ctx context.Context, cmd *cli.Command) error {
	s, err := login(ctx, cmd)
	if err != nil {
		return err
	}
	defer s.Close()
	qs, err := bidder.Inquiries(ctx, s.api)
	if err != nil {
		return err
	}
	bidder.PrintInquiries(cmd.Writer, qs)
	return nil
}

// answerOf reads the answer's text and decision from the command line.
func answerOf(cmd *cli.Command) (kaiping.ID, string, evaluation.InquiryDecision, error) {
	var text []byte
	if f := cmd.String("text-file"); f != "" {
		var err error
		if text, err = os.ReadFile(f); err != nil {
			return "", "", "", fmt.Errorf("读取答复内容 --text-file: %w", err)
		}
	}
	return kaiping.ID(cmd.String("inquiry")), string(text), evaluation.InquiryDecision(cmd.String("decision")), nil
}

func inquiryAnswer(ctx context.Context, cmd *cli.Command) error {
	id, text, d, err := answerOf(cmd)
	if err != nil {
		return err
	}
	s, err := login(ctx, cmd)
	if err != nil {
		return err
	}
	defer s.Close()
	q, err := bidder.AnswerInquiry(ctx, s.api, s.key, s.cert, id, text, d)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.Writer, "已签名提交答复（%s，%s）\n", q.State.Label(), kaiping.BeijingString(q.Answer.At))
	return nil
}

func inquirySign(_ context.Context, cmd *cli.Command) error {
	id, text, d, err := answerOf(cmd)
	if err != nil {
		return err
	}
	chain, err := os.ReadFile(cmd.String("cert"))
	if err != nil {
		return fmt.Errorf("读取证书 --cert: %w", err)
	}
	key, closeKey, err := loadKey(cmd)
	if err != nil {
		return err
	}
	defer closeKey()
	req, err := bidder.SignAnswer(key, chain, id, text, d)
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.Writer, base64.StdEncoding.EncodeToString(req.Signature))
	return nil
}
