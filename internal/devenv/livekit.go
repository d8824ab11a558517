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

// LiveKit is a LiveKit server we started, for the LiveKit media backend and its benchmarks.
type LiveKit struct {
	Dir       string
	URL       string // ws://127.0.0.1:port
	HTTPURL   string // http://127.0.0.1:port (Twirp API)
	APIKey    string
	APISecret string
	UDPPort   int
	TCPPort   int
	proc      *process
}

// LiveKitOption tunes the server StartLiveKit configures.
type LiveKitOption func(*liveKitOptions)

type liveKitOptions struct{ webhook string }

// LiveKitAsKaipingNeeds configures the server as a kaiping deployment runs it (see
// app.LiveKitConfig): rooms are created only through the API, a host may unmute remotely,
// and webhooks signed with the API key are posted to webhookURL.
func LiveKitAsKaipingNeeds(webhookURL string) LiveKitOption {
	return func(o *liveKitOptions) { o.webhook = webhookURL }
}

// StartLiveKit starts livekit-server under dir on free loopback ports, configured for a machine
// whose only interface may be lo (node_ip 127.0.0.1, no external IP discovery). Without
// options, joins create rooms and no webhooks are sent.
func StartLiveKit(ctx context.Context, dir string, opts ...LiveKitOption) (*LiveKit, error) {
	var o liveKitOptions
	for _, opt := range opts {
		opt(&o)
	}
	bin, err := cachedBinary(ctx, "LIVEKIT_BIN", "livekit")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ports, err := freeTCPPorts(2) // API and signaling, ICE over TCP
	if err != nil {
		return nil, err
	}
	port, tcpPort := ports[0], ports[1]
	udpPort, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	lk := &LiveKit{
		Dir:       dir,
		URL:       fmt.Sprintf("ws://127.0.0.1:%d", port),
		HTTPURL:   fmt.Sprintf("http://127.0.0.1:%d", port),
		APIKey:    "kaipingdev",
		APISecret: randomHex(24),
		UDPPort:   udpPort,
		TCPPort:   tcpPort,
	}
	config := fmt.Sprintf(`port: %d
bind_addresses: ["127.0.0.1"]
rtc:
  tcp_port: %d
  udp_port: %d
  node_ip: 127.0.0.1
  use_external_ip: false
keys:
  %s: %s
logging:
  level: warn
`, port, tcpPort, udpPort, lk.APIKey, lk.APISecret)
	if o.webhook != "" {
		config += fmt.Sprintf(`room:
  auto_create: false
  enable_remote_unmute: true
webhook:
  api_key: %s
  urls: [%q]
`, lk.APIKey, o.webhook)
	}
	configPath := filepath.Join(dir, "livekit.yaml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "livekit.log")
	if lk.proc, err = start("livekit", exec.Command(bin, "--config", configPath), logPath); err != nil {
		return nil, err
	}
	err = waitReady(ctx, lk.proc, logPath, 30*time.Second, func(ctx context.Context) error {
		return HTTPOK(ctx, lk.HTTPURL+"/")
	})
	if err != nil {
		lk.Stop()
		return nil, err
	}
	return lk, nil
}

// Pid is the server's process ID.
func (lk *LiveKit) Pid() int { return lk.proc.Pid() }

// Stop stops the server.
func (lk *LiveKit) Stop() { lk.proc.stop(syscall.SIGTERM, 10*time.Second) }
