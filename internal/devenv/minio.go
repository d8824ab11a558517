package devenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
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
	port, err := freeTCPPort()
	if err != nil {
		return nil, err
	}
	consolePort, err := freeTCPPort()
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 20)
	_, _ = rand.Read(secret)
	m := &MinIO{
		Dir:       dir,
		Endpoint:  fmt.Sprintf("127.0.0.1:%d", port),
		AccessKey: "kaiping-dev",
		SecretKey: hex.EncodeToString(secret),
	}
	cmd := exec.Command(bin, "server", "--quiet",
		"--address", m.Endpoint,
		"--console-address", fmt.Sprintf("127.0.0.1:%d", consolePort),
		filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+m.AccessKey,
		"MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CI_CD=1",
	)
	logPath := filepath.Join(dir, "minio.log")
	if m.proc, err = start("minio", cmd, logPath); err != nil {
		return nil, err
	}
	err = waitReady(ctx, m.proc, logPath, 60*time.Second, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+m.Endpoint+"/minio/health/ready", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("health: %s", resp.Status)
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
		return nil, err
	}
	return m, nil
}

// Pid is the server's process ID.
func (m *MinIO) Pid() int { return m.proc.Pid() }

// Stop stops the server.
func (m *MinIO) Stop() { m.proc.stop(syscall.SIGTERM, 10*time.Second) }
