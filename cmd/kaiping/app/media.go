package app

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping/httpapi"
	"github.com/kaiping/kaiping/signaling/embedded"
)

// newMedia starts the embedded SFU. Its UDP (and ICE-TCP) sockets are open from here on;
// Shutdown closes them.
func (a *App) newMedia(cfg Config) (*embedded.Server, error) {
	secret, err := mediaSecret(cfg)
	if err != nil {
		return nil, err
	}
	url := cfg.Media.URL
	if url == "" {
		url = strings.Replace(strings.Replace(cfg.PublicURL, "https://", "wss://", 1), "http://", "ws://", 1) + "/media/ws"
	}
	// Recordings are kept by law: a server that cannot record does not start.
	if a.Recorder, err = a.recorder(cfg, recordingSpool(cfg)); err != nil {
		return nil, fmt.Errorf("recorder (spool %s): %w", recordingSpool(cfg), err)
	}
	srv, err := embedded.New(embedded.Config{
		Secret: secret, URL: url, UDPAddr: cfg.Media.UDPAddr, TCPAddr: cfg.Media.TCPAddr,
		PublicIPs: cfg.Media.PublicIPs, Loopback: cfg.Media.Loopback,
	}, a.Recorder, a.clock, a.log)
	if err != nil {
		return nil, fmt.Errorf("media (embedded SFU) on %s: %w", cfg.Media.UDPAddr, err)
	}
	return srv, nil
}

// mediaSecret is media.secret_file's content or, without one, a key derived from the
// session secret under its own label, so a grant can never pass for a session token.
func mediaSecret(cfg Config) ([]byte, error) {
	file, label := cfg.Media.SecretFile, "kaiping/media-grant\n"
	if file == "" {
		file = cfg.Auth.SessionSecretFile
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("media secret: %w", err)
	}
	if cfg.Media.SecretFile != "" {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	sum := sha256.Sum256(append([]byte(label), strings.TrimSpace(string(b))...))
	return sum[:], nil
}

// mediaRoutes is the SFU's signaling WebSocket. It is public: the join grant in the first
// message is what authorizes (signaling/PROTOCOL.md).
func (a *App) mediaRoutes() []httpapi.Route {
	return []httpapi.Route{{Method: fiber.MethodGet, Path: "/media/ws", Public: true, Handler: a.Media.FiberHandler()}}
}
