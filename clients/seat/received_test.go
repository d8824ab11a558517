package seat

import (
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/kaiping/kaiping/signaling"
)

// TestReceptionLost: a track's loss is the sequence numbers between the lowest and the
// highest that never came, across the 16-bit wrap and with a packet reordered before the
// first.
func TestReceptionLost(t *testing.T) {
	tests := []struct {
		name string
		seqs []uint16
		lost uint64
	}{
		{"in order", []uint16{1, 2, 3}, 0},
		{"a gap", []uint16{1, 4}, 2},
		{"a gap filled late", []uint16{1, 3, 2}, 0},
		{"across the wrap", []uint16{65534, 65535, 1}, 1},
		{"reordered before the first", []uint16{5, 3, 6}, 1},
		{"reordered before the first, across the wrap", []uint16{0, 65535, 2}, 1},
		{"a duplicate hides a loss, as in a receiver's counters", []uint16{1, 1, 3}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReception()
			tc := r.Track("t1", "p1", signaling.Audio)
			for _, s := range tt.seqs {
				r.Count(tc, &rtp.Packet{Header: rtp.Header{SequenceNumber: s}, Payload: []byte{1}}, 100, time.Now())
			}
			got := r.Snapshot()
			if len(got) != 1 || got[0].Lost != tt.lost || got[0].Packets != uint64(len(tt.seqs)) || got[0].Bytes != 100*uint64(len(tt.seqs)) {
				t.Errorf("counted %+v, want %d lost of %d", got, tt.lost, len(tt.seqs))
			}
		})
	}
}

// TestReceptionKeyframes: the first packet of a VP8 key frame is counted, with its arrival;
// other packets of it, inter frames and audio are not.
func TestReceptionKeyframes(t *testing.T) {
	r := NewReception()
	video := r.Track("v", "p1", signaling.Video)
	audio := r.Track("a", "p1", signaling.Audio)
	t0 := time.Now()
	packet := func(seq uint16, payload ...byte) *rtp.Packet {
		return &rtp.Packet{Header: rtp.Header{SequenceNumber: seq}, Payload: payload}
	}
	// VP8 payload descriptor: 0x10 is S=1, PID=0; 0x00 a continuation. A frame tag with
	// bit 0 clear is a key frame.
	r.Count(video, packet(1, 0x10, 0x01), 10, t0)                  // an inter frame starts
	r.Count(video, packet(2, 0x10, 0x00), 10, t0.Add(time.Second)) // a key frame starts
	r.Count(video, packet(3, 0x00, 0x00), 10, t0.Add(2*time.Second))
	r.Count(video, packet(4, 0x10, 0x00), 10, t0.Add(3*time.Second))
	r.Count(audio, packet(1, 0x10, 0x00), 10, t0)
	got := r.Snapshot()
	if len(got) != 2 || got[0].TrackID != "a" || got[1].TrackID != "v" {
		t.Fatalf("tracks %+v, want audio then video", got)
	}
	if a := got[0]; a.Keyframes != 0 || !a.FirstKeyframe.IsZero() {
		t.Errorf("audio %+v", a)
	}
	if v := got[1]; v.Keyframes != 2 || !v.FirstKeyframe.Equal(t0.Add(time.Second)) || !v.FirstPacket.Equal(t0) ||
		!v.LastPacket.Equal(t0.Add(3*time.Second)) || v.Packets != 4 || v.Lost != 0 {
		t.Errorf("video %+v", v)
	}
}

// TestReceptionOrder: a snapshot is ordered by participant, kind and track ID.
func TestReceptionOrder(t *testing.T) {
	r := NewReception()
	for _, tr := range []struct {
		id, who string
		kind    signaling.TrackKind
	}{{"z", "b", signaling.Audio}, {"y", "a", signaling.Video}, {"x", "a", signaling.Video}, {"w", "a", signaling.Audio}} {
		r.Track(tr.id, tr.who, tr.kind)
	}
	var ids string
	for _, s := range r.Snapshot() {
		ids += s.TrackID
	}
	if ids != "wxyz" {
		t.Errorf("order %s, want wxyz", ids)
	}
}
