package seat

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/kaiping/kaiping/signaling"
)

// TrackStats counts one remote track.
type TrackStats struct {
	TrackID     string
	Participant string
	Kind        signaling.TrackKind
	Packets     uint64
	Bytes       uint64
	Keyframes   uint64 // VP8 key frames seen (first packet of each)
	// Lost is the packets missing from the track's RTP sequence numbers (after the SFU and
	// the agent's own retransmission requests).
	Lost          uint64
	FirstPacket   time.Time
	FirstKeyframe time.Time // when the first VP8 key frame began to arrive
	LastPacket    time.Time
}

// TracksFrom returns the tracks of participant among received.
func TracksFrom(received []TrackStats, participant string) []TrackStats {
	var out []TrackStats
	for _, t := range received {
		if t.Participant == participant {
			out = append(out, t)
		}
	}
	return out
}

// Reception counts what an agent receives, per remote track: packets, bytes, key frames,
// first and last arrival, and the packets lost from the sequence numbers. The agents of
// both backends keep one, so that a track counts the same whichever SFU forwarded it.
type Reception struct {
	mu     sync.Mutex
	tracks map[string]*TrackCounter
}

// TrackCounter is one remote track's counters in a Reception.
type TrackCounter struct {
	stats TrackStats
	seq   seqSpan
}

// NewReception returns a Reception with no tracks.
func NewReception() *Reception { return &Reception{tracks: map[string]*TrackCounter{}} }

// Track returns the counters of a remote track, creating them.
func (r *Reception) Track(id, participant string, kind signaling.TrackKind) *TrackCounter {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.tracks[id]
	if !ok {
		t = &TrackCounter{stats: TrackStats{TrackID: id, Participant: participant, Kind: kind}}
		r.tracks[id] = t
	}
	return t
}

// Receive counts t's packets into tc until ctx ends or the track does. onPacket, if set,
// sees every packet after it is counted, on this goroutine; it must not keep p.
func (r *Reception) Receive(ctx context.Context, t *webrtc.TrackRemote, tc *TrackCounter, onPacket func(p *rtp.Packet)) {
	buf := make([]byte, 1500)
	for ctx.Err() == nil {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		var p rtp.Packet
		if err := p.Unmarshal(buf[:n]); err != nil {
			continue
		}
		r.Count(tc, &p, n, time.Now())
		if onPacket != nil {
			onPacket(&p)
		}
	}
}

// Count counts one RTP packet of size bytes that arrived at now.
func (r *Reception) Count(t *TrackCounter, p *rtp.Packet, size int, now time.Time) {
	key := t.stats.Kind == signaling.Video && startsVP8Keyframe(p.Payload)
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &t.stats
	if s.Packets == 0 {
		s.FirstPacket = now
	}
	t.seq.observe(p.SequenceNumber)
	s.Packets++
	s.Bytes += uint64(size)
	s.LastPacket = now
	if key {
		if s.Keyframes == 0 {
			s.FirstKeyframe = now
		}
		s.Keyframes++
	}
}

// Snapshot returns every track's counters, ordered by participant, kind and track ID.
func (r *Reception) Snapshot() []TrackStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]TrackStats, 0, len(r.tracks))
	for _, t := range r.tracks {
		s := t.stats
		s.Lost = t.seq.lost()
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Participant != b.Participant {
			return a.Participant < b.Participant
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.TrackID < b.TrackID
	})
	return out
}

// seqSpan is one stream's extended sequence numbers: the lowest and highest seen, and how
// many packets came (retransmissions included, as a receiver's counters would).
type seqSpan struct{ low, high, got uint64 }

// observe unwraps the 16-bit sequence number seq to the one nearest the highest seen and
// counts it.
func (s *seqSpan) observe(seq uint16) {
	if s.got == 0 {
		// Start one cycle up, so that a packet reordered before the first unwraps below it.
		ext := 1<<16 | uint64(seq)
		s.low, s.high, s.got = ext, ext, 1
		return
	}
	ext := s.high&^0xffff | uint64(seq)
	switch {
	case ext+0x8000 < s.high:
		ext += 0x10000
	case ext > s.high+0x8000:
		ext -= 0x10000
	}
	s.low, s.high = min(s.low, ext), max(s.high, ext)
	s.got++
}

// lost is the sequence numbers between the lowest and the highest that never came (0 when
// duplicates make up for them).
func (s seqSpan) lost() uint64 {
	if want := s.high - s.low + 1; s.got > 0 && want > s.got {
		return want - s.got
	}
	return 0
}

// startsVP8Keyframe reports whether an RTP payload is the first packet of a VP8 key frame:
// the start of partition 0 (S=1, PID=0) whose frame tag has the inter-frame bit clear.
func startsVP8Keyframe(payload []byte) bool {
	var vp8 codecs.VP8Packet
	body, err := vp8.Unmarshal(payload)
	if err != nil || vp8.S != 1 || vp8.PID != 0 {
		return false
	}
	return isVP8Keyframe(body)
}
