package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/internal/bench"
	"github.com/kaiping/kaiping/storage/ledger"
	"github.com/kaiping/kaiping/storage/postgres"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

var configFlag = &cli.StringFlag{
	Name: "config", Aliases: []string{"c"}, Usage: "YAML configuration file (环境变量 KAIPING_* 覆盖)",
	Sources: cli.EnvVars("KAIPING_CONFIG"),
}

func newCommand() *cli.Command {
	return &cli.Command{
		Name:    "kaiping",
		Usage:   "开评：不见面开标与远程异地评标 (no-show bid opening and remote evaluation)",
		Version: version,
		Commands: []*cli.Command{
			{Name: "serve", Usage: "run the server", Flags: []cli.Flag{configFlag}, Action: serve},
			{Name: "migrate", Usage: "apply database migrations", Flags: []cli.Flag{configFlag}, Action: migrate},
			{Name: "ledger", Usage: "audit ledger tools", Commands: []*cli.Command{{
				Name:  "verify",
				Usage: "recompute the whole audit ledger from the database and check every signature",
				Flags: []cli.Flag{configFlag, &cli.StringFlag{
					Name: "public-key", Usage: "platform public key PEM (default: derived from ledger.signing_key_file)",
				}},
				Action: ledgerVerify,
			}}},
			{Name: "version", Usage: "print the version", Action: printVersion},
			demoCommand(),
			bench.Command(),
			bidCommand(),
			rescueCommand(),
			drawCommand(),
			evaluationCommand(),
			seatCommand(),
			recordCommand(),
			inquiryCommand(),
			kekCommand(),
			agentCommand(),
		},
	}
}

func loadConfig(cmd *cli.Command) (app.Config, error) {
	return app.LoadConfig(cmd.String("config"), os.Environ())
}

func serve(ctx context.Context, cmd *cli.Command) error {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	ln, err := a.Listen()
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- a.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return a.Shutdown(shutdown)
}

func migrate(ctx context.Context, cmd *cli.Command) error {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	v, err := postgres.Migrate(ctx, cfg.Database.URL)
	if err != nil {
		return err
	}
	fmt.Printf("database schema at version %d\n", v)
	return nil
}

func ledgerVerify(ctx context.Context, cmd *cli.Command) error {
	cfg, verifier, err := loadVerifier(cmd)
	if err != nil {
		return err
	}
	report, verr := app.VerifyLedger(ctx, cfg, verifier)
	if report == nil {
		return verr
	}
	out, _ := json.MarshalIndent(report, "", "  ")
	fmt.Println(string(out))
	if verr != nil {
		var bad *ledger.EntryError
		if errors.As(verr, &bad) {
			return fmt.Errorf("审计日志校验失败 ledger verification FAILED at entry %d: %s", bad.Seq, bad.Problem)
		}
		return verr
	}
	fmt.Printf("审计日志校验通过 ledger OK: %d entries, root %s\n", report.Size, report.Root)
	return nil
}

func printVersion(context.Context, *cli.Command) error {
	fmt.Println("kaiping", version)
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Println(bi.GoVersion)
	}
	return nil
}
