package livekit

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	lkp "github.com/livekit/protocol/livekit"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/kaiping/kaiping/clients/seat"
	"github.com/kaiping/kaiping/signaling"
)

// Agent is one seat agent in a LiveKit room. Run it once; Stats may be called at any time.
type Agent struct {
	cfg    Config
	counts *counters
	joined chan struct{}
	ended  chan struct{} // closed when the server ends the session
	once   sync.Once
	endMu  sync.Once

	mu      sync.Mutex
	leaving bool           // Run is returning: start no more goroutines
	wg      sync.WaitGroup // every goroutine Run waits for
}

// spawn runs f on a goroutine Run waits for, unless Run is already returning: the LiveKit
// client calls back from its own goroutines, even while the room is being left.
func (a *Agent) spawn(f func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.leaving {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// New returns an agent for cfg.
func New(cfg Config) *Agent {
	return &Agent{cfg: cfg.withDefaults(), counts: newCounters(), joined: make(chan struct{}), ended: make(chan struct{})}
}

// Run joins with cfg and runs an agent until ctx ends (then it leaves) or the server ends the
// session.
func Run(ctx context.Context, cfg Config) error { return New(cfg).Run(ctx) }

// Joined is closed once the agent has joined.
func (a *Agent) Joined() <-chan struct{} { return a.joined }

// Stats returns what the agent has sent and received so far.
func (a *Agent) Stats() Stats { return a.counts.snapshot() }

// Received returns what the agent has received so far, per remote track.
func (a *Agent) Received() []TrackStats { return a.counts.received.Snapshot() }

// FirstFrame is Stats().FirstFrame(participant), reading only the received tracks.
func (a *Agent) FirstFrame(participant string) time.Time {
	return Stats{Received: a.Received()}.FirstFrame(participant)
}

var _ seat.Participant = (*Agent)(nil)

// JoinError is the server's refusal of a join, with the signaling code it amounts to.
type JoinError struct {
	Code    string
	Message string // what the server said
}

func (e *JoinError) Error() string { return "seat: join refused: " + e.Code + ": " + e.Message }

// EndedError says the server ended the session (removed the participant, closed the room).
type EndedError struct{ Reason string }

func (e *EndedError) Error() string { return "seat: the server ended the session: " + e.Reason }

// Run joins and runs the agent until ctx ends (it then leaves the room) or the server ends
// the session (*EndedError). It returns nil after leaving.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.cfg.validate(); err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer func() {
		stop()
		a.mu.Lock()
		a.leaving = true
		a.mu.Unlock()
		a.wg.Wait()
	}()
	room := lksdk.NewRoom(a.callbacks(runCtx))
	a.counts.update(func(s *Stats) { s.JoinStarted = time.Now() })
	err := room.JoinWithContextAndToken(ctx, a.cfg.URL, a.cfg.Token,
		lksdk.WithAutoSubscribe(a.cfg.Only == nil), lksdk.WithLogger(a.sdkLogger()))
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while joining
		}
		return joinError(err)
	}
	defer room.Disconnect()
	lp := room.LocalParticipant
	a.counts.update(func(s *Stats) {
		s.JoinedAt, s.Identity = time.Now(), lp.Identity()
		for _, rp := range room.GetRemoteParticipants() {
			s.Peers[rp.Identity()] = rp.Name()
		}
	})
	a.once.Do(func() { close(a.joined) })
	// The participants already present were announced before the callbacks could subscribe.
	for _, rp := range room.GetRemoteParticipants() {
		for _, pub := range rp.TrackPublications() {
			if rpub, ok := pub.(*lksdk.RemoteTrackPublication); ok {
				a.subscribe(rpub, rp)
			}
		}
	}
	a.publish(runCtx, lp)
	select {
	case <-ctx.Done():
		return nil
	case <-a.ended:
		return &EndedError{Reason: a.Stats().Disconnect}
	}
}

// callbacks counts what the room tells the agent.
func (a *Agent) callbacks(ctx context.Context) *lksdk.RoomCallback {
	cb := lksdk.NewRoomCallback()
	cb.OnParticipantConnected = func(rp *lksdk.RemoteParticipant) {
		a.counts.update(func(s *Stats) { s.Peers[rp.Identity()] = rp.Name() })
	}
	cb.OnParticipantDisconnected = func(rp *lksdk.RemoteParticipant) {
		a.counts.update(func(s *Stats) { delete(s.Peers, rp.Identity()) })
	}
	cb.OnTrackPublished = func(pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
		a.subscribe(pub, rp)
	}
	cb.OnTrackSubscribed = func(t *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
		track := signaling.Track{ID: pub.SID(), Participant: rp.Identity(), Kind: signaling.TrackKind(t.Kind().String())}
		tc := a.counts.received.Track(track.ID, track.Participant, track.Kind)
		a.cfg.Log.Debug("receiving track", "track", track.ID, "participant", track.Participant)
		var onPacket func(*rtp.Packet)
		if a.cfg.OnPacket != nil {
			onPacket = func(p *rtp.Packet) { a.cfg.OnPacket(track, t.Codec(), p) }
		}
		a.spawn(func() { a.counts.received.Receive(ctx, t, tc, onPacket) })
	}
	cb.OnDisconnectedWithReason = func(reason lksdk.DisconnectionReason) {
		a.counts.update(func(s *Stats) { s.Disconnect = string(reason) })
		a.endMu.Do(func() { close(a.ended) })
	}
	return cb
}

// subscribe asks for a track of rp's when the agent subscribes by itself and wants rp's.
func (a *Agent) subscribe(pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	if a.cfg.Only == nil || !a.cfg.wants(rp.Identity()) || pub.IsSubscribed() {
		return
	}
	// Not from the SDK's callback goroutine: SetSubscribed sends on the signaling connection.
	a.spawn(func() {
		if err := pub.SetSubscribed(true); err != nil {
			a.cfg.Log.Warn("subscribe", "track", pub.SID(), "err", err)
		}
	})
}

// publish publishes the configured tracks, each in its own goroutine: LiveKit does not
// answer a publication it refuses, so the SDK gives up only after its own timeout (10 s),
// which must not hold back the other track.
func (a *Agent) publish(ctx context.Context, lp *lksdk.LocalParticipant) {
	type pub struct {
		kind   signaling.TrackKind
		source lkp.TrackSource
		open   func() (seat.Source, error)
	}
	var pubs []pub
	if a.cfg.PublishAudio {
		pubs = append(pubs, pub{signaling.Audio, lkp.TrackSource_MICROPHONE,
			func() (seat.Source, error) { return seat.OpenAudio(a.cfg.AudioFile) }})
	}
	if a.cfg.PublishVideo {
		pubs = append(pubs, pub{signaling.Video, lkp.TrackSource_CAMERA,
			func() (seat.Source, error) {
				return seat.OpenVideo(a.cfg.VideoFile, a.cfg.Width, a.cfg.Height, a.cfg.FPS, a.cfg.VideoBitrate)
			}})
	}
	for _, p := range pubs {
		a.spawn(func() {
			refuse := func(err error) {
				a.cfg.Log.Info("publication refused", "kind", p.kind, "err", err)
				a.counts.update(func(s *Stats) { s.Refused[p.kind] = err.Error() })
			}
			src, err := p.open()
			if err != nil {
				refuse(err)
				return
			}
			defer src.Close()
			track, err := webrtc.NewTrackLocalStaticSample(seat.Codec(p.kind), string(p.kind), "seat")
			if err != nil {
				refuse(err)
				return
			}
			// PublishTrack cannot be cancelled: it waits for the server's answer up to its
			// timeout. Run does not wait for it (it ends by itself within 10 s).
			published := make(chan error, 1)
			go func() {
				_, err := lp.PublishTrack(track, &lksdk.TrackPublicationOptions{Name: string(p.kind), Source: p.source,
					VideoWidth: a.cfg.Width, VideoHeight: a.cfg.Height})
				published <- err
			}()
			select {
			case err = <-published:
			case <-ctx.Done():
				return
			}
			if err != nil {
				refuse(err)
				return
			}
			a.counts.update(func(s *Stats) { s.Published[p.kind] = true })
			seat.Play(ctx, a.cfg.Log, p.kind, src, track, func() { a.counts.update(func(st *Stats) { st.Sent[p.kind]++ }) })
		})
	}
}

// The LiveKit client library logs pion's internals (every ICE and signaling state change)
// through a process-wide logger that defaults to the standard library's log on stderr; an
// agent's own log goes through the logger of its room (Config.Log) instead, so the
// process-wide one is silent unless SetClientLog says otherwise.
func init() { lksdk.SetLogger(protologger.GetDiscardLogger()) }

// SetClientLog routes the LiveKit client library's process-wide log (pion's internals) to
// log. Call it before any agent runs.
func SetClientLog(log *slog.Logger) {
	lksdk.SetLogger(protologger.LogRLogger(logr.FromSlogHandler(log.Handler())))
}

// sdkLogger routes the LiveKit client's log into the agent's.
func (a *Agent) sdkLogger() protologger.Logger {
	return protologger.LogRLogger(logr.FromSlogHandler(a.cfg.Log.Handler()))
}

// joinError classifies the server's refusal of a join. The LiveKit client reports it as
// text (the body of the server's HTTP answer), so the code comes from that text. A refusal
// after the WebSocket opened (a full room) reaches the client without its reason, as
// "could not establish signal connection", and stays a plain error.
func joinError(err error) error {
	// The server quotes the token it refused; a token is a secret, so it goes.
	msg := jwtPattern.ReplaceAllString(err.Error(), "<token>")
	low := strings.ToLower(msg)
	code := ""
	switch {
	case strings.Contains(low, "token is expired"):
		code = signaling.CodeGrantExpired
	case low == "not found", strings.Contains(low, "room does not exist"):
		code = signaling.CodeRoomNotFound
	case strings.Contains(low, "unauthorized"), strings.Contains(low, "invalid token"),
		strings.Contains(low, "signature"), strings.Contains(low, "permission denied"):
		code = signaling.CodeGrantInvalid
	}
	if code == "" {
		return fmt.Errorf("seat: join: %s", msg)
	}
	return &JoinError{Code: code, Message: msg}
}

var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*`)
