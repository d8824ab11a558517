package demo

import (
	"context"
	"errors"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/internal/sim"
)

// demoSeatAgents are the seat agents that joined a session's media rooms.
type demoSeatAgents []*demoLive

// Stop has every seat agent leave its room.
func (as demoSeatAgents) Stop() error {
	var errs []error
	for _, a := range as {
		errs = append(errs, a.Stop())
	}
	return errors.Join(errs...)
}

// demoSeatMedia is where the seat agents (clients/seat) of the session's members join its
// media rooms once check-in is open. Each member's agent takes a grant with the member's own
// login from POST /api/v1/expert/sessions/:id/media and runs seat.New on it, publishing the
// seat's synthetic camera and microphone into its group's room as demoMediaAgent does in the
// opening hall, so that the host's console, the venue staff's page and the supervisor's view
// see and hear every seat; the returned agents leave when stopped. The platform does not
// serve that route yet, so today it joins no room and returns no agent.
func demoSeatMedia(ctx context.Context, base string, sess evaluation.Session, members map[kaiping.ID]*sim.Party) (demoSeatAgents, error) {
	return nil, nil
}
