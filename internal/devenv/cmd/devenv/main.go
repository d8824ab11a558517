// Command devenv starts and stops the development servers (PostgreSQL, MinIO, LiveKit) as
// plain processes on loopback; deploy/dev/up.sh and down.sh call it.
//
//	devenv up DIR     start all three under DIR, write DIR/env, print the settings
//	devenv down DIR   stop what DIR/env names and remove DIR
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kaiping/kaiping/internal/devenv"
)

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "up" && os.Args[1] != "down") {
		fmt.Fprintln(os.Stderr, "usage: devenv up|down DIR")
		os.Exit(2)
	}
	dir, err := filepath.Abs(os.Args[2])
	if err == nil {
		if os.Args[1] == "up" {
			err = up(dir)
		} else {
			err = down(dir)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "devenv:", err)
		os.Exit(1)
	}
}

func up(dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	var pids []int
	fail := func(err error) error {
		for _, pid := range pids {
			_ = syscall.Kill(-pid, syscall.SIGTERM)
		}
		return err
	}
	pg, err := devenv.StartPostgres(ctx, filepath.Join(dir, "pg"))
	if err != nil {
		return fail(err)
	}
	pids = append(pids, pg.Pid())
	if err := pg.CreateDatabase(ctx, "kaiping"); err != nil {
		return fail(err)
	}
	m, err := devenv.StartMinIO(ctx, filepath.Join(dir, "minio"))
	if err != nil {
		return fail(err)
	}
	pids = append(pids, m.Pid())
	lk, err := devenv.StartLiveKit(ctx, filepath.Join(dir, "livekit"))
	if err != nil {
		return fail(err)
	}
	pids = append(pids, lk.Pid())

	settings := [][2]string{
		{"KAIPING_DATABASE_URL", pg.URL("kaiping")},
		{"KAIPING_BLOB_ENDPOINT", m.Endpoint},
		{"KAIPING_BLOB_ACCESS_KEY", m.AccessKey},
		{"KAIPING_BLOB_SECRET_KEY", m.SecretKey},
		{"KAIPING_LIVEKIT_URL", lk.URL},
		{"KAIPING_LIVEKIT_API_KEY", lk.APIKey},
		{"KAIPING_LIVEKIT_API_SECRET", lk.APISecret},
		{"DEVENV_PIDS", strings.Trim(fmt.Sprint(pids), "[]")},
	}
	var b strings.Builder
	for _, kv := range settings {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	if err := os.WriteFile(filepath.Join(dir, "env"), []byte(b.String()), 0o600); err != nil {
		return fail(err)
	}
	fmt.Print(b.String())
	return nil
}

func down(dir string) error {
	f, err := os.Open(filepath.Join(dir, "env"))
	if err != nil {
		return fmt.Errorf("%s/env: %w (nothing started there?)", dir, err)
	}
	var pids []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "DEVENV_PIDS="); ok {
			for _, s := range strings.Fields(v) {
				if pid, err := strconv.Atoi(s); err == nil {
					pids = append(pids, pid)
				}
			}
		}
	}
	f.Close()
	for _, pid := range pids {
		_ = syscall.Kill(-pid, syscall.SIGTERM)
	}
	// Wait for the servers to exit before removing their folders.
	deadline := time.Now().Add(15 * time.Second)
	for _, pid := range pids {
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	return os.RemoveAll(dir)
}
