package recorder

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/seat"
	"github.com/kaiping/kaiping/signaling"
)

var (
	opusInfo = TrackInfo{ID: "audio-1", Participant: "p1", Kind: signaling.Audio, MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	vp8Info  = TrackInfo{ID: "video-1", Participant: "p1", Kind: signaling.Video, MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
)

// mustRecording is a recording of room that joined nothing: the test plays the joiner.
func mustRecording(tb testing.TB, r *Recorder, room string) *Recording {
	tb.Helper()
	rec, err := r.newRecording(signaling.Grant{Backend: embeddedBackend, Room: room, Identity: "rec"})
	if err != nil {
		tb.Fatal(err)
	}
	return rec
}

// audioStream writes Opus packets into ts, 20 ms apart in RTP time.
type audioStream struct {
	ts  TrackSink
	seq uint16
	rtp uint32
}

func (a *audioStream) send(n int) {
	for i := 0; i < n; i++ {
		a.ts.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: a.seq, Timestamp: a.rtp, PayloadType: 111},
			Payload: []byte{0xf8, 0xff, 0xfe}})
		a.seq++
		a.rtp += 960
	}
}

func TestTrackGaps(t *testing.T) {
	const threshold = 100 * time.Millisecond
	tests := []struct {
		name   string
		act    func(rec *Recording, a *audioStream)
		reason string // "" means no gap
		lost   uint64
		rtpMS  int64
	}{
		{name: "steady", act: func(*Recording, *audioStream) {}},
		{name: "small loss", act: func(_ *Recording, a *audioStream) { a.seq += 3; a.rtp += 3 * 960 }},
		{name: "timestamp jump forward", reason: GapTimestampJump, rtpMS: 2020,
			act: func(_ *Recording, a *audioStream) { a.rtp += 2 * 48000 }},
		{name: "timestamp jump back", reason: GapTimestampJump, rtpMS: -1020,
			act: func(_ *Recording, a *audioStream) { a.rtp -= 48000 + 2*960 }},
		{name: "sequence jump", reason: GapSequenceJump, lost: 100, rtpMS: 20,
			act: func(_ *Recording, a *audioStream) { a.seq += 100 }},
		{name: "silence", reason: GapMediaInterrupted,
			act: func(_ *Recording, a *audioStream) { time.Sleep(3 * threshold) }},
		{name: "muted", reason: GapMuted, act: func(rec *Recording, a *audioStream) {
			rec.Muted(opusInfo.ID, true)
			time.Sleep(3 * threshold)
			rec.Muted(opusInfo.ID, false)
		}},
		{name: "recorder reconnecting", reason: GapRecorderReconnecting, act: func(rec *Recording, a *audioStream) {
			rec.Interrupted()
			time.Sleep(3 * threshold)
			rec.Resumed()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := kaiping.NewManualClock(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
			r := mustSpoolRecorder(t, clock, func(c *Config) { c.GapThreshold = threshold })
			rec := mustRecording(t, r, "gaps")
			rec.Participant("p1", "专家甲")
			a := &audioStream{ts: rec.Track(opusInfo, nil), seq: 65530, rtp: 1 << 31}
			a.send(10)
			clock.Advance(time.Minute)
			tt.act(rec, a)
			a.send(10)
			a.ts.End()
			m := rec.manifest()
			var gaps []Gap
			for _, g := range m.Gaps {
				if g.File != "" {
					gaps = append(gaps, g)
				}
			}
			if tt.reason == "" {
				if len(gaps) != 0 {
					t.Fatalf("gaps %+v, want none", gaps)
				}
				return
			}
			if len(gaps) != 1 {
				t.Fatalf("gaps %+v, want one %s", gaps, tt.reason)
			}
			g := gaps[0]
			if g.Reason != tt.reason || g.Participant != "p1" || g.File != m.Files[0].Name || g.LostPackets != tt.lost {
				t.Errorf("gap %+v, want %s of p1's file with %d lost", g, tt.reason, tt.lost)
			}
			if tt.rtpMS != 0 && g.RTPGapMS != tt.rtpMS {
				t.Errorf("rtp gap %d ms, want %d", g.RTPGapMS, tt.rtpMS)
			}
			if g.End.Sub(g.Start) != time.Minute {
				t.Errorf("gap from %s to %s, want the clock's minute", g.Start, g.End)
			}
			if tt.reason == GapRecorderReconnecting && !hasGap(m, "", GapRecorderReconnecting) {
				t.Errorf("no gap of the whole recording in %+v", m.Gaps)
			}
		})
	}
}

func hasGap(m Manifest, participant, reason string) bool {
	for _, g := range m.Gaps {
		if g.Participant == participant && g.Reason == reason {
			return true
		}
	}
	return false
}

// TestOpusFile: what arrives out of order is written in order, and the Ogg file parses
// with every packet in it.
func TestOpusFile(t *testing.T) {
	r := mustSpoolRecorder(t, kaiping.SystemClock{})
	rec := mustRecording(t, r, "ogg")
	ts := rec.Track(opusInfo, nil)
	order := []uint16{0, 1, 3, 2, 4, 5, 7, 6, 8, 9}
	for _, s := range order {
		ts.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: s, Timestamp: uint32(s) * 960}, Payload: []byte{0xf8, byte(s)}})
	}
	ts.End()
	f, _, _ := ts.(*trackWriter).snapshot()
	if f.Packets != 10 || f.Frames != 10 || f.Lost != 0 || f.Late != 0 {
		t.Errorf("counts %+v", f)
	}
	if n := countFrames(t, filepath.Join(rec.dir, f.Name)); n != 10 {
		t.Errorf("Ogg holds %d packets, want 10", n)
	}
}

// vp8Packets packetizes a VP8 frame the way a publisher does.
func vp8Packets(frame []byte, seq *uint16, ts uint32) []*rtp.Packet {
	var out []*rtp.Packet
	payloads := (&codecs.VP8Payloader{}).Payload(600, frame)
	for i, pl := range payloads {
		out = append(out, &rtp.Packet{Header: rtp.Header{SequenceNumber: *seq, Timestamp: ts, Marker: i == len(payloads)-1}, Payload: pl})
		*seq++
	}
	return out
}

// TestVP8File: the IVF file starts at the first key frame, whose size goes into its header,
// leaves out a frame that lost a packet (asking for a key frame), and keeps the RTP times.
func TestVP8File(t *testing.T) {
	r := mustSpoolRecorder(t, kaiping.SystemClock{})
	rec := mustRecording(t, r, "ivf")
	keyframes := 0
	ts := rec.Track(vp8Info, func() { keyframes++ })
	src := seat.NewSyntheticVideo(320, 240, 25, 500_000)
	key, err := src.Next()
	if err != nil {
		t.Fatal(err)
	}
	inter := append([]byte{0x01}, bytes.Repeat([]byte{0x55}, 1500)...) // an inter frame's tag bit
	var seq uint16 = 100
	send := func(frame []byte, rtpTS uint32, skip int) {
		for i, p := range vp8Packets(frame, &seq, rtpTS) {
			if i != skip {
				ts.WriteRTP(p)
			}
		}
	}
	send(inter, 0, -1)        // before any key frame: left out
	send(key.Data, 3600, -1)  // frame 1
	send(inter, 7200, -1)     // frame 2
	send(inter, 10800, 1)     // a packet lost: left out
	send(key.Data, 14400, -1) // frame 3
	ts.End()
	f, _, _ := ts.(*trackWriter).snapshot()
	if f.Frames != 3 || f.DroppedFrames != 2 || f.Width != 320 || f.Height != 240 || f.Lost != 1 {
		t.Errorf("counts %+v, want 3 frames, 2 dropped, 320×240, 1 lost", f)
	}
	if keyframes != 1 {
		t.Errorf("%d key frame requests, want 1 (throttled)", keyframes)
	}
	file, err := os.Open(filepath.Join(rec.dir, f.Name))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	ivf, h, err := ivfreader.NewWith(file)
	if err != nil {
		t.Fatal(err)
	}
	if h.Width != 320 || h.Height != 240 || h.TimebaseDenominator != 90000 || h.TimebaseNumerator != 1 || h.NumFrames != 3 {
		t.Errorf("IVF header %+v", h)
	}
	var times []uint64
	for {
		frame, fh, err := ivf.ParseNextFrame()
		if err != nil {
			break
		}
		// pion's reader multiplies the stored PTS by the time base's denominator.
		times = append(times, fh.Timestamp*uint64(h.TimebaseNumerator)/uint64(h.TimebaseDenominator))
		if len(times) == 1 && !bytes.Equal(frame, key.Data) {
			t.Errorf("first frame is not the key frame sent")
		}
	}
	if len(times) != 3 || times[0] != 0 || times[1] != 3600 || times[2] != 10800 {
		t.Errorf("frame times %v, want [0 3600 10800] (90 kHz from the first frame)", times)
	}
}

// TestVP8WithoutKeyframe: a video track that never sent a key frame still leaves a valid
// IVF file, with no frames.
func TestVP8WithoutKeyframe(t *testing.T) {
	r := mustSpoolRecorder(t, kaiping.SystemClock{})
	rec := mustRecording(t, r, "ivf")
	ts := rec.Track(vp8Info, nil)
	var seq uint16
	for _, p := range vp8Packets([]byte{0x01, 0x02, 0x03}, &seq, 0) {
		ts.WriteRTP(p)
	}
	ts.End()
	if n := countFrames(t, filepath.Join(rec.dir, rec.manifest().Files[0].Name)); n != 0 {
		t.Errorf("%d frames, want 0", n)
	}
}

// TestParticipantAbsence: leaving and coming back is a gap of the participant; the
// manifest shows both sessions.
func TestParticipantAbsence(t *testing.T) {
	clock := kaiping.NewManualClock(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	r := mustSpoolRecorder(t, clock)
	rec := mustRecording(t, r, "absence")
	rec.Participant("p1", "专家甲")
	rec.Participant("p1", "专家甲") // a resume repeats the list
	clock.Advance(time.Minute)
	rec.ParticipantLeft("p1", "removed")
	clock.Advance(time.Minute)
	rec.Participant("p1", "专家甲")
	m := rec.manifest()
	if len(m.Participants) != 1 || len(m.Participants[0].Sessions) != 2 {
		t.Fatalf("participants %+v, want one with two sessions", m.Participants)
	}
	s := m.Participants[0].Sessions
	if s[0].LeftReason != "removed" || !s[0].Until.Equal(s[0].From.Add(time.Minute)) || !s[1].Until.IsZero() {
		t.Errorf("sessions %+v", s)
	}
	if len(m.Gaps) != 1 || m.Gaps[0] != (Gap{Participant: "p1", Start: s[0].Until, End: s[1].From, Reason: GapParticipantAbsent, Detail: "removed"}) {
		t.Errorf("gaps %+v", m.Gaps)
	}
}

// TestUnrecordedTrack: a track of a codec the recorder does not write is listed in the
// manifest as unrecorded, not silently left out.
func TestUnrecordedTrack(t *testing.T) {
	r := mustSpoolRecorder(t, kaiping.SystemClock{})
	rec := mustRecording(t, r, "h264")
	ts := rec.Track(TrackInfo{ID: "video-9", Participant: "p2", Kind: signaling.Video, MimeType: webrtc.MimeTypeH264, ClockRate: 90000}, nil)
	ts.WriteRTP(&rtp.Packet{Payload: []byte{1}})
	ts.End()
	m := rec.manifest()
	if len(m.Files) != 0 || len(m.Unrecorded) != 1 || m.Unrecorded[0].Reason != "codec_unsupported" ||
		m.Unrecorded[0].Participant != "p2" || m.Unrecorded[0].Codec != webrtc.MimeTypeH264 {
		t.Errorf("files %+v, unrecorded %+v", m.Files, m.Unrecorded)
	}
}
