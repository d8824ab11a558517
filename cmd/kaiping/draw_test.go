package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/evaluation/draw"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/internal/evaltest"
	"github.com/kaiping/kaiping/storage/ledger"
)

// runDraw runs `kaiping draw ...` in-process (through drawCommand alone, so the test does not
// depend on the command list) and returns what it printed.
func runDraw(args ...string) (string, error) {
	var out bytes.Buffer
	root := &cli.Command{Name: "kaiping", Writer: &out, Commands: []*cli.Command{drawCommand()}}
	err := root.Run(context.Background(), append([]string{"kaiping", "draw"}, args...))
	return out.String(), err
}

// TestDrawVerifyCommand draws committees through the service on the database a development
// configuration points at, verifies them with the command, then edits the records as an
// attacker with database access would.
func TestDrawVerifyCommand(t *testing.T) {
	setup, err := app.NewDevSetup(t.TempDir(), app.DevServers{
		DatabaseURL: devenv.Database(t), BlobEndpoint: "127.0.0.1:1", BlobAccess: "unused", BlobSecret: "unused-secret",
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := app.LoadConfig(setup.ConfigPath, os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(cfg.Ledger.SigningKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ledger.ParseSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	env := evaltest.New(t, cfg.Database.URL, signer, cfg.Ledger.Origin, evaluation.DefaultConfig)
	ids := mustDraws(t, env, 3)
	ctx := context.Background()

	out, err := runDraw("verify", "--config", setup.ConfigPath, string(ids[0]))
	if err != nil || !strings.Contains(out, "draw OK") || !strings.Contains(out, "1 replacements") {
		t.Fatalf("verify an untouched draw: %q, %v", out, err)
	}
	pub, err := signer.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	pubFile := t.TempDir() + "/ledger.pub"
	if err := os.WriteFile(pubFile, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runDraw("verify", "--config", setup.ConfigPath, "--public-key", pubFile, string(ids[0])); err != nil {
		t.Fatalf("verify with the public key: %v", err)
	}

	tamper := func(sql string, args ...any) {
		t.Helper()
		_, err := env.DB.Pool.Exec(ctx, `ALTER TABLE ledger_entries DISABLE TRIGGER USER`)
		if err == nil {
			_, err = env.DB.Pool.Exec(ctx, sql, args...)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// A seed revealed that is not the one committed to.
	other := sha256.Sum256([]byte("another seed"))
	tamper(`UPDATE ledger_entries SET detail = convert_to($2, 'UTF8') WHERE subject = $1 AND action = 'draw.reveal'`,
		ids[1], `{"seed":"`+hex.EncodeToString(other[:])+`"}`)
	out, err = runDraw("verify", "--config", setup.ConfigPath, string(ids[1]))
	if err == nil || !strings.Contains(err.Error(), "draw.seed_mismatch") || !strings.Contains(err.Error(), "承诺值不符") {
		t.Fatalf("verify with a forged reveal: %q, %v", out, err)
	}
	// An edit the re-run cannot see (who committed) is caught by the ledger's signatures.
	tamper(`UPDATE ledger_entries SET operator = 'someone-else' WHERE subject = $1 AND action = 'draw.commit'`, ids[2])
	if _, err := runDraw("verify", "--config", setup.ConfigPath, string(ids[2])); err == nil || !strings.Contains(err.Error(), "draw.ledger_tampered") {
		t.Fatalf("verify with a forged operator: %v", err)
	}
	// The untouched draw still verifies: its own entries are intact and proven.
	if _, err := runDraw("verify", "--config", setup.ConfigPath, string(ids[0])); err != nil {
		t.Fatalf("verify the untouched draw after others were forged: %v", err)
	}

	if _, err := runDraw("verify", "--config", setup.ConfigPath, "not-an-id"); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("bad id: %v", err)
	}
	if _, err := runDraw("verify", "--config", setup.ConfigPath, string(kaiping.NewID())); kaiping.CodeOf(err) != "draw.not_found" {
		t.Errorf("unknown draw: %v", err)
	}
}

// mustDraws draws n committees for n tenders over one pool, each with one declined expert
// replaced.
func mustDraws(tb testing.TB, env *evaltest.Env, n int) []kaiping.ID {
	tb.Helper()
	ctx := context.Background()
	host := env.Venue(tb, "410200-001", "开封市公共资源交易中心", 34.7973, 114.3076, true, 10)
	for i := range 24 {
		city := []string{"410200", "410100", "410400"}[i%3]
		env.Expert(tb, fmt.Sprintf("E%02d", i), fmt.Sprintf("专家%02d", i), fmt.Sprintf("第%d设计院", i), city, []string{"A0101", "A1001", "D01"}[i/8])
	}
	var ids []kaiping.ID
	for i := range n {
		t := env.Tender(tb, fmt.Sprintf("KF-2026-1%02d", i), fmt.Sprintf("开封市第%d中学", i+1), "甲公司", "乙公司", "丙公司")
		env.Clock.Advance(time.Hour)
		d, err := env.Service.Draw(ctx, env.Actor(env.Host), evaluation.DrawRequest{
			Tender: t.ID, CommitteeSize: 5, Quotas: []draw.Quota{{Specialty: "A01", Count: 3}, {Specialty: "A10", Count: 1}, {Specialty: "D01", Count: 1}},
			OutsideSharePercent: 40, HostVenue: host.ID, RespondMinutes: 30,
			Session: draw.Period{Start: env.Clock.Now().Add(time.Duration(24*(i+1)) * time.Hour), End: env.Clock.Now().Add(time.Duration(24*(i+1)+8) * time.Hour)},
		})
		if err != nil {
			tb.Fatal(err)
		}
		ms, err := env.Store.Members(ctx, d.ID)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := env.Service.Release(ctx, env.Actor(env.Host), d.ID, ms[0].Expert, evaluation.MemberDeclined, "电话告知有事"); err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	return ids
}
