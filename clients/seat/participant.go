package seat

import (
	"context"
	"time"
)

// Participant is a seat agent of either media backend as benchmarks and tests drive it:
// *Agent (the embedded backend's protocol) and clients/seat/livekit's *Agent implement it,
// so that one driver (BenchWith) runs and measures both.
type Participant interface {
	// Run joins and runs the agent until ctx ends (it then leaves) or the server ends the
	// session; nil after a clean leave.
	Run(ctx context.Context) error
	// Joined is closed once the agent has joined.
	Joined() <-chan struct{}
	// Received is what the agent has received so far, one entry per remote track, ordered
	// by participant, kind and track ID.
	Received() []TrackStats
	// FirstFrame is when participant's video first gave the agent a frame it could show
	// (zero until then); each backend's agent says how it tells.
	FirstFrame(participant string) time.Time
}

var _ Participant = (*Agent)(nil)
