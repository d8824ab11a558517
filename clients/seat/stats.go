package seat

import (
	"sort"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/wire"
)

// Stats is what an agent has sent and received so far.
type Stats struct {
	Identity string
	JoinedAt time.Time // first join; zero until joined
	Resumes  int       // successful resumptions after a drop
	// Sent counts samples (frames, audio packets) written per kind.
	Sent map[signaling.TrackKind]uint64
	// Received has one entry per remote track, ordered by participant and kind.
	Received []TrackStats
	// Errors are the error messages the server sent.
	Errors []wire.Error
	// Bye is the server's farewell, if it sent one.
	Bye *wire.Bye
	// Peers are the participants the server has announced and not yet seen leave, by
	// identity, with their names (hidden participants are never announced).
	Peers map[string]string
}

// TrackStats counts one remote track.
type TrackStats struct {
	TrackID     string
	Participant string
	Kind        signaling.TrackKind
	Packets     uint64
	Bytes       uint64
	Keyframes   uint64 // VP8 key frames seen (first packet of each)
	FirstPacket time.Time
	LastPacket  time.Time
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

// HasError reports whether the server sent an error with code.
func (s Stats) HasError(code string) bool {
	for _, e := range s.Errors {
		if e.Code == code {
			return true
		}
	}
	return false
}

// counters is the mutable side of Stats.
type counters struct {
	mu    sync.Mutex
	stats Stats
	byID  map[string]*TrackStats
}

func newCounters() *counters {
	return &counters{stats: Stats{Sent: map[signaling.TrackKind]uint64{}, Peers: map[string]string{}},
		byID: map[string]*TrackStats{}}
}

func (c *counters) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Sent = map[signaling.TrackKind]uint64{}
	for k, v := range c.stats.Sent {
		s.Sent[k] = v
	}
	s.Errors = append([]wire.Error(nil), c.stats.Errors...)
	s.Peers = make(map[string]string, len(c.stats.Peers))
	for k, v := range c.stats.Peers {
		s.Peers[k] = v
	}
	s.Received = make([]TrackStats, 0, len(c.byID))
	for _, t := range c.byID {
		s.Received = append(s.Received, *t)
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

func (c *counters) update(f func(s *Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

// track returns the counters of a remote track, creating them.
func (c *counters) track(id, participant string, kind signaling.TrackKind) *TrackStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.byID[id]
	if !ok {
		t = &TrackStats{TrackID: id, Participant: participant, Kind: kind}
		c.byID[id] = t
	}
	return t
}

func (c *counters) received(t *TrackStats, p *rtp.Packet, size int, now time.Time) {
	key := t.Kind == signaling.Video && startsVP8Keyframe(p.Payload)
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Packets == 0 {
		t.FirstPacket = now
	}
	t.Packets++
	t.Bytes += uint64(size)
	t.LastPacket = now
	if key {
		t.Keyframes++
	}
}

// startsVP8Keyframe reports whether an RTP payload is the first packet of a VP8 key frame.
func startsVP8Keyframe(payload []byte) bool {
	var vp8 codecs.VP8Packet
	body, err := vp8.Unmarshal(payload)
	if err != nil || vp8.S != 1 || vp8.PID != 0 {
		return false
	}
	return isVP8Keyframe(body)
}
