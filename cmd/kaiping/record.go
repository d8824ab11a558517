package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/opening"
)

// recordCommand is `kaiping record ...`: a bidder reads the published opening record
// (开标记录), checks its digest on this machine, confirms it by signing the digest with the
// certificate key it registered with (a key file or a PKCS#11 token), or objects (异议).
func recordCommand() *cli.Command {
	flags := func(more ...cli.Flag) []cli.Flag {
		return append(append(serverFlags(), tenderFlag, sectionFlag), more...)
	}
	return &cli.Command{
		Name:  "record",
		Usage: "开标记录：查看、签名确认、提出异议（投标人） the opening record: show, confirm, object",
		Commands: []*cli.Command{{
			Name:   "show",
			Usage:  "查看本标段公布的开标记录，并在本机核对其摘要 show the published record and check its digest",
			Flags:  flags(),
			Action: recordShow,
		}, {
			Name: "confirm",
			Usage: "查看开标记录并以证书私钥对其摘要签名确认 show the record and confirm it by signing its digest " +
				"(\"KAIPING-RECORD-V1\\n\" + digest)",
			Flags: flags(&cli.StringFlag{Name: "digest",
				Usage: "只确认摘要为此值的记录（先用 show 核对） confirm only the record with this digest"}),
			Action: recordConfirm,
		}, {
			Name:   "object",
			Usage:  "对开标提出异议，由主持人在开标大厅答复 raise an objection, answered by the host in the hall",
			Flags:  flags(&cli.StringFlag{Name: "text", Required: true, Usage: "异议内容 the objection"}),
			Action: recordObject,
		}},
	}
}

func recordShow(ctx context.Context, cmd *cli.Command) error {
	s, err := login(ctx, cmd)
	if err != nil {
		return err
	}
	defer s.Close()
	pr, rec, err := bidder.FetchRecord(ctx, s.api, sectionPath(cmd, "/hall"))
	if err != nil {
		return err
	}
	bidder.PrintRecord(cmd.Writer, pr, rec)
	return nil
}

func recordConfirm(ctx context.Context, cmd *cli.Command) error {
	s, err := login(ctx, cmd)
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := bidder.ConfirmRecord(ctx, s.api, s.key, sectionPath(cmd, "/hall"), strings.TrimSpace(cmd.String("digest")), cmd.Writer)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.Writer, "已签名确认开标记录（摘要 %s，证书 %.16s…，%s）\n", c.Digest, c.Certificate,
		kaiping.BeijingString(c.At))
	return nil
}

func recordObject(ctx context.Context, cmd *cli.Command) error {
	s, err := login(ctx, cmd)
	if err != nil {
		return err
	}
	defer s.Close()
	var o opening.Objection
	if err := s.api.Do(ctx, http.MethodPost, sectionPath(cmd, "/hall/objections"), opening.ObjectionRequest{Text: cmd.String("text")}, &o); err != nil {
		return err
	}
	fmt.Fprintf(cmd.Writer, "异议已提交（编号 %s，%s），请在开标大厅等待主持人答复\n", o.ID, kaiping.BeijingString(o.RaisedAt))
	return nil
}
