// Package seat is the seat agent (评标工位代理): a Go participant of a media room. It joins
// with a grant over the embedded backend's signaling protocol (signaling/PROTOCOL.md),
// publishes audio (Opus) and video (VP8) from files or a synthetic source, subscribes to the
// others, and counts what it receives. `kaiping seat join` runs it; tests, the demo and the
// benchmarks use it as a participant. What both backends' agents share lives here too: the
// agent interface (Participant) that clients/seat/livekit's agent also implements, the
// receive counter (Reception), the media sources and their pacing (Play), and the one
// benchmark driver (BenchWith).
package seat

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/kaiping/kaiping/signaling"
)

// Config configures an Agent.
type Config struct {
	// URL and Token come from the grant (signaling.Grant.URL and .Token).
	URL   string
	Token string

	// PublishAudio and PublishVideo choose what to send.
	PublishAudio bool
	PublishVideo bool
	// AudioFile (Opus in Ogg) and VideoFile (VP8 in IVF) are played in a loop; empty means
	// the synthetic source (silence; grey VP8 key frames).
	AudioFile string
	VideoFile string
	// Width, Height, FPS and VideoBitrate shape the synthetic video. Defaults 320×240,
	// 25 fps, 500 kbps.
	Width, Height, FPS, VideoBitrate int

	// Loopback gathers loopback candidates (needed on a machine with only lo).
	Loopback bool
	// ForceRelay uses only TURN relay candidates (the path for networks that block UDP).
	ForceRelay bool
	// ICEURLFilter, if set, keeps only the STUN/TURN URLs from the server it accepts (e.g.
	// only "turns:" where just TLS gets through a firewall).
	ICEURLFilter func(url string) bool
	// TCPOnly gathers only TCP candidates: ICE-TCP to the SFU, without UDP.
	TCPOnly bool
	// UDPConn, if set, carries all of the agent's ICE traffic (one local UDP port).
	UDPConn net.PacketConn
	// Dial, if set, opens the TCP connections of the signaling WebSocket.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Resume reconnects and resumes after the signaling socket drops (default true via
	// ConfigFromGrant; a zero Config does not resume).
	Resume bool
	// ICEDisconnectedTimeout and ICEFailedTimeout are pion's ICE timers (defaults 5 s, 25 s).
	ICEDisconnectedTimeout time.Duration
	ICEFailedTimeout       time.Duration

	// Log receives the agent's log; nil discards it.
	Log *slog.Logger
}

// ConfigFromGrant returns a configuration that joins with g, publishes what g allows and
// resumes after drops.
func ConfigFromGrant(g signaling.Grant) Config {
	return Config{
		URL: g.URL, Token: g.Token,
		PublishAudio: g.Permissions.PublishAudio, PublishVideo: g.Permissions.PublishVideo,
		Resume: true,
	}
}

// DefaultVideo sets the zero ones of a synthetic video's size, frame rate and bitrate to
// the defaults, 320×240, 25 fps, 500 kbps. The LiveKit agent shares them.
func DefaultVideo(width, height, fps, bitrate *int) {
	if *width == 0 {
		*width, *height = 320, 240
	}
	if *fps == 0 {
		*fps = 25
	}
	if *bitrate == 0 {
		*bitrate = 500_000
	}
}

// ValidateVideo checks a synthetic video's size, frame rate and bitrate.
func ValidateVideo(width, height, fps, bitrate int) error {
	if width <= 0 || height <= 0 || width > 4096 || height > 4096 || fps <= 0 || bitrate <= 0 {
		return errors.New("seat: video size, frame rate and bitrate must be positive (at most 4096×4096)")
	}
	return nil
}

func (c Config) withDefaults() Config {
	DefaultVideo(&c.Width, &c.Height, &c.FPS, &c.VideoBitrate)
	if c.ICEDisconnectedTimeout == 0 {
		c.ICEDisconnectedTimeout = 5 * time.Second
	}
	if c.ICEFailedTimeout == 0 {
		c.ICEFailedTimeout = 25 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	if c.URL == "" || c.Token == "" {
		return errors.New("seat: the grant's URL and token are required")
	}
	return ValidateVideo(c.Width, c.Height, c.FPS, c.VideoBitrate)
}
