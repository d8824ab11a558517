package livekit

import (
	"maps"
	"sort"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/kaiping/kaiping/clients/seat"
	"github.com/kaiping/kaiping/signaling"
)

// Stats is what an agent has sent and received so far.
type Stats struct {
	Identity string
	// JoinStarted is when Run began to join; JoinedAt when the server admitted the agent
	// (zero until then).
	JoinStarted time.Time
	JoinedAt    time.Time
	// Sent counts samples (frames, audio packets) written per kind.
	Sent map[signaling.TrackKind]uint64
	// Published is the kinds the server accepted; Refused the kinds it did not, with why.
	Published map[signaling.TrackKind]bool
	Refused   map[signaling.TrackKind]string
	// Received has one entry per remote track, ordered by participant and kind.
	Received []TrackStats
	// Peers are the participants the server has announced and not yet seen leave, by
	// identity, with their names (hidden participants are never announced).
	Peers map[string]string
	// Disconnect is why the server ended the session, if it did.
	Disconnect string
}

// TrackStats counts one remote track: clients/seat's counters plus the packets lost, from
// the gaps in RTP sequence numbers.
type TrackStats struct {
	seat.TrackStats
	Lost          uint64
	FirstKeyframe time.Time // when the first VP8 key frame began to arrive
}

// From returns the received tracks of participant.
func (s Stats) From(participant string) []TrackStats {
	var out []TrackStats
	for _, t := range s.Received {
		if t.Participant == participant {
			out = append(out, t)
		}
	}
	return out
}

// FirstFrame is when the first VP8 key frame of participant's video arrived (zero if none
// has).
func (s Stats) FirstFrame(participant string) time.Time {
	for _, t := range s.From(participant) {
		if t.Kind == signaling.Video && t.Keyframes > 0 {
			return t.FirstKeyframe
		}
	}
	return time.Time{}
}

// counters is the mutable side of Stats.
type counters struct {
	mu     sync.Mutex
	stats  Stats
	tracks map[string]*trackCounter
}

type trackCounter struct {
	TrackStats
	started bool
	baseSeq uint64 // extended sequence number of the first packet
	maxSeq  uint64 // highest extended sequence number seen
}

func newCounters() *counters {
	return &counters{
		stats: Stats{Sent: map[signaling.TrackKind]uint64{}, Published: map[signaling.TrackKind]bool{},
			Refused: map[signaling.TrackKind]string{}, Peers: map[string]string{}},
		tracks: map[string]*trackCounter{},
	}
}

func (c *counters) update(f func(s *Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

func (c *counters) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Sent = maps.Clone(c.stats.Sent)
	s.Published = maps.Clone(c.stats.Published)
	s.Refused = maps.Clone(c.stats.Refused)
	s.Peers = maps.Clone(c.stats.Peers)
	s.Received = make([]TrackStats, 0, len(c.tracks))
	for _, t := range c.tracks {
		ts := t.TrackStats
		if t.started {
			expected := t.maxSeq - t.baseSeq + 1
			if expected > ts.Packets {
				ts.Lost = expected - ts.Packets
			}
		}
		s.Received = append(s.Received, ts)
	}
	sort.Slice(s.Received, func(i, j int) bool {
		a, b := s.Received[i], s.Received[j]
		if a.Participant != b.Participant {
			return a.Participant < b.Participant
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.TrackID < b.TrackID
	})
	return s
}

// track returns the counters of a remote track, creating them.
func (c *counters) track(id, participant string, kind signaling.TrackKind) *trackCounter {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.tracks[id]
	if !ok {
		t = &trackCounter{TrackStats: TrackStats{TrackStats: seat.TrackStats{TrackID: id, Participant: participant, Kind: kind}}}
		c.tracks[id] = t
	}
	return t
}

// received counts one RTP packet of size bytes that arrived at now.
func (c *counters) received(t *trackCounter, p *rtp.Packet, size int, now time.Time) {
	key := t.Kind == signaling.Video && vp8KeyframeStart(p.Payload)
	c.mu.Lock()
	defer c.mu.Unlock()
	seq := uint64(p.SequenceNumber)
	if !t.started {
		t.started, t.baseSeq, t.maxSeq = true, seq, seq
		t.FirstPacket = now
	} else {
		// Unwrap the 16-bit sequence number to the one nearest the highest seen.
		ext := t.maxSeq&^0xffff | seq
		switch {
		case ext+0x8000 < t.maxSeq:
			ext += 0x10000
		case ext > t.maxSeq+0x8000 && ext >= 0x10000:
			ext -= 0x10000
		}
		t.maxSeq = max(t.maxSeq, ext)
	}
	t.Packets++
	t.Bytes += uint64(size)
	t.LastPacket = now
	if key {
		if t.Keyframes == 0 {
			t.FirstKeyframe = now
		}
		t.Keyframes++
	}
}

// vp8KeyframeStart reports whether an RTP payload begins a VP8 key frame: the start of
// partition 0 (S=1, PID=0) whose frame tag has the inter-frame bit clear.
func vp8KeyframeStart(payload []byte) bool {
	var d codecs.VP8Packet
	frame, err := d.Unmarshal(payload)
	return err == nil && d.S == 1 && d.PID == 0 && len(frame) > 0 && frame[0]&1 == 0
}
