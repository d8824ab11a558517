package app

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping/httpapi"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/embedded"
	"github.com/kaiping/kaiping/signaling/livekit"
)

// MediaBackend is the media plane the app runs: the domains' signaling.Media, and Close
// for shutdown.
type MediaBackend interface {
	signaling.Media
	// Close disconnects every participant this process serves (embedded) or stops the
	// recordings this process started (LiveKit).
	Close() error
}

// newMedia starts the configured media backend and the recorder both backends record with.
// The embedded SFU's UDP (and ICE-TCP) sockets are open from here on; Shutdown closes them.
func (a *App) newMedia(cfg Config) (MediaBackend, error) {
	var err error
	// Recordings are kept by law: a server that cannot record does not start.
	if a.Recorder, err = a.recorder(cfg, recordingSpool(cfg)); err != nil {
		return nil, fmt.Errorf("recorder (spool %s): %w", recordingSpool(cfg), err)
	}
	if cfg.Media.Backend == MediaLiveKit {
		return a.newLiveKit(cfg.Media.LiveKit)
	}
	secret, err := mediaSecret(cfg)
	if err != nil {
		return nil, err
	}
	url := cfg.Media.URL
	if url == "" {
		url = strings.Replace(strings.Replace(cfg.PublicURL, "https://", "wss://", 1), "http://", "ws://", 1) + "/media/ws"
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

// newLiveKit connects the LiveKit backend; its webhooks arrive at /media/livekit/webhook.
func (a *App) newLiveKit(cfg LiveKitConfig) (MediaBackend, error) {
	secret, err := os.ReadFile(cfg.APISecretFile)
	if err != nil {
		return nil, fmt.Errorf("media.livekit.api_secret_file: %w", err)
	}
	c, err := livekit.New(livekit.Config{URL: cfg.URL, APIURL: cfg.APIURL, APIKey: cfg.APIKey,
		APISecret: strings.TrimSpace(string(secret))}, a.Recorder, a.clock, a.log)
	if err != nil {
		return nil, fmt.Errorf("media (LiveKit at %s): %w", cfg.URL, err)
	}
	return c, nil
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

// LiveKitWebhookPath is where a LiveKit server posts its webhooks (its webhook.urls).
const LiveKitWebhookPath = "/media/livekit/webhook"

// mediaRoutes are the backend's public routes: the embedded SFU's signaling WebSocket (the
// join grant in the first message authorizes, signaling/PROTOCOL.md), or the LiveKit
// server's webhook (its signed Authorization header authorizes).
func (a *App) mediaRoutes() []httpapi.Route {
	switch m := a.Media.(type) {
	case *embedded.Server:
		return []httpapi.Route{{Method: fiber.MethodGet, Path: "/media/ws", Public: true, Handler: m.FiberHandler()}}
	case *livekit.Client:
		return []httpapi.Route{{Method: fiber.MethodPost, Path: LiveKitWebhookPath, Public: true, Handler: m.WebhookHandler()}}
	}
	return nil
}
