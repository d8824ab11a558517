package devenv

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// StopImmediate stops the server in immediate mode (pg_ctl stop -m immediate: every process
// quits at once, nothing is checkpointed, and the next start runs crash recovery), as when
// the database host loses power or the server process is killed.
func (p *Postgres) StopImmediate(ctx context.Context) error {
	bin, err := pgBinDir()
	if err != nil {
		return err
	}
	cred, err := serviceUser("postgres")
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "pg_ctl"), "stop", "-D", p.DataDir(), "-m", "immediate", "-w")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("devenv: pg_ctl stop -m immediate: %w\n%s", err, out)
	}
	select {
	case <-p.proc.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Restart starts the stopped server again on the same port and data folder, with settings
// ("name=value") added to those it started with: a later setting wins. A test that stops
// the server in immediate mode restarts it with synchronous_commit=on, so that what the
// server acknowledged is on disk as in production (the test servers trade that for speed).
func (p *Postgres) Restart(ctx context.Context, settings ...string) error {
	if err := p.proc.exited(); err == nil {
		return fmt.Errorf("devenv: postgres on port %d is still running", p.Port)
	}
	old := p.proc.cmd
	args := append([]string(nil), old.Args[1:]...)
	for _, s := range settings {
		args = append(args, "-c", s)
	}
	cmd := exec.Command(old.Path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: old.SysProcAttr.Credential}
	logPath := filepath.Join(p.Dir, "postgres.log")
	proc, err := start("postgres", cmd, logPath)
	if err != nil {
		return err
	}
	p.proc = proc
	return waitReady(ctx, proc, logPath, 30*time.Second, func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, p.URL("postgres"))
		if err != nil {
			return err
		}
		return conn.Close(ctx)
	})
}
