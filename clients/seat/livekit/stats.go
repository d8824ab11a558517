package livekit

import (
	"maps"
	"sync"
	"time"

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

// TrackStats counts one remote track, as clients/seat's agent does: the same counter
// (seat.Reception), lost packets and first key frame included.
type TrackStats = seat.TrackStats

// From returns the received tracks of participant.
func (s Stats) From(participant string) []TrackStats { return seat.TracksFrom(s.Received, participant) }

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
	mu       sync.Mutex
	stats    Stats
	received *seat.Reception
}

func newCounters() *counters {
	return &counters{
		stats: Stats{Sent: map[signaling.TrackKind]uint64{}, Published: map[signaling.TrackKind]bool{},
			Refused: map[signaling.TrackKind]string{}, Peers: map[string]string{}},
		received: seat.NewReception(),
	}
}

func (c *counters) update(f func(s *Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

func (c *counters) snapshot() Stats {
	c.mu.Lock()
	s := c.stats
	s.Sent = maps.Clone(c.stats.Sent)
	s.Published = maps.Clone(c.stats.Published)
	s.Refused = maps.Clone(c.stats.Refused)
	s.Peers = maps.Clone(c.stats.Peers)
	c.mu.Unlock()
	s.Received = c.received.Snapshot()
	return s
}
