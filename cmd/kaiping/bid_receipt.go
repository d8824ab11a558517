package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/storage/ledger"
)

func bidReceiptCommand() *cli.Command {
	return &cli.Command{
		Name:  "receipt",
		Usage: "回执 receipts",
		Commands: []*cli.Command{{
			Name: "verify",
			Usage: "离线校验回执：平台签名、审计日志包含证明、记录内容 " +
				"check a receipt offline against the platform public key",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "receipt", Required: true, Usage: "回执文件 receipt JSON"},
				&cli.StringFlag{Name: "public-key", Required: true, Usage: "交易中心公布的平台公钥（PEM） the platform public key the centre publishes"},
			},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				b, err := os.ReadFile(cmd.String("receipt"))
				if err != nil {
					return err
				}
				var rc opening.Receipt
				if err := json.Unmarshal(b, &rc); err != nil {
					return fmt.Errorf("回执文件格式错误: %w", err)
				}
				pk, err := os.ReadFile(cmd.String("public-key"))
				if err != nil {
					return err
				}
				v, err := ledger.ParseVerifier(pk)
				if err != nil {
					return fmt.Errorf("平台公钥无法解析: %w", err)
				}
				if err := bidder.VerifyReceipt(rc, v); err != nil {
					return err
				}
				fmt.Println("回执有效 (receipt verified)")
				fmt.Println(bidder.String(rc))
				return nil
			},
		}},
	}
}
