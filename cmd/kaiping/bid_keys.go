package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping/clients/bidder"
)

func bidKeygenCommand() *cli.Command {
	return &cli.Command{
		Name:  "keygen",
		Usage: "生成私钥（sm2、ecdsa 即 P-256、rsa 即 RSA-2048） generate a private key",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "alg", Value: "sm2", Usage: "sm2 | ecdsa（ecdsa-p256） | rsa（rsa-2048）"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "私钥文件（权限 0600） key file to write"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			alg, err := bidder.GenerateKeyFile(cmd.String("alg"), cmd.String("out"))
			if err != nil {
				return err
			}
			fmt.Printf("已生成 %s 私钥：%s\n", alg, cmd.String("out"))
			return nil
		},
	}
}

func bidCSRCommand() *cli.Command {
	return &cli.Command{
		Name:  "csr",
		Usage: "生成证书申请（交 CA 签发） write a certificate signing request for the CA",
		Flags: append(keyFlags(),
			&cli.StringFlag{Name: "name", Required: true, Usage: "单位名称（证书 CN） subject common name"},
			&cli.StringFlag{Name: "org", Usage: "组织 organization"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "证书申请文件 CSR file to write"},
		),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			key, closeKey, err := loadKey(cmd)
			if err != nil {
				return err
			}
			defer closeKey()
			if err := bidder.WriteCSR(key, cmd.String("name"), cmd.String("org"), cmd.String("out")); err != nil {
				return err
			}
			fmt.Printf("已生成证书申请：%s（请交 CA 签发）\n", cmd.String("out"))
			return nil
		},
	}
}
