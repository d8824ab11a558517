// Package livekit is the seat agent (评标工位代理) for rooms of the LiveKit media backend
// (signaling/livekit): a Go participant that joins with a grant through server-sdk-go's
// client, publishes Opus audio and VP8 video from files or clients/seat's synthetic sources,
// subscribes to the others and counts what it receives, per track. It is the LiveKit
// counterpart of clients/seat, for tests, the demo and the benchmarks (see Bench).
package livekit

import (
	"errors"
	"log/slog"
	"slices"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/kaiping/kaiping/clients/seat"
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
	// Only, if not nil, makes the agent subscribe by itself to the tracks of these identities
	// and of nobody else, as a client holding a restricted grant should; nil lets the server
	// subscribe the agent to everything it offers (LiveKit's auto-subscription).
	Only []string

	// AudioFile (Opus in Ogg) and VideoFile (VP8 in IVF) are played in a loop; empty means
	// clients/seat's synthetic source (silence; grey VP8 key frames).
	AudioFile string
	VideoFile string
	// Width, Height, FPS and VideoBitrate shape the synthetic video. Defaults 320×240,
	// 25 fps, 500 kbps.
	Width, Height, FPS, VideoBitrate int

	// OnPacket, if set, sees every RTP packet received, with the track it belongs to and
	// that track's codec (a recorder writes them out). It runs on the track's reading
	// goroutine and must not keep p past its return.
	OnPacket func(track signaling.Track, codec webrtc.RTPCodecParameters, p *rtp.Packet)

	// Log receives the agent's log; nil discards it.
	Log *slog.Logger
}

// ConfigFromGrant returns a configuration that joins with g, publishes what g allows and
// subscribes to whom g allows.
func ConfigFromGrant(g signaling.Grant) Config {
	c := Config{URL: g.URL, Token: g.Token,
		PublishAudio: g.Permissions.PublishAudio, PublishVideo: g.Permissions.PublishVideo}
	if !g.Permissions.Subscribe.All {
		c.Only = append([]string{}, g.Permissions.Subscribe.Only...)
	}
	return c
}

func (c Config) withDefaults() Config {
	seat.DefaultVideo(&c.Width, &c.Height, &c.FPS, &c.VideoBitrate)
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	if c.URL == "" || c.Token == "" {
		return errors.New("seat: the grant's URL and token are required")
	}
	return seat.ValidateVideo(c.Width, c.Height, c.FPS, c.VideoBitrate)
}

// wants reports whether the agent subscribes to identity's tracks.
func (c Config) wants(identity string) bool {
	return c.Only == nil || slices.Contains(c.Only, identity)
}
