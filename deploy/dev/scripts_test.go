// Package dev holds the development scripts; this test runs them as a developer would.
package dev

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping/internal/devenv"
)

// TestUpDown starts PostgreSQL, MinIO and LiveKit with up.sh, checks each answers on the
// address it printed, stops them with down.sh and checks the folder is gone.
func TestUpDown(t *testing.T) {
	parent, err := devenv.MkdirTemp("kaiping-updown-*") // traversable by the postgres user
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(parent)
	dir := filepath.Join(parent, "dev")
	var stderr strings.Builder
	up := exec.Command("bash", "up.sh", dir)
	up.Stderr = &stderr
	out, err := up.Output()
	if err != nil {
		t.Fatalf("up.sh: %v\n%s\n%s", err, out, stderr.String())
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = exec.Command("bash", "down.sh", dir).Run()
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, env["KAIPING_DATABASE_URL"])
	if err != nil {
		t.Fatalf("PostgreSQL at %q: %v", env["KAIPING_DATABASE_URL"], err)
	}
	var version string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil || !strings.HasPrefix(version, "15") {
		t.Errorf("server_version = %q, %v; want PostgreSQL 15", version, err)
	}
	conn.Close(ctx)
	for name, url := range map[string]string{
		"MinIO":   "http://" + env["KAIPING_BLOB_ENDPOINT"] + "/minio/health/live",
		"LiveKit": strings.Replace(env["KAIPING_LIVEKIT_URL"], "ws://", "http://", 1) + "/",
	} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("%s at %s: %v", name, url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s at %s: %s", name, url, resp.Status)
		}
	}

	if out, err := exec.Command("bash", "down.sh", dir).CombinedOutput(); err != nil {
		t.Fatalf("down.sh: %v\n%s", err, out)
	}
	stopped = true
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after down.sh", dir)
	}
	if _, err := http.Get("http://" + env["KAIPING_BLOB_ENDPOINT"] + "/minio/health/live"); err == nil {
		t.Error("MinIO still answers after down.sh")
	}
}
