// Package devenv starts the real servers Kaiping depends on (PostgreSQL, MinIO, LiveKit) as
// plain processes on loopback, on free ports, under a temporary folder, without Docker. Tests
// use it from TestMain; deploy/dev scripts and `make demo` use it through cmd/devenv.
package devenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is a server we started and must stop.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit status, valid after done is closed
}

// start runs cmd in its own process group (so a terminal's Ctrl-C reaches it only through us,
// and `devenv up` can leave it running), with output appended to logPath.
func start(name string, cmd *exec.Cmd, logPath string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("devenv: %s log: %w", name, err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("devenv: start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process ID, for `devenv up` to write down.
func (p *process) Pid() int { return p.cmd.Process.Pid }

// stop asks the process group to terminate with sig, then kills it after grace.
func (p *process) stop(sig syscall.Signal, grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// exited reports an error if the process has already ended.
func (p *process) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("devenv: %s exited: %v", p.name, p.err)
	default:
		return nil
	}
}

// waitReady polls ready until it succeeds, the process exits, or timeout passes. On failure
// the tail of the log is included, since that is where the reason is.
func waitReady(ctx context.Context, p *process, logPath string, timeout time.Duration, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if err := p.exited(); err != nil {
			return fmt.Errorf("%w\n%s", err, tail(logPath, 2000))
		}
		if last = ready(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devenv: %s not ready after %s: %v\n%s", p.name, timeout, last, tail(logPath, 2000))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// freeTCPPorts returns n distinct free loopback TCP ports (all held open until all are found,
// so none is handed out twice).
func freeTCPPorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// randomHex returns n random bytes in hex, for generated passwords.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("devenv: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// HTTPOK checks that GET url answers 200: whether a server started on loopback is up.
func HTTPOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// freeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// serviceUser returns the credentials a server must run under: PostgreSQL refuses to run as
// root, so as root we run it as the postgres user; otherwise as ourselves (nil).
func serviceUser(name string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("devenv: running as root needs the %q user (apt-get install -y postgresql creates it): %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// chownTree gives dir and everything under it to cred (no-op when cred is nil).
func chownTree(dir string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	return filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(cred.Uid), int(cred.Gid))
	})
}

// repoRoot finds the repository root (the folder holding go.mod) from the working directory,
// which go test sets to the package folder.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("devenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// cachedBinary returns the path of a server binary: from the environment variable env when
// set, otherwise from deploy/dev/servers.sh, which builds it into the per-machine cache the
// first time (minutes) and answers at once afterwards.
func cachedBinary(ctx context.Context, env, which string) (string, error) {
	if p := os.Getenv(env); p != "" {
		return p, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "deploy/dev/servers.sh"), which)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("devenv: deploy/dev/servers.sh %s: %w", which, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && k == env {
			return v, nil
		}
	}
	return "", fmt.Errorf("devenv: deploy/dev/servers.sh %s printed no %s", which, env)
}

// MkdirTemp makes a new temporary folder that other users can traverse (0755): as root,
// PostgreSQL runs as the postgres user and must reach its data folder inside.
func MkdirTemp(pattern string) (string, error) {
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", err
	}
	return dir, os.Chmod(dir, 0o755)
}
