package main

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping/clients/apiclient"
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

// fetchRecord reads the hall's published record and checks that its digest is the SHA-256
// of the bytes the server sent: what is shown and signed is exactly what was published.
func fetchRecord(ctx context.Context, api *apiclient.Client, hall string) (opening.PublishedRecord, opening.RoundRecord, error) {
	var pr opening.PublishedRecord
	if err := api.Do(ctx, http.MethodGet, hall+"/record", nil, &pr); err != nil {
		return pr, opening.RoundRecord{}, err
	}
	if got := opening.RecordDigest(pr.Record); got != pr.Digest {
		return pr, opening.RoundRecord{}, fmt.Errorf("服务器返回的开标记录与其摘要不符（记录的 SHA-256 为 %s，声称 %s），不予确认", got, pr.Digest)
	}
	rec, err := opening.DecodeRoundRecord(pr.Record)
	return pr, rec, err
}

// printRecord writes the record as text: its heading, a block per bid, its digest.
func printRecord(w io.Writer, pr opening.PublishedRecord, rec opening.RoundRecord) {
	title := "开标记录"
	if rec.Round >= 2 {
		title += "（第二轮：开标一览表及商务标）"
	}
	fmt.Fprintln(w, "== "+title)
	for _, kv := range opening.RecordHead(rec) {
		fmt.Fprintf(w, "%s：%s\n", kv[0], kv[1])
	}
	head, rows := opening.RecordTable(rec)
	for _, r := range rows {
		fmt.Fprintf(w, "%s. %s\n", r[0], r[1])
		for i := 2; i < len(r); i++ {
			if r[i] != "" {
				fmt.Fprintf(w, "     %s：%s\n", head[i], r[i])
			}
		}
	}
	fmt.Fprintf(w, "开标记录摘要（SHA-256）：%s（审计日志第 %d 条）\n", pr.Digest, pr.LedgerSeq)
}

func recordShow(ctx context.Context, cmd *cli.Command) error {
	s, err := login(ctx, cmd)
	if err != nil {
		return err
	}
	defer s.Close()
	pr, rec, err := fetchRecord(ctx, s.api, sectionPath(cmd, "/hall"))
	if err != nil {
		return err
	}
	printRecord(cmd.Writer, pr, rec)
	return nil
}

func recordConfirm(ctx context.Context, cmd *cli.Command) error {
	s, err := login(ctx, cmd)
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := confirmRecord(ctx, s.api, s.key, sectionPath(cmd, "/hall"), strings.TrimSpace(cmd.String("digest")), cmd.Writer)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.Writer, "已签名确认开标记录（摘要 %s，证书 %.16s…，%s）\n", c.Digest, c.Certificate,
		c.At.Local().Format(time.DateTime))
	return nil
}

// confirmRecord fetches and checks the record, shows it on w, signs
// "KAIPING-RECORD-V1\n"+digest with key and posts the confirmation. With want not empty, a
// record whose digest is not want is refused before anything is signed.
func confirmRecord(ctx context.Context, api *apiclient.Client, key crypto.Signer, hall, want string, w io.Writer) (opening.Confirmation, error) {
	pr, rec, err := fetchRecord(ctx, api, hall)
	if err != nil {
		return opening.Confirmation{}, err
	}
	printRecord(w, pr, rec)
	if want != "" && want != pr.Digest {
		return opening.Confirmation{}, fmt.Errorf("开标记录已变化：当前摘要为 %s，不是您核对过的 %s，请重新核对后确认", pr.Digest, want)
	}
	sig, err := opening.SignRecord(key, pr.Digest)
	if err != nil {
		return opening.Confirmation{}, fmt.Errorf("签名失败: %w", err)
	}
	var c opening.Confirmation
	err = api.Do(ctx, http.MethodPost, hall+"/confirmations", opening.ConfirmRequest{Digest: pr.Digest, Signature: sig}, &c)
	return c, err
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
	fmt.Fprintf(cmd.Writer, "异议已提交（编号 %s，%s），请在开标大厅等待主持人答复\n", o.ID, o.RaisedAt.Local().Format(time.DateTime))
	return nil
}
