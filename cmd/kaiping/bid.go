package main

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"net/http"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/opening"
)

// bidCommand is `kaiping bid ...`, the bidder's tool: keys, sealing, submission with
// receipts, status, withdrawal and offline receipt checks. The bid's plaintext never leaves
// the bidder's machine: seal runs locally, and only the sealed file is uploaded.
func bidCommand() *cli.Command {
	return &cli.Command{
		Name:  "bid",
		Usage: "投标人工具：生成密钥、加密、递交、查询、撤回、校验回执 (the bidder's tool)",
		Commands: []*cli.Command{
			bidKeygenCommand(),
			bidCSRCommand(),
			bidRegisterCommand(),
			bidSealCommand(),
			bidSubmitCommand(),
			bidStatusCommand(),
			bidWithdrawCommand(),
			bidReceiptCommand(),
			bidUnlockCommand(),
		},
	}
}

// Flags every command that talks to the server takes.
var (
	serverFlag  = &cli.StringFlag{Name: "server", Usage: "平台地址 platform URL", Required: true, Sources: cli.EnvVars("KAIPING_SERVER")}
	certFlag    = &cli.StringFlag{Name: "cert", Usage: "登录证书（PEM，可含证书链） certificate chain PEM", Required: true, Sources: cli.EnvVars("KAIPING_CERT")}
	keyFlag     = &cli.StringFlag{Name: "key", Usage: "私钥文件（PKCS#8 PEM） private key PEM", Sources: cli.EnvVars("KAIPING_KEY")}
	tenderFlag  = &cli.StringFlag{Name: "tender", Usage: "招标项目 ID tender ID", Required: true}
	sectionFlag = &cli.StringFlag{Name: "section", Usage: "标段编号或 ID section code or ID", Required: true}
)

// Flags for a key on a PKCS#11 token (UKEY) instead of a key file.
var (
	pkcs11Flag = &cli.StringFlag{Name: "pkcs11", Sources: cli.EnvVars("KAIPING_PKCS11"),
		Usage: "UKEY 中的私钥（PKCS#11 URI，如 token=CFCA;object=sign） key on a PKCS#11 token, RFC 7512 URI"}
	pkcs11ModuleFlag = &cli.StringFlag{Name: "pkcs11-module", Sources: cli.EnvVars("KAIPING_PKCS11_MODULE"),
		Usage: "UKEY 驱动（PKCS#11 库路径） the token vendor's PKCS#11 library"}
	pkcs11PINFileFlag = &cli.StringFlag{Name: "pkcs11-pin-file", Sources: cli.EnvVars("KAIPING_PKCS11_PIN_FILE"),
		Usage: "保存 UKEY 口令的文件 file holding the token PIN"}
)

func keyFlags() []cli.Flag {
	return []cli.Flag{keyFlag, pkcs11Flag, pkcs11ModuleFlag, pkcs11PINFileFlag}
}

func serverFlags() []cli.Flag { return append([]cli.Flag{serverFlag, certFlag}, keyFlags()...) }

// bidder is a logged-in bidder session for one command.
type bidderSession struct {
	api      *apiclient.Client
	me       kaiping.Principal
	cert     []byte
	key      crypto.Signer
	closeKey func()
}

// Close releases the key (logs out of the token).
func (s *bidderSession) Close() { s.closeKey() }

// login reads the bidder's certificate and key and logs in to the server.
func login(ctx context.Context, cmd *cli.Command) (*bidderSession, error) {
	chain, err := os.ReadFile(cmd.String("cert"))
	if err != nil {
		return nil, fmt.Errorf("读取证书 --cert: %w", err)
	}
	key, closeKey, err := loadKey(cmd)
	if err != nil {
		return nil, err
	}
	s := &bidderSession{api: apiclient.New(cmd.String("server")), cert: chain, key: key, closeKey: closeKey}
	if _, err := s.api.Login(ctx, chain, key); err != nil {
		s.Close()
		return nil, fmt.Errorf("登录失败 login: %w", err)
	}
	if err := s.api.Do(ctx, http.MethodGet, "/api/v1/me", nil, &s.me); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// loadKey opens the private key the command names (see bidder.OpenKey).
func loadKey(cmd *cli.Command) (crypto.Signer, func(), error) {
	return bidder.OpenKey(bidder.KeySource{
		PKCS11: cmd.String("pkcs11"), PKCS11Module: cmd.String("pkcs11-module"),
		PKCS11PINFile: cmd.String("pkcs11-pin-file"), KeyFile: cmd.String("key"),
	})
}

// tender fetches the tender and resolves the section named on the command line.
func (s *bidderSession) tender(ctx context.Context, cmd *cli.Command) (opening.Tender, opening.Section, error) {
	var t opening.Tender
	if err := s.api.Do(ctx, http.MethodGet, "/api/v1/tenders/"+cmd.String("tender"), nil, &t); err != nil {
		return t, opening.Section{}, err
	}
	sec, err := t.Section(cmd.String("section"))
	return t, sec, err
}

// printJSON writes v indented to stdout.
func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
