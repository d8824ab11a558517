package embedded

import (
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/mediatest"
)

// TestMediaSuite: the embedded SFU passes the interface test suite every backend passes,
// with clients/seat agents as participants.
func TestMediaSuite(t *testing.T) {
	mediatest.Run(t, mediatest.Backend{
		Media: mustServer(t, kaiping.SystemClock{}),
		Room:  func() string { return "suite-" + string(kaiping.NewID())[:8] },
		Join: func(tb testing.TB, g signaling.Grant) mediatest.Participant {
			return seatParticipant{startSeat(tb, g)}
		},
	})
}

// seatParticipant is a clients/seat agent as the suite sees it.
type seatParticipant struct{ *running }

func (p seatParticipant) Received(identity string) (audio, video uint64) {
	for _, t := range p.Stats().From(identity) {
		if t.Kind == signaling.Audio {
			audio += t.Packets
		} else {
			video += t.Packets
		}
	}
	return audio, video
}

func (p seatParticipant) Peers() map[string]string { return p.Stats().Peers }

func (p seatParticipant) Leave() { _ = p.stop() }
