package seat

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// Source yields media samples to publish, paced by their durations.
type Source interface {
	// Next returns the next sample; sources loop, so it fails only on broken input.
	Next() (media.Sample, error)
	// Close releases the source.
	Close() error
}

// syntheticVideo is the generated VP8 stream of vp8.go.
type syntheticVideo struct {
	frame    []byte
	interval time.Duration
}

// NewSyntheticVideo returns a VP8 source of width×height key frames at fps frames per
// second and about bitrate bits per second.
func NewSyntheticVideo(width, height, fps, bitrate int) Source {
	size := bitrate / 8 / fps
	return &syntheticVideo{frame: vp8Frame(width, height, size), interval: time.Second / time.Duration(fps)}
}

func (s *syntheticVideo) Next() (media.Sample, error) {
	return media.Sample{Data: s.frame, Duration: s.interval}, nil
}

func (s *syntheticVideo) Close() error { return nil }

// syntheticAudio is 20 ms Opus packets of silence.
type syntheticAudio struct{}

// NewSyntheticAudio returns an Opus source of silence, one 20 ms packet at a time.
func NewSyntheticAudio() Source { return syntheticAudio{} }

func (syntheticAudio) Next() (media.Sample, error) {
	return media.Sample{Data: opusSilence, Duration: 20 * time.Millisecond}, nil
}

func (syntheticAudio) Close() error { return nil }

// ivfSource plays a VP8 IVF file in a loop.
type ivfSource struct {
	f        *os.File
	r        *ivfreader.IVFReader
	interval time.Duration
}

// OpenIVF opens a VP8 IVF file to publish in a loop.
func OpenIVF(path string) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, h, err := ivfreader.NewWith(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if string(h.FourCC[:]) != "VP80" {
		f.Close()
		return nil, fmt.Errorf("%s: codec %q, want VP80", path, h.FourCC[:])
	}
	interval := 33 * time.Millisecond
	if h.TimebaseDenominator > 0 && h.TimebaseNumerator > 0 {
		interval = time.Duration(float64(time.Second) * float64(h.TimebaseNumerator) / float64(h.TimebaseDenominator))
	}
	return &ivfSource{f: f, r: r, interval: interval}, nil
}

func (s *ivfSource) Next() (media.Sample, error) {
	for tries := 0; tries < 2; tries++ {
		frame, _, err := s.r.ParseNextFrame()
		if err == nil {
			return media.Sample{Data: frame, Duration: s.interval}, nil
		}
		if !errors.Is(err, io.EOF) {
			return media.Sample{}, err
		}
		if _, err := s.f.Seek(0, io.SeekStart); err != nil {
			return media.Sample{}, err
		}
		if s.r, _, err = ivfreader.NewWith(s.f); err != nil {
			return media.Sample{}, err
		}
	}
	return media.Sample{}, errors.New("IVF file has no frames")
}

func (s *ivfSource) Close() error { return s.f.Close() }

// oggSource plays an Opus Ogg file in a loop, one page per sample.
type oggSource struct {
	f        *os.File
	r        *oggreader.OggReader
	lastGran uint64
}

// OpenOgg opens an Opus Ogg file to publish in a loop.
func OpenOgg(path string) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &oggSource{f: f, r: r}, nil
}

func (s *oggSource) Next() (media.Sample, error) {
	for tries := 0; tries < 3; tries++ {
		page, h, err := s.r.ParseNextPage()
		if err == nil {
			if _, isHeader := h.HeaderType(page); isHeader {
				continue
			}
			d := 20 * time.Millisecond
			if h.GranulePosition > s.lastGran && s.lastGran > 0 {
				d = time.Duration(h.GranulePosition-s.lastGran) * time.Second / 48000
			}
			s.lastGran = h.GranulePosition
			return media.Sample{Data: page, Duration: d}, nil
		}
		if !errors.Is(err, io.EOF) {
			return media.Sample{}, err
		}
		if _, err := s.f.Seek(0, io.SeekStart); err != nil {
			return media.Sample{}, err
		}
		if s.r, _, err = oggreader.NewWith(s.f); err != nil {
			return media.Sample{}, err
		}
		s.lastGran = 0
	}
	return media.Sample{}, errors.New("the Ogg file has no audio pages")
}

func (s *oggSource) Close() error { return s.f.Close() }
