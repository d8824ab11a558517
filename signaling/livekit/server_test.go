package livekit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
	"github.com/kaiping/kaiping/signaling"
)

// The LiveKit server the package's tests share. devenv.StartLiveKit configures no webhooks
// and lets joins create rooms, so the tests start the server themselves with a configuration
// that sends webhooks to a fiber app of the test binary (see lkServer).
var shared *lkServer

const testKey = "kaipingtest"

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "kaiping-livekit-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if shared, err = startLiveKit(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer shared.stop()
	return m.Run()
}

// lkServer is a livekit-server process plus the webhook receiver it posts to.
type lkServer struct {
	url, secret string
	cmd         *exec.Cmd
	exited      chan struct{}
	app         *fiber.App
	log         string

	mu      sync.Mutex
	clients map[*Client]struct{} // the clients webhooks are delivered to
}

func startLiveKit(ctx context.Context, dir string) (*lkServer, error) {
	bin, err := liveKitBinary(ctx)
	if err != nil {
		return nil, err
	}
	tcp, err := freePorts("tcp", 3) // API and signaling, ICE over TCP, webhooks
	if err != nil {
		return nil, err
	}
	udp, err := freePorts("udp", 1)
	if err != nil {
		return nil, err
	}
	s := &lkServer{
		url: fmt.Sprintf("ws://127.0.0.1:%d", tcp[0]), secret: "test-secret-of-at-least-32-characters-0123",
		clients: map[*Client]struct{}{}, exited: make(chan struct{}), log: filepath.Join(dir, "livekit.log"),
	}
	// Webhooks reach every Client a test made; each test uses rooms of its own.
	s.app = fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: httpapi.ErrorHandler(testLog())})
	s.app.Post("/webhook", func(c *fiber.Ctx) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		for cl := range s.clients {
			if err := cl.HandleWebhook(c.Get(fiber.HeaderAuthorization), c.Body()); err != nil {
				return err
			}
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", tcp[2]))
	if err != nil {
		return nil, err
	}
	go func() { _ = s.app.Listener(ln) }()
	config := fmt.Sprintf(`port: %d
bind_addresses: ["127.0.0.1"]
rtc:
  tcp_port: %d
  udp_port: %d
  node_ip: 127.0.0.1
  use_external_ip: false
keys:
  %s: %s
room:
  auto_create: false
  enable_remote_unmute: true
webhook:
  api_key: %s
  urls: ["http://127.0.0.1:%d/webhook"]
logging:
  level: warn
`, tcp[0], tcp[1], udp[0], testKey, s.secret, testKey, tcp[2])
	path := filepath.Join(dir, "livekit.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		return nil, err
	}
	logf, err := os.Create(s.log)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, "--config", path)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = s.cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(strings.Replace(s.url, "ws:", "http:", 1) + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("livekit-server exited: %s", tail(s.log))
		default:
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("livekit-server not ready: %v: %s", err, tail(s.log))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *lkServer) stop() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
	_ = s.app.ShutdownWithTimeout(5 * time.Second)
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// liveKitBinary is LIVEKIT_BIN, or the binary deploy/dev/servers.sh builds and caches.
func liveKitBinary(ctx context.Context) (string, error) {
	if p := os.Getenv("LIVEKIT_BIN"); p != "" {
		return p, nil
	}
	out, err := exec.CommandContext(ctx, "bash", "../../deploy/dev/servers.sh", "livekit").Output()
	if err != nil {
		return "", fmt.Errorf("deploy/dev/servers.sh livekit: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "LIVEKIT_BIN="); ok {
			return v, nil
		}
	}
	return "", errors.New("deploy/dev/servers.sh printed no LIVEKIT_BIN")
}

// freePorts returns n loopback ports of network that were free a moment ago.
func freePorts(network string, n int) ([]int, error) {
	var ports []int
	for range n {
		var port int
		if network == "udp" {
			c, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				return nil, err
			}
			defer c.Close()
			port = c.LocalAddr().(*net.UDPAddr).Port
		} else {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return nil, err
			}
			defer l.Close()
			port = l.Addr().(*net.TCPAddr).Port
		}
		ports = append(ports, port)
	}
	return ports, nil
}

// testLog is quiet unless KAIPING_TEST_LOG is set.
func testLog() *slog.Logger {
	if os.Getenv("KAIPING_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// mustClient returns a backend for the shared server that receives its webhooks, closed when
// the test ends.
func mustClient(tb testing.TB, clock kaiping.Clock, rec ...signaling.Recorder) *Client {
	tb.Helper()
	var r signaling.Recorder
	if len(rec) > 0 {
		r = rec[0]
	}
	c, err := New(Config{URL: shared.url, APIKey: testKey, APISecret: shared.secret, EnforceInterval: 500 * time.Millisecond},
		r, clock, testLog())
	if err != nil {
		tb.Fatal(err)
	}
	shared.mu.Lock()
	shared.clients[c] = struct{}{}
	shared.mu.Unlock()
	tb.Cleanup(func() {
		shared.mu.Lock()
		delete(shared.clients, c)
		shared.mu.Unlock()
		_ = c.Close()
	})
	return c
}
