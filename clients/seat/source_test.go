package seat

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/ivfwriter"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
)

// writeTestIVF writes n synthetic VP8 frames to an IVF file and returns its path.
func writeTestIVF(tb testing.TB, n int) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "clip.ivf")
	w, err := ivfwriter.New(path, ivfwriter.WithCodec("video/VP8"))
	if err != nil {
		tb.Fatal(err)
	}
	frame := vp8Frame(160, 120, 200)
	for i := 0; i < n; i++ {
		// One RTP packet per frame: VP8 payload descriptor with S=1, then the frame.
		p := &rtp.Packet{Header: rtp.Header{Timestamp: uint32(i * 3000), Marker: true, SequenceNumber: uint16(i)},
			Payload: append([]byte{0x10}, frame...)}
		if err := w.WriteRTP(p); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// writeTestOgg writes n Opus packets of silence to an Ogg file and returns its path.
func writeTestOgg(tb testing.TB, n int) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "clip.ogg")
	w, err := oggwriter.New(path, 48000, 2)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < n; i++ {
		p := &rtp.Packet{Header: rtp.Header{Timestamp: uint32(i * 960), SequenceNumber: uint16(i)}, Payload: opusSilence}
		if err := w.WriteRTP(p); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestFileSourcesLoop(t *testing.T) {
	ivf, err := OpenIVF(writeTestIVF(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer ivf.Close()
	for i := 0; i < 7; i++ { // more than the file holds: it loops
		s, err := ivf.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !isVP8Keyframe(s.Data) || s.Duration <= 0 {
			t.Fatalf("frame %d: %d bytes, duration %s", i, len(s.Data), s.Duration)
		}
	}
	ogg, err := OpenOgg(writeTestOgg(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer ogg.Close()
	for i := 0; i < 7; i++ {
		s, err := ogg.Next()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if !bytes.Equal(s.Data, opusSilence) || s.Duration != 20*time.Millisecond {
			t.Fatalf("packet %d: %x, %s", i, s.Data, s.Duration)
		}
	}
}

func TestFileSourcesRefuseBadFiles(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte("not media at all, just words"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		open func(string) (Source, error)
		path string
	}{
		{"missing IVF", OpenIVF, filepath.Join(dir, "missing.ivf")},
		{"garbage IVF", OpenIVF, garbage},
		{"missing Ogg", OpenOgg, filepath.Join(dir, "missing.ogg")},
		{"garbage Ogg", OpenOgg, garbage},
		{"Ogg as IVF", OpenIVF, writeTestOgg(t, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := tt.open(tt.path); err == nil {
				s.Close()
				t.Fatalf("opened %s", tt.path)
			}
		})
	}
}

func TestSyntheticSources(t *testing.T) {
	v := NewSyntheticVideo(640, 480, 25, 500_000)
	s, _ := v.Next()
	if len(s.Data) != 500_000/8/25 || s.Duration != 40*time.Millisecond || !isVP8Keyframe(s.Data) {
		t.Errorf("video sample %d bytes, %s", len(s.Data), s.Duration)
	}
	// The key frame header names the size.
	if w, h := int(s.Data[6])|int(s.Data[7])<<8, int(s.Data[8])|int(s.Data[9])<<8; w != 640 || h != 480 {
		t.Errorf("frame is %dx%d", w, h)
	}
	a, _ := NewSyntheticAudio().Next()
	if !bytes.Equal(a.Data, opusSilence) || a.Duration != 20*time.Millisecond {
		t.Errorf("audio sample %x %s", a.Data, a.Duration)
	}
}

func TestConfigRefused(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no URL", Config{Token: "t"}},
		{"no token", Config{URL: "ws://127.0.0.1:1/media/ws"}},
		{"huge video", Config{URL: "ws://127.0.0.1:1/media/ws", Token: "t", Width: 10000, Height: 10}},
		{"negative rate", Config{URL: "ws://127.0.0.1:1/media/ws", Token: "t", FPS: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := New(tt.cfg).Run(t.Context()); err == nil {
				t.Fatal("ran")
			}
		})
	}
	err := Run(t.Context(), Config{URL: "ws://127.0.0.1:1/media/ws", Token: "t"})
	var je *JoinError
	if err == nil || errors.As(err, &je) {
		t.Errorf("unreachable server: %v", err)
	}
}
