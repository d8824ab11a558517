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

// demoSeatMedia has a seat agent (clients/seat) join the committee's room for every member of
// sess whose identity was confirmed at the seat, each with a grant taken with the member's own
// login from POST /api/v1/expert/sessions/:id/media, publishing the seat's synthetic camera
// and microphone: the host's console, the venue staff's page and the supervisor's view then
// see and hear every seat. The agents stay until stopped; on an error those already joined
// leave.
func demoSeatMedia(ctx context.Context, sess evaluation.Session, members map[kaiping.ID]*sim.Party) (demoSeatAgents, error) {
	var out demoSeatAgents
	for _, m := range sitting(sess) {
		p := members[m.Principal]
		if p == nil || m.Confirmed == nil {
			continue
		}
		a, err := demoMediaAgent(ctx, p, "/api/v1/expert/sessions/"+string(sess.ID)+"/media", nil)
		if err != nil {
			return nil, errors.Join(err, out.Stop())
		}
		out = append(out, a)
	}
	return out, nil
}
