package seat

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kaiping/kaiping/signaling"
)

// OpenAudio returns the audio an agent publishes: file (Opus in Ogg) in a loop, or the
// synthetic silence for "".
func OpenAudio(file string) (Source, error) {
	if file != "" {
		return OpenOgg(file)
	}
	return NewSyntheticAudio(), nil
}

// OpenVideo returns the video an agent publishes: file (VP8 in IVF) in a loop, or for ""
// the synthetic grey video of that size, frame rate and bitrate.
func OpenVideo(file string, width, height, fps, bitrate int) (Source, error) {
	if file != "" {
		return OpenIVF(file)
	}
	return NewSyntheticVideo(width, height, fps, bitrate), nil
}

// Play paces src's samples of kind into track until ctx ends or src fails, calling sent
// after each sample written. Samples written before the media connection is up are dropped
// by pion, as a camera's would be. The agents of both backends publish through it.
func Play(ctx context.Context, log *slog.Logger, kind signaling.TrackKind, src Source, track *webrtc.TrackLocalStaticSample, sent func()) {
	next := time.Now()
	for {
		s, err := src.Next()
		if err != nil {
			log.Error("media source failed", "kind", kind, "err", err)
			return
		}
		if err := track.WriteSample(s); err != nil && !errors.Is(err, net.ErrClosed) {
			log.Debug("write sample", "kind", kind, "err", err)
		}
		sent()
		next = next.Add(s.Duration)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
	}
}

// Codec is the RTP codec an agent publishes kind in: Opus (48 kHz, stereo) or VP8.
func Codec(kind signaling.TrackKind) webrtc.RTPCodecCapability {
	if kind == signaling.Audio {
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	}
	return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
}
