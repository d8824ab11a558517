package seat

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/pionlog"
	"github.com/kaiping/kaiping/signaling/wire"
)

// Agent is one seat agent. Run it once; Stats may be called at any time.
type Agent struct {
	cfg    Config
	counts *counters
	joined chan struct{}
	once   sync.Once

	// Owned by Run's goroutine.
	api       *webrtc.API
	pc        *webrtc.PeerConnection
	sig       *conn
	cur       atomic.Pointer[conn] // sig, for pion's callbacks
	resume    string
	limits    wire.Limits
	pending   []webrtc.ICECandidateInit
	offering  bool // our offer awaits an answer
	refused   bool // the server refused some of what we publish
	iceEvents chan webrtc.ICEConnectionState
	wg        sync.WaitGroup
}

// New returns an agent for cfg.
func New(cfg Config) *Agent {
	return &Agent{cfg: cfg.withDefaults(), counts: newCounters(), joined: make(chan struct{}),
		iceEvents: make(chan webrtc.ICEConnectionState, 16)}
}

// Run joins with cfg and runs the agent until ctx ends (then it leaves) or the server ends
// the session.
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

// Run joins and runs the agent until ctx ends (it then leaves the room cleanly) or the
// server says bye. It returns nil after a clean leave, an error otherwise.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.cfg.validate(); err != nil {
		return err
	}
	log := a.cfg.Log
	runCtx, stop := context.WithCancel(ctx)
	defer func() {
		stop()
		if a.pc != nil {
			_ = a.pc.Close()
		}
		a.wg.Wait()
		// Only the counters outlive Run.
		a.pc, a.api, a.sig = nil, nil, nil
		a.cur.Store(nil)
	}()
	// pion cannot roll back an offer, so a publishing agent has the server wait for its one
	// offer instead of risking glare.
	offerFirst := a.cfg.PublishAudio || a.cfg.PublishVideo
	joined, err := a.connect(runCtx, wire.Join{V: wire.Version, Token: a.cfg.Token, OfferFirst: offerFirst})
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while joining
		}
		return err
	}
	if err := a.newPeer(runCtx, joined.ICEServers); err != nil {
		a.sig.close()
		return err
	}
	if err := a.publish(runCtx); err != nil {
		a.sig.close()
		return err
	}
	for {
		var m wire.Message
		var err error
		select {
		case <-ctx.Done():
			_ = a.sig.send(wire.Leave{})
			a.sig.close()
			return nil
		case st := <-a.iceEvents:
			// A failure already mended (by the ICE restart of a resume) needs no other restart.
			if st == webrtc.ICEConnectionStateFailed && a.pc.ICEConnectionState() == webrtc.ICEConnectionStateFailed {
				log.Info("media connection failed, asking for an ICE restart")
				_ = a.sig.send(wire.RestartICE{})
			}
			continue
		case msg, ok := <-a.sig.msgs:
			if !ok {
				err = a.sig.err
			}
			m = msg
		}
		if err != nil || m == nil {
			if !a.cfg.Resume {
				return fmt.Errorf("seat: signaling connection lost: %w", err)
			}
			log.Info("signaling connection lost, resuming", "err", err)
			if err := a.reconnect(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			// The resumed session restarts ICE: what ICE reported while we were away is moot.
			for len(a.iceEvents) > 0 {
				<-a.iceEvents
			}
			continue
		}
		done, err := a.handle(m)
		if err != nil {
			return a.byeInstead(err)
		}
		if done {
			return nil
		}
	}
}

// connect opens a signaling socket and joins (or resumes) with j.
func (a *Agent) connect(ctx context.Context, j wire.Join) (wire.Joined, error) {
	c, err := dial(ctx, a.cfg)
	if err != nil {
		return wire.Joined{}, err
	}
	if err := c.send(j); err != nil {
		c.close()
		return wire.Joined{}, err
	}
	jctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	m, err := c.next(jctx)
	if err != nil {
		c.close()
		return wire.Joined{}, err
	}
	switch m := m.(type) {
	case wire.Joined:
		a.sig, a.resume, a.limits = c, m.Resume, m.Limits
		a.cur.Store(c)
		a.counts.update(func(s *Stats) {
			if s.JoinedAt.IsZero() {
				s.JoinedAt = time.Now()
			}
			s.Identity = m.Identity
			s.Peers = map[string]string{}
			for _, p := range m.Participants {
				s.Peers[p.Identity] = p.Name
			}
			if m.Resumed {
				s.Resumes++
			}
		})
		a.once.Do(func() { close(a.joined) })
		return m, nil
	case wire.Error:
		c.close()
		a.counts.update(func(s *Stats) { s.Errors = append(s.Errors, m) })
		return wire.Joined{}, &JoinError{Code: m.Code, Message: m.Message}
	default:
		c.close()
		return wire.Joined{}, fmt.Errorf("seat: expected joined, got %s", m.MessageType())
	}
}

// byeInstead returns the server's farewell if one follows err within byeGrace: when the
// server ends a session in the middle of a negotiation (a room closing), the failing step is
// a consequence, and the bye is what happened.
func (a *Agent) byeInstead(err error) error {
	select {
	case m, ok := <-a.sig.msgs:
		if bye, isBye := m.(wire.Bye); ok && isBye {
			if _, byeErr := a.handle(bye); byeErr != nil || bye.Reason != "left" {
				return byeErr
			}
			return nil
		}
	case <-time.After(byeGrace):
	}
	return err
}

// byeGrace is how long byeInstead waits for a farewell after a failed step.
const byeGrace = 500 * time.Millisecond

// JoinError is the server's refusal of a join.
type JoinError struct {
	Code    string
	Message string
}

func (e *JoinError) Error() string { return "seat: join refused: " + e.Code + ": " + e.Message }

// reconnect resumes the session on a new socket within the server's resume window.
func (a *Agent) reconnect(ctx context.Context) error {
	a.sig.close()
	window := time.Duration(a.limits.ResumeWindowMS) * time.Millisecond
	deadline := time.Now().Add(window)
	for delay := 200 * time.Millisecond; ; delay = min(delay*2, time.Second) {
		_, err := a.connect(ctx, wire.Join{V: wire.Version, Resume: a.resume})
		if err == nil {
			a.cfg.Log.Info("resumed")
			return nil
		}
		var je *JoinError
		if errors.As(err, &je) || time.Now().After(deadline) {
			return fmt.Errorf("seat: could not resume: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

// handle acts on one server message; it reports true when the session is over.
func (a *Agent) handle(m wire.Message) (bool, error) {
	switch m := m.(type) {
	case wire.Offer:
		return false, a.answer(m)
	case wire.Answer:
		a.offering = false
		if err := a.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
			return false, fmt.Errorf("seat: apply answer: %w", err)
		}
		a.flushCandidates()
	case wire.Candidate:
		if m.Candidate == nil || m.Candidate.Candidate == "" {
			return false, nil
		}
		c := webrtc.ICECandidateInit{Candidate: m.Candidate.Candidate, SDPMid: m.Candidate.SDPMid,
			SDPMLineIndex: m.Candidate.SDPMLineIndex, UsernameFragment: m.Candidate.UsernameFragment}
		if a.pc.RemoteDescription() == nil {
			a.pending = append(a.pending, c)
		} else if err := a.pc.AddICECandidate(c); err != nil {
			a.cfg.Log.Debug("candidate refused", "err", err)
		}
	case wire.Error:
		a.counts.update(func(s *Stats) { s.Errors = append(s.Errors, m) })
		a.cfg.Log.Info("server error", "code", m.Code, "message", m.Message)
		return false, a.offerRefused(m)
	case wire.ParticipantJoined:
		a.counts.update(func(s *Stats) { s.Peers[m.Participant.Identity] = m.Participant.Name })
	case wire.ParticipantLeft:
		a.counts.update(func(s *Stats) { delete(s.Peers, m.Identity) })
	case wire.Bye:
		a.counts.update(func(s *Stats) { s.Bye = &m })
		a.sig.close()
		if m.Reason == "left" {
			return true, nil
		}
		return true, fmt.Errorf("seat: server ended the session: %s: %s", m.Reason, m.Message)
	}
	return false, nil
}

// offerRefused reacts to an error about our offer.
func (a *Agent) offerRefused(m wire.Error) error {
	switch m.Code {
	case wire.CodeGlare:
		return errors.New("seat: the server refused our offer (glare), which offer_first should prevent")
	case signaling.CodePublishForbidden:
		// The server answered the refused m-lines inactive; nothing is sent on them.
		a.refused = true
	}
	return nil
}

// answer applies a server offer, rolling back our own if both offered at once.
func (a *Agent) answer(m wire.Offer) error {
	if a.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
		return errors.New("seat: the server offered while our offer was outstanding (glare)")
	}
	if err := a.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
		return fmt.Errorf("seat: apply offer: %w", err)
	}
	ans, err := a.pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("seat: create answer: %w", err)
	}
	if err := a.pc.SetLocalDescription(ans); err != nil {
		return fmt.Errorf("seat: set answer: %w", err)
	}
	a.flushCandidates()
	if err := a.sig.send(wire.Answer{SDP: ans.SDP}); err != nil {
		// The network dropped between the offer and the answer. The socket is closed: Run
		// resumes the session (if it may), and the server sends its unanswered offer again.
		a.cfg.Log.Info("answer not sent, resuming", "err", err)
		return nil
	}
	a.cfg.Log.Debug("answered server offer", "tracks", len(m.Tracks))
	return nil
}

// offer sends our offer (to publish), unless one is outstanding or publishing was refused.
func (a *Agent) offer() error {
	if a.offering || len(a.pc.GetSenders()) == 0 {
		return nil
	}
	o, err := a.pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("seat: create offer: %w", err)
	}
	if err := a.pc.SetLocalDescription(o); err != nil {
		return fmt.Errorf("seat: set offer: %w", err)
	}
	a.offering = true
	return a.sig.send(wire.Offer{SDP: o.SDP})
}

func (a *Agent) flushCandidates() {
	for _, c := range a.pending {
		if err := a.pc.AddICECandidate(c); err != nil {
			a.cfg.Log.Debug("candidate refused", "err", err)
		}
	}
	a.pending = nil
}

// newPeer builds the peer connection.
func (a *Agent) newPeer(ctx context.Context, servers []wire.ICEServer) error {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return err
	}
	se := webrtc.SettingEngine{LoggerFactory: pionlog.Factory(a.cfg.Log)}
	se.SetIncludeLoopbackCandidate(a.cfg.Loopback)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(a.cfg.ICEDisconnectedTimeout, a.cfg.ICEFailedTimeout, 0)
	if a.cfg.TCPOnly {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6})
	}
	if a.cfg.UDPConn != nil {
		se.SetICEUDPMux(ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: a.cfg.UDPConn,
			Logger: pionlog.Factory(a.cfg.Log).NewLogger("udpmux")}))
	}
	a.api = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	conf := webrtc.Configuration{}
	for _, s := range servers {
		var urls []string
		for _, u := range s.URLs {
			if a.cfg.ICEURLFilter == nil || a.cfg.ICEURLFilter(u) {
				urls = append(urls, u)
			}
		}
		if len(urls) > 0 {
			conf.ICEServers = append(conf.ICEServers, webrtc.ICEServer{URLs: urls, Username: s.Username, Credential: s.Credential})
		}
	}
	if a.cfg.ForceRelay {
		conf.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := a.api.NewPeerConnection(conf)
	if err != nil {
		return err
	}
	a.pc = pc
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		j := c.ToJSON()
		sig := a.cur.Load()
		if sig == nil {
			return
		}
		_ = sig.send(wire.Candidate{Candidate: &wire.CandidateInit{Candidate: j.Candidate, SDPMid: j.SDPMid,
			SDPMLineIndex: j.SDPMLineIndex, UsernameFragment: j.UsernameFragment}})
	})
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		a.cfg.Log.Debug("ICE state", "state", s.String())
		select {
		case a.iceEvents <- s:
		default:
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.receive(ctx, t)
		}()
	})
	return nil
}

// receive counts a remote track's packets until it ends.
func (a *Agent) receive(ctx context.Context, t *webrtc.TrackRemote) {
	// The server names the stream after the publisher and the track after its track ID.
	tc := a.counts.received.Track(t.ID(), t.StreamID(), signaling.TrackKind(t.Kind().String()))
	a.cfg.Log.Debug("receiving track", "track", t.ID(), "participant", t.StreamID())
	a.counts.received.Receive(ctx, t, tc, nil)
}

// publish adds the local tracks and offers them.
func (a *Agent) publish(ctx context.Context) error {
	type pub struct {
		kind signaling.TrackKind
		src  Source
	}
	var pubs []pub
	if a.cfg.PublishAudio {
		src, err := OpenAudio(a.cfg.AudioFile)
		if err != nil {
			return err
		}
		pubs = append(pubs, pub{signaling.Audio, src})
	}
	if a.cfg.PublishVideo {
		src, err := OpenVideo(a.cfg.VideoFile, a.cfg.Width, a.cfg.Height, a.cfg.FPS, a.cfg.VideoBitrate)
		if err != nil {
			for _, p := range pubs {
				p.src.Close()
			}
			return err
		}
		pubs = append(pubs, pub{signaling.Video, src})
	}
	for _, p := range pubs {
		track, err := webrtc.NewTrackLocalStaticSample(Codec(p.kind), string(p.kind), "seat")
		if err != nil {
			return err
		}
		if _, err := a.pc.AddTrack(track); err != nil {
			return err
		}
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			defer p.src.Close()
			Play(ctx, a.cfg.Log, p.kind, p.src, track, func() { a.counts.update(func(st *Stats) { st.Sent[p.kind]++ }) })
		}()
	}
	return a.offer()
}
