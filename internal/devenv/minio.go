package devenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// MinIO is a MinIO server we started, the reference S3 server for object storage.
type MinIO struct {
	Dir       string
	Endpoint  string // host:port, plain HTTP
	AccessKey string
	SecretKey string
	proc      *process
	bin       string
	console   string // the console's address, kept for Restart
}

// StartMinIO starts a single-drive MinIO server under dir on a free loopback port, with fresh
// random root credentials. Single-drive MinIO supports Object Lock.
func StartMinIO(ctx context.Context, dir string) (*MinIO, error) {
	bin, err := cachedBinary(ctx, "MINIO_BIN", "minio")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	ports, err := freeTCPPorts(2) // S3 API, console
	if err != nil {
		return nil, err
	}
	m := &MinIO{
		Dir:       dir,
		Endpoint:  fmt.Sprintf("127.0.0.1:%d", ports[0]),
		AccessKey: "kaiping-dev",
		SecretKey: randomHex(20),
		bin:       bin,
		console:   fmt.Sprintf("127.0.0.1:%d", ports[1]),
	}
	if err := m.start(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// Restart stops the server (if it runs) and starts it again on the same address, drive and
// credentials, as storage comes back after an outage.
func (m *MinIO) Restart(ctx context.Context) error {
	m.Stop()
	return m.start(ctx)
}

func (m *MinIO) start(ctx context.Context) error {
	cmd := exec.Command(m.bin, "server", "--quiet",
		"--address", m.Endpoint,
		"--console-address", m.console,
		filepath.Join(m.Dir, "data"))
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+m.AccessKey,
		"MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CI_CD=1",
	)
	logPath := filepath.Join(m.Dir, "minio.log")
	var err error
	if m.proc, err = start("minio", cmd, logPath); err != nil {
		return err
	}
	err = waitReady(ctx, m.proc, logPath, 60*time.Second, func(ctx context.Context) error {
		if err := HTTPOK(ctx, "http://"+m.Endpoint+"/minio/health/ready"); err != nil {
			return err
		}
		// The health endpoint answers a moment before the S3 API does ("Server not
		// initialized yet"); ready means an S3 call succeeds.
		c, err := m.Client()
		if err != nil {
			return err
		}
		_, err = c.ListBuckets(ctx)
		return err
	})
	if err != nil {
		m.Stop()
		return err
	}
	return nil
}

// DataDir is the drive MinIO stores objects on (one folder per bucket, and .minio.sys for
// its own metadata, multipart uploads and temporary files), for tests that read its files.
func (m *MinIO) DataDir() string { return filepath.Join(m.Dir, "data") }

// Pid is the server's process ID.
func (m *MinIO) Pid() int { return m.proc.Pid() }

// Stop stops the server.
func (m *MinIO) Stop() { m.proc.stop(syscall.SIGTERM, 10*time.Second) }
