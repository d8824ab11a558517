package livekit

import (
	"context"

	"github.com/kaiping/kaiping/clients/seat"
	"github.com/kaiping/kaiping/signaling"
)

// Load is the media benchmark scenario, the same for both backends (seat.Load): Seats
// publish audio and video and subscribe to everyone; Subscribers and Hidden only subscribe.
type Load = seat.Load

// Result is what a Load measured (seat.Result); FirstFrame here runs to the publisher's
// first key frame.
type Result = seat.Result

// Bench runs load in a new room of media (created, then closed) and measures it with
// clients/seat's driver, the one the embedded side of the comparison runs. media must be
// the LiveKit backend (signaling/livekit), whose grants these agents speak; the loss is the
// agents' own, from the gaps in the sequence numbers.
func Bench(ctx context.Context, media signaling.Media, load Load) (Result, error) {
	return seat.BenchWith(ctx, media, seat.BenchBackend{Name: backend, Agent: benchAgent}, load)
}

// backend is the LiveKit backend's name in its grants (signaling/livekit.Backend).
const backend = "livekit"

// benchAgent is an agent joining with g, publishing at the load's video bitrate.
func benchAgent(g signaling.Grant, load Load) (seat.Participant, seat.Meter, error) {
	cfg := ConfigFromGrant(g)
	cfg.VideoBitrate = load.VideoBitrate
	return New(cfg), nil, nil
}
