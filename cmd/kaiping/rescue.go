package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/clients/holder"
)

// rescueCommand is `kaiping rescue ...`, the supervisors' side of a tender's rescue plan
// (解密失败补救方案).
func rescueCommand() *cli.Command {
	return &cli.Command{
		Name:  "rescue",
		Usage: "补救密钥份额（监督人员） rescue key shares, for supervisors",
		Commands: []*cli.Command{{
			Name: "verify-share",
			Usage: "取回本人的补救密钥份额并在本机校验：能用本人证书解开、属于该项目的补救公钥、与公开承诺一致 " +
				"fetch your share and check it locally",
			Flags:  append(serverFlags(), tenderFlag),
			Action: rescueVerifyShare,
		}, {
			Name: "decrypt-share",
			Usage: "开标解密窗口内，用本人份额在本机对某投标人投标文件的补救段落做部分解密，只提交部分解密值及其证明，份额不离开本机 " +
				"compute partial decryptions of one bidder's bid with your share, locally, and hand in only those",
			Flags: append(serverFlags(), tenderFlag, sectionFlag,
				&cli.StringFlag{Name: "bidder", Required: true, Usage: "投标人 ID 或名称 the bidder's ID or name"}),
			Action: rescueDecryptShare,
		}},
	}
}

func rescueVerifyShare(ctx context.Context, cmd *cli.Command) error {
	s, err := login(ctx, cmd)
	if err != nil {
		return err
	}
	defer s.Close()
	leaf, err := bidder.LeafCertificate(s.cert)
	if err != nil {
		return err
	}
	share, sh, t, err := holder.Share(ctx, s.api, cmd.String("tender"), leaf, s.key)
	if err != nil {
		return err
	}
	share.Wipe()
	fmt.Printf("份额有效：项目 %s 补救密钥 %s，第 %d 份（共 %d 份，开启需 %d 份）\n", t.Code, sh.KeyID, sh.Share.Index, sh.Holders, sh.Threshold)
	return nil
}

// rescueDecryptShare checks the supervisor's share locally, computes partial decryptions of
// the named bidder's rescue stanzas with it on this machine and hands in only those; the
// server opens the bid once k holders have, through the same verification as a bidder's key.
func rescueDecryptShare(ctx context.Context, cmd *cli.Command) error {
	s, err := login(ctx, cmd)
	if err != nil {
		return err
	}
	defer s.Close()
	leaf, err := bidder.LeafCertificate(s.cert)
	if err != nil {
		return err
	}
	hall := sectionPath(cmd, "/hall")
	who, name, err := holder.ResolveBidder(ctx, s.api, hall, cmd.String("bidder"))
	if err != nil {
		return err
	}
	share, _, _, err := holder.Share(ctx, s.api, cmd.String("tender"), leaf, s.key)
	if err != nil {
		return err
	}
	p, err := holder.DecryptForBid(ctx, s.api, hall, who, share)
	if err != nil {
		return err
	}
	fmt.Printf("已为「%s」提交第 %d 号份额的部分解密值（份额未离开本机）：已有 %d 位持有人提交，开启需 %d 位\n", name, share.Index, p.Shares, p.Threshold)
	if len(p.Opened) > 0 {
		fmt.Printf("部分解密值已够：开启了 %d 份投标文件，正在逐块验证\n", len(p.Opened))
	}
	return nil
}
