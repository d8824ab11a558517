package seat

import (
	"maps"
	"slices"
	"sync"
	"time"

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

// From returns the received tracks of participant.
func (s Stats) From(participant string) []TrackStats { return TracksFrom(s.Received, participant) }

// FirstFrame is when the first packet of participant's video arrived, once a key frame of
// it has (zero before): every frame of the synthetic source is a key frame, so that packet
// belongs to a decodable frame.
func (s Stats) FirstFrame(participant string) time.Time {
	for _, t := range s.From(participant) {
		if t.Kind == signaling.Video && t.Keyframes > 0 {
			return t.FirstPacket
		}
	}
	return time.Time{}
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
	mu       sync.Mutex
	stats    Stats
	received *Reception
}

func newCounters() *counters {
	return &counters{stats: Stats{Sent: map[signaling.TrackKind]uint64{}, Peers: map[string]string{}},
		received: NewReception()}
}

func (c *counters) snapshot() Stats {
	c.mu.Lock()
	s := c.stats
	s.Sent = maps.Clone(c.stats.Sent)
	s.Errors = slices.Clone(c.stats.Errors)
	s.Peers = maps.Clone(c.stats.Peers)
	c.mu.Unlock()
	s.Received = c.received.Snapshot()
	return s
}

func (c *counters) update(f func(s *Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}
