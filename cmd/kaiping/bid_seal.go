package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/opening/seal"
)

func bidSealCommand() *cli.Command {
	return &cli.Command{
		Name: "seal",
		Usage: "在本机加密投标文件（对本人证书及项目补救公钥加密） seal a bid file locally; " +
			"the plaintext never leaves this machine",
		Flags: append(serverFlags(), tenderFlag, sectionFlag,
			&cli.StringFlag{Name: "kind", Value: "summary", Usage: "信封 envelope: summary | technical | commercial"},
			&cli.StringFlag{Name: "in", Required: true, Usage: "明文投标文件 plaintext bid file"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "加密后的文件 sealed file to write"},
		),
		Action: bidSeal,
	}
}

// bidSeal fetches what the envelope must be bound to (tender, section, the bidder's own ID,
// the suite and the rescue key) and seals the file locally.
func bidSeal(ctx context.Context, cmd *cli.Command) error {
	s, err := login(ctx, cmd)
	if err != nil {
		return err
	}
	defer s.Close()
	t, sec, err := s.tender(ctx, cmd)
	if err != nil {
		return err
	}
	leaf, err := bidder.LeafCertificate(s.cert)
	if err != nil {
		return err
	}
	to, err := bidder.Recipients(t, leaf)
	if err != nil {
		return err
	}
	kind := seal.EnvelopeKind(cmd.String("kind"))
	in, err := bidder.OpenPlaintext(cmd.String("in"), kind, t.SummaryFields)
	if err != nil {
		return err
	}
	defer in.Close()
	out := cmd.String("out")
	b := seal.Binding{Tender: t.ID, Section: sec.ID, Bidder: s.me.ID, Kind: kind}
	sealed, err := bidder.SealFile(out, in, b, to, seal.Suite(t.Suite))
	if err != nil {
		return err
	}
	fmt.Printf("已加密：%s（%s，%d 字节）\n", out, t.Suite, sealed.Size)
	return nil
}
