package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/storage/ledger"
)

// verifyByID is the shared body of the `kaiping <thing> verify <id>` commands, so every one
// loads the platform key, prints its report and words its verdict alike. check recomputes the
// thing from the ledger; a nil report means nothing could be checked and its error is returned
// alone. Otherwise the report is printed as JSON, then a mismatch is returned prefixed with
// failed and its code, or ok's line is printed.
func verifyByID[R any](ctx context.Context, cmd *cli.Command, usage, failed string,
	check func(context.Context, app.Config, ledger.Verifier, kaiping.ID) (*R, error), ok func(kaiping.ID, *R) string) error {
	id := kaiping.ID(cmd.Args().First())
	if !id.Valid() || cmd.Args().Len() != 1 {
		return errors.New("用法 usage: " + usage)
	}
	cfg, verifier, err := loadVerifier(cmd)
	if err != nil {
		return err
	}
	report, verr := check(ctx, cfg, verifier, id)
	if report == nil {
		return verr
	}
	out, _ := json.MarshalIndent(report, "", "  ")
	w := cmd.Root().Writer
	fmt.Fprintln(w, string(out))
	if verr != nil {
		return fmt.Errorf("%s (%s): %w", failed, kaiping.CodeOf(verr), verr)
	}
	fmt.Fprintln(w, ok(id, report))
	return nil
}

// loadVerifier loads the configuration and the platform's public key a verify command checks
// ledger signatures with: --public-key, or the key derived from ledger.signing_key_file.
func loadVerifier(cmd *cli.Command) (app.Config, ledger.Verifier, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return app.Config{}, nil, err
	}
	verifier, err := app.LoadVerifier(cfg, cmd.String("public-key"))
	if err != nil {
		return app.Config{}, nil, err
	}
	return cfg, verifier, nil
}
