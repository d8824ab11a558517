package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/internal/clitest"
	"github.com/kaiping/kaiping/internal/devenv"
)

func TestMain(m *testing.M) { devenv.Main(m, devenv.NeedPostgres, devenv.NeedMinIO) }

// run runs the kaiping command line in-process and returns what it printed.
func run(tb testing.TB, args ...string) (string, error) {
	tb.Helper()
	return clitest.Run(tb, newCommand(), args...)
}

// TestLedgerVerifyCommand builds a ledger through the app, verifies it with the command,
// then edits one row as an attacker with database access would and expects the command to
// fail naming that entry.
func TestLedgerVerifyCommand(t *testing.T) {
	m := devenv.MinIOServer(t)
	setup, err := app.NewDevSetup(t.TempDir(), app.DevServers{
		DatabaseURL: devenv.Database(t), BlobEndpoint: m.Endpoint, BlobAccess: m.AccessKey, BlobSecret: m.SecretKey,
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	os.Setenv("KAIPING_BLOB_BIDS_BUCKET", devenv.BucketName(t))
	os.Setenv("KAIPING_BLOB_ARCHIVE_BUCKET", devenv.BucketName(t))
	defer os.Unsetenv("KAIPING_BLOB_BIDS_BUCKET")
	defer os.Unsetenv("KAIPING_BLOB_ARCHIVE_BUCKET")
	cfg, err := app.LoadConfig(setup.ConfigPath, os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown(context.Background())

	migrations, _ := filepath.Glob("../../storage/postgres/migrations/*.sql")
	want := fmt.Sprintf("database schema at version %d\n", len(migrations))
	if out, err := run(t, "migrate", "--config", setup.ConfigPath); err != nil || out != want {
		t.Fatalf("migrate: %q, %v", out, err)
	}
	out, err := run(t, "ledger", "verify", "--config", setup.ConfigPath)
	if err != nil || !strings.Contains(out, "ledger OK: 1 entries") {
		t.Fatalf("verify of an untouched ledger: %q, %v", out, err)
	}

	ctx := context.Background()
	_, err = a.DB.Pool.Exec(ctx, `ALTER TABLE ledger_entries DISABLE TRIGGER USER;
		UPDATE ledger_entries SET operator = 'someone-else' WHERE seq = 0`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = run(t, "ledger", "verify", "--config", setup.ConfigPath)
	if err == nil || !strings.Contains(err.Error(), "FAILED at entry 0") {
		t.Fatalf("verify after editing entry 0: %v", err)
	}
}

func TestBadConfigCommand(t *testing.T) {
	path := t.TempDir() + "/kaiping.yaml"
	if err := os.WriteFile(path, []byte("listen: 127.0.0.1:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := run(t, "serve", "--config", path)
	if err == nil || !strings.Contains(err.Error(), "database.url: required") {
		t.Fatalf("serve with an incomplete config: %v", err)
	}
}

// TestDemo runs `kaiping demo --exit`, the heart of `make demo`.
func TestDemo(t *testing.T) {
	out, err := run(t, "demo", "--exit", "--listen", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{"kaiping 已就绪", "管理员以 SM2 证书登录成功", "/readyz",
		"招标项目已创建", "回执已离线校验", "重新递交", "撤回投标文件", "/evaluation/host.html?draw=", "/hall/bidder.html?tender="} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}
