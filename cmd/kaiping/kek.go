package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/storage/kek"
	"github.com/kaiping/kaiping/storage/ledger"
	"github.com/kaiping/kaiping/storage/postgres"
)

// kekCommand is `kaiping kek ...`: the key-encryption keys of the file keys kept after the
// opening. The work is done by opening.FileKeys and storage/kek; these only wire them.
func kekCommand() *cli.Command {
	return &cli.Command{Name: "kek", Usage: "key-encryption keys of stored file keys (密钥加密密钥)", Commands: []*cli.Command{
		{
			Name:  "keygen",
			Usage: "write a new random KEK file (mode 0600; its name without extension is the KEK's ID)",
			Flags: []cli.Flag{&cli.StringFlag{Name: "out", Required: true, Usage: "file to write, e.g. /run/secrets/kek-2027.key"}},
			Action: func(_ context.Context, cmd *cli.Command) error {
				if err := kek.GenerateKeyFile(cmd.String("out")); err != nil {
					return err
				}
				fmt.Printf("wrote %s: list it first in kek.key_files, keep the old ones, then run kaiping kek rotate\n", cmd.String("out"))
				return nil
			},
		},
		{
			Name:   "rotate",
			Usage:  "re-wrap every stored file key under the first configured KEK (ledgered); then the others can be removed",
			Flags:  []cli.Flag{configFlag},
			Action: kekRotate,
		},
		{
			Name:  "shred",
			Usage: "destroy every file key of the tenders whose archive period ended (ledgered; cannot be undone)",
			Flags: []cli.Flag{configFlag, &cli.StringFlag{
				Name: "before", Usage: "destroy the keys of tenders with a deadline before this date (YYYY-MM-DD; default: blob.archive_retention_years ago)",
			}},
			Action: kekShred,
		},
	}}
}

// withFileKeys opens the database, the ledger and the KEKs of the configuration and runs f.
func withFileKeys(ctx context.Context, cmd *cli.Command, f func(cfg app.Config, keys *opening.FileKeys) error) error {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	keyring, closeKEK, err := cfg.OpenKEK()
	if err != nil {
		return err
	}
	defer closeKEK()
	signer, err := app.LoadSigner(cfg)
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.Database.URL, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	store := postgres.NewOpeningStore(db, ledger.New(signer, cfg.Ledger.Origin))
	return f(cfg, opening.NewFileKeys(store, keyring, kaiping.SystemClock{}))
}

func kekRotate(ctx context.Context, cmd *cli.Command) error {
	return withFileKeys(ctx, cmd, func(_ app.Config, keys *opening.FileKeys) error {
		r, err := keys.Rotate(ctx)
		out, _ := json.Marshal(r)
		fmt.Println(string(out))
		if err != nil {
			return err
		}
		fmt.Printf("every stored file key is wrapped by %s: the other KEKs can be removed from kek.key_files\n", r.KEK)
		return nil
	})
}

func kekShred(ctx context.Context, cmd *cli.Command) error {
	return withFileKeys(ctx, cmd, func(cfg app.Config, keys *opening.FileKeys) error {
		years := cfg.Blob.ArchiveRetentionYears
		before := opening.ArchiveEnd(time.Now(), years)
		if s := cmd.String("before"); s != "" {
			d, err := time.ParseInLocation(time.DateOnly, s, time.Local)
			if err != nil {
				return fmt.Errorf("--before %q: want YYYY-MM-DD", s)
			}
			before = d
		}
		r, err := keys.ShredArchived(ctx, before, years)
		if err != nil {
			return err
		}
		out, _ := json.Marshal(r)
		fmt.Println(string(out))
		return nil
	})
}
