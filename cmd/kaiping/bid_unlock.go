package main

import (
	"context"
	"os"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/opening/seal"
)

func bidUnlockCommand() *cli.Command {
	return &cli.Command{
		Name: "unlock",
		Usage: "开标时签到并解密本人的投标文件：在本机用证书私钥解出文件密钥后提交，显示排队与验证进度 " +
			"check in and decrypt your bid at the opening: file keys are unwrapped on this machine",
		Flags: append(serverFlags(), tenderFlag, sectionFlag,
			&cli.BoolFlag{Name: "wait", Usage: "等待主持人开启解密 wait until the host opens the decrypt window"},
			&cli.DurationFlag{Name: "poll", Value: 2 * time.Second, Usage: "查询进度的间隔 how often to ask for progress"},
			&cli.DurationFlag{Name: "timeout", Value: 30 * time.Minute, Usage: "最长等待时间 give up after"},
		),
		Action: bidUnlock,
	}
}

// bidUnlock checks in, fetches the bidder's own envelope headers, unwraps each file key with
// the certificate's key (a key file or a PKCS#11 token: the key never leaves it), hands the
// file keys in and follows the verification until every envelope is decrypted.
func bidUnlock(ctx context.Context, cmd *cli.Command) error {
	ctx, cancel := context.WithTimeout(ctx, cmd.Duration("timeout"))
	defer cancel()
	s, err := login(ctx, cmd)
	if err != nil {
		return err
	}
	defer s.Close()
	leaf, err := bidder.LeafCertificate(s.cert)
	if err != nil {
		return err
	}
	id, err := seal.NewCertIdentity(leaf, s.key)
	if err != nil {
		return err
	}
	u := bidder.Unlocker{API: s.api, Hall: sectionPath(cmd, "/hall"), Poll: cmd.Duration("poll"), Out: os.Stdout}
	return u.Run(ctx, id, cmd.Bool("wait"))
}
