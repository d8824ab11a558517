package devenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a PostgreSQL server we started.
type Postgres struct {
	Dir  string // holds data/, the socket and postgres.log
	Port int
	proc *process
}

// pgBinDir finds Debian's PostgreSQL server binaries (initdb is not on PATH there).
func pgBinDir() (string, error) {
	if p := os.Getenv("KAIPING_PG_BINDIR"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return "", fmt.Errorf("devenv: initdb not found: install PostgreSQL (apt-get install -y postgresql) or set KAIPING_PG_BINDIR")
	}
	sort.Strings(matches) // the newest major version sorts last for 1x versions
	return filepath.Dir(matches[len(matches)-1]), nil
}

// StartPostgres initialises a cluster under dir and starts it on a free loopback port. The
// cluster trusts local connections and has durability off: it is for tests and demos only.
func StartPostgres(ctx context.Context, dir string) (*Postgres, error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := serviceUser("postgres")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := chownTree(dir, cred); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data") // DataDir
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("devenv: initdb: %w\n%s", err, out)
	}
	ports, err := freeTCPPorts(1)
	if err != nil {
		return nil, err
	}
	port := ports[0]
	logPath := filepath.Join(dir, "postgres.log")
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(port),
		"-c", "unix_socket_directories="+dir,
		"-c", "max_connections=300",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	proc, err := start("postgres", cmd, logPath)
	if err != nil {
		return nil, err
	}
	pg := &Postgres{Dir: dir, Port: port, proc: proc}
	err = waitReady(ctx, proc, logPath, 30*time.Second, func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, pg.URL("postgres"))
		if err != nil {
			return err
		}
		return conn.Close(ctx)
	})
	if err != nil {
		pg.Stop()
		return nil, err
	}
	return pg, nil
}

// URL is the connection string for database db as the superuser.
func (p *Postgres) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port, db)
}

// DataDir is the cluster's data directory (base/ holds the tables' files, pg_wal/ the
// write-ahead log), for tests that read what the server wrote to disk.
func (p *Postgres) DataDir() string { return filepath.Join(p.Dir, "data") }

// Pid is the postmaster's process ID.
func (p *Postgres) Pid() int { return p.proc.Pid() }

// Stop shuts the server down (fast shutdown, then kill).
func (p *Postgres) Stop() { p.proc.stop(syscall.SIGINT, 10*time.Second) }

// CreateDatabase creates an empty database named name.
func (p *Postgres) CreateDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

// DropDatabase drops database name, disconnecting whoever is still connected.
func (p *Postgres) DropDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}
