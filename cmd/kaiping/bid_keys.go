package main

import (
	"context"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/emmansun/gmsm/smx509"
	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping/identity/devpki"
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
			alg, err := keygenAlgorithm(cmd.String("alg"))
			if err != nil {
				return err
			}
			key, err := devpki.NewKey(alg)
			if err != nil {
				return fmt.Errorf("--alg %s: %w", alg, err)
			}
			b, err := devpki.KeyPEM(key)
			if err != nil {
				return err
			}
			// O_EXCL: never overwrite a key that may already have a certificate.
			f, err := os.OpenFile(cmd.String("out"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("写入私钥: %w", err)
			}
			if _, err := f.Write(b); err != nil {
				f.Close()
				return err
			}
			fmt.Printf("已生成 %s 私钥：%s\n", alg, cmd.String("out"))
			return f.Close()
		},
	}
}

// keygenAlgorithms maps the names a bidder may give --alg to the key types. The README and
// --help offer the short names (ecdsa, rsa); the long ones (ecdsa-p256, rsa-2048) are what
// devpki and earlier versions of the tool call them, so both are accepted.
var keygenAlgorithms = map[string]devpki.Algorithm{
	"sm2":        devpki.SM2,
	"ecdsa":      devpki.ECDSA,
	"ecdsa-p256": devpki.ECDSA,
	"rsa":        devpki.RSA,
	"rsa-2048":   devpki.RSA,
}

// keygenAlgorithm resolves --alg, case-insensitively, refusing any other name with the list
// of names that work rather than devpki's internal spelling.
func keygenAlgorithm(name string) (devpki.Algorithm, error) {
	if alg, ok := keygenAlgorithms[strings.ToLower(strings.TrimSpace(name))]; ok {
		return alg, nil
	}
	return "", fmt.Errorf("--alg %q 不是支持的密钥算法，可选：sm2、ecdsa（即 ecdsa-p256）、rsa（即 rsa-2048）", name)
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
			subject := pkix.Name{CommonName: cmd.String("name")}
			if org := cmd.String("org"); org != "" {
				subject.Organization = []string{org}
			}
			der, err := smx509.CreateCertificateRequest(rand.Reader, &smx509.CertificateRequest{Subject: subject}, key)
			if err != nil {
				return fmt.Errorf("生成证书申请: %w", err)
			}
			out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
			if err := os.WriteFile(cmd.String("out"), out, 0o644); err != nil {
				return err
			}
			fmt.Printf("已生成证书申请：%s（请交 CA 签发）\n", cmd.String("out"))
			return nil
		},
	}
}
