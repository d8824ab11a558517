package recorder

import (
	"context"
	"sync"

	"github.com/pion/rtp"

	"github.com/kaiping/kaiping/signaling"
)

// Joiner joins a room with a grant, as a client of one backend's protocol, and delivers
// what it receives to a Sink. The recorder holds one per backend (Grant.Backend): the
// embedded SFU's PROTOCOL.md client and LiveKit's.
type Joiner interface {
	// Join joins with g and returns once the server has accepted the join; sink hears of
	// everything from then on, possibly before Join returns. ctx bounds joining only.
	Join(ctx context.Context, g signaling.Grant, sink Sink) (Conn, error)
}

// Conn is a joined session.
type Conn interface {
	// Leave leaves the room and returns once no more packets will reach the sink (every
	// track has ended), or when ctx ends.
	Leave(ctx context.Context) error
}

// Sink receives a session's events. Its methods may be called from several goroutines.
type Sink interface {
	// Participant says that identity, named name, is in the room (at join, at a later join,
	// again after a resume).
	Participant(identity, name string)
	// ParticipantLeft says that identity left the room, for reason.
	ParticipantLeft(identity, reason string)
	// Track opens a received track. The joiner then calls WriteRTP from one goroutine for
	// its packets and End when it ends; keyframe asks the publisher for a key frame.
	Track(info TrackInfo, keyframe func()) TrackSink
	// Muted says that the server stopped (or resumed) forwarding the track trackID.
	Muted(trackID string, muted bool)
	// Interrupted and Resumed bracket a loss of the recorder's own connection.
	Interrupted()
	Resumed()
	// Ended says that the server ended the session, for reason (a bye reason).
	Ended(reason string)
}

// TrackSink receives one track's packets.
type TrackSink interface {
	// WriteRTP takes a packet; p and its payload are valid only during the call.
	WriteRTP(p *rtp.Packet)
	// End says the track ended. It may be called more than once.
	End()
}

// TrackInfo describes a received track.
type TrackInfo struct {
	// ID is the backend's track ID; Participant the publisher's identity.
	ID          string
	Participant string
	Kind        signaling.TrackKind
	// MimeType, ClockRate and Channels are the negotiated codec's.
	MimeType  string
	ClockRate uint32
	Channels  uint16
}

// trackReaders runs a goroutine per received track (reading it into its TrackSink) and,
// once the session ends, lets none start and waits for those running: after that, no
// packet reaches the sink.
type trackReaders struct {
	mu      sync.Mutex
	closing bool
	wg      sync.WaitGroup
}

// start runs read on its own goroutine, unless the session is ending.
func (t *trackReaders) start(read func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		read()
	}()
}

// close lets no more readers start.
func (t *trackReaders) close() {
	t.mu.Lock()
	t.closing = true
	t.mu.Unlock()
}

func (t *trackReaders) closed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closing
}

// wait waits for the running readers (after close, and after closing what they read).
func (t *trackReaders) wait() { t.wg.Wait() }
