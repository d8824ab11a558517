package main

import (
	"context"
	"fmt"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/storage/ledger"
	"github.com/kaiping/kaiping/timekeeping/tsa"
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
				&cli.StringFlag{Name: "tsa-cert", Usage: "时间戳服务机构的证书或其 CA（PEM）：同时校验回执的时间戳 also check the receipt's RFC 3161 time-stamp"},
			},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				rc, err := bidder.ReadReceipt(cmd.String("receipt"))
				if err != nil {
					return err
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
				if f := cmd.String("tsa-cert"); f != "" {
					pemData, err := os.ReadFile(f)
					if err != nil {
						return err
					}
					roots, err := tsa.ParseRoots(pemData)
					if err != nil {
						return fmt.Errorf("时间戳服务机构证书无法解析: %w", err)
					}
					at, err := bidder.VerifyReceiptTimeStamp(rc, roots)
					if err != nil {
						return err
					}
					fmt.Printf("时间戳有效 (time-stamp verified)：%s\n", kaiping.BeijingString(at))
				}
				return nil
			},
		}, {
			Name:  "time-stamp",
			Usage: "取回待补发的回执时间戳并写入回执文件 fetch a receipt's pending time-stamp into the receipt file",
			Flags: append([]cli.Flag{
				&cli.StringFlag{Name: "receipt", Required: true, Usage: "回执文件 receipt JSON"},
			}, serverFlags()...),
			Action: func(ctx context.Context, cmd *cli.Command) error {
				path := cmd.String("receipt")
				rc, err := bidder.ReadReceipt(path)
				if err != nil {
					return err
				}
				s, err := login(ctx, cmd)
				if err != nil {
					return err
				}
				defer s.Close()
				ts, err := bidder.FetchTimeStamp(ctx, s.api, rc)
				if err != nil {
					return err
				}
				rc.TimeStamp = &ts
				if err := bidder.SaveJSON(path, rc); err != nil {
					return err
				}
				fmt.Printf("时间戳已写入回执：%s\n", path)
				return nil
			},
		}},
	}
}
