package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/storage/postgres"
)

// TestEvaluationVerifyRefusals runs `kaiping evaluation verify` on what it must refuse before
// any check: an argument that is not an ID, and a session the database does not hold. Neither
// may print a report. A session that verifies is app's TestVerifyEvaluation.
func TestEvaluationVerifyRefusals(t *testing.T) {
	url := devenv.Database(t)
	if _, err := postgres.Migrate(context.Background(), url); err != nil {
		t.Fatal(err)
	}
	setup, err := app.NewDevSetup(t.TempDir(), app.DevServers{
		DatabaseURL: url, BlobEndpoint: "127.0.0.1:1", BlobAccess: "unused", BlobSecret: "unused-secret",
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		root := &cli.Command{Name: "kaiping", Writer: &out, Commands: []*cli.Command{evaluationCommand()}}
		err := root.Run(context.Background(), append([]string{"kaiping", "evaluation", "verify", "--config", setup.ConfigPath}, args...))
		return out.String(), err
	}
	if out, err := run("not-an-id"); err == nil || !strings.Contains(err.Error(), "usage") || out != "" {
		t.Errorf("bad id: %q, %v", out, err)
	}
	if out, err := run(string(kaiping.NewID()), string(kaiping.NewID())); err == nil || !strings.Contains(err.Error(), "usage") || out != "" {
		t.Errorf("two ids: %q, %v", out, err)
	}
	if out, err := run(string(kaiping.NewID())); kaiping.CodeOf(err) != "session.not_found" || out != "" {
		t.Errorf("unknown session: %q, %v", out, err)
	}
}
