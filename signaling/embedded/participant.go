package embedded

import (
	"log/slog"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/wire"
)

// participant is one member of a room with its PeerConnection. Its WebSocket session may
// come and go (resumption); the participant lasts until it leaves, is removed, or stays
// unreachable longer than the resume window.
type participant struct {
	srv      *Server
	room     *room
	identity string
	name     string
	perms    signaling.Permissions
	joinedAt time.Time
	// joinedMono is joinedAt on the monotonic clock, for the watchdog's timeouts.
	joinedMono time.Time
	log        *slog.Logger
	done       chan struct{} // closed when the participant is gone

	mu sync.Mutex
	// pc is the participant's current peer connection. A resume with "fresh" replaces it
	// (holding both neg and mu), so it may be read holding either.
	pc        *webrtc.PeerConnection
	sess      *session // nil while detached
	resume    string
	gone      bool
	published map[string]*publishedTrack
	downs     map[*publishedTrack]*downTrack
	muted     map[signaling.TrackKind]bool
	health    health

	// neg serialises every change to pc's transceivers and descriptions.
	neg         sync.Mutex
	wantOffer   bool
	wantRestart bool
	pending     []webrtc.ICECandidateInit
	ufrags      ufrags // the client's ICE username fragments, for routing its candidates
	mids        int    // server mids named so far
	holdOffers  bool   // offer_first: no server offer before the client's first offer
	holdUntil   time.Time
	// offerTracks is what the server's last offer carried, sent again with it when the client
	// resumes before answering.
	offerTracks map[string]wire.Track

	// gate holds the server's ICE candidates while an offer or answer is being set and sent:
	// candidates of a new ICE generation must not reach the client before the description
	// that introduces them (participant.mu guards it).
	gate gate
}

func newParticipant(srv *Server, r *room, c claims, sess *session) (*participant, error) {
	p := &participant{
		srv: srv, room: r, identity: c.Identity, name: c.Name, perms: c.Perms,
		joinedAt: srv.clock.Now(), joinedMono: time.Now(),
		log:  srv.log.With("room", r.name, "participant", c.Identity),
		done: make(chan struct{}), sess: sess, resume: randomToken(),
		published: map[string]*publishedTrack{}, downs: map[*publishedTrack]*downTrack{},
		muted: map[signaling.TrackKind]bool{},
	}
	p.health.quality = signaling.QualityExcellent
	pc, err := p.newPeer()
	if err != nil {
		return nil, err
	}
	p.pc = pc
	return p, nil
}

// newPeer creates a peer connection for p. Its callbacks act only while it is p's current
// connection: a connection replaced by a fresh resume may still report as it closes.
func (p *participant) newPeer() (*webrtc.PeerConnection, error) {
	pc, err := p.srv.net.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			p.localCandidate(pc, c.ToJSON())
		}
	})
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) { p.iceStateChanged(pc, s) })
	pc.OnTrack(func(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) { p.onTrack(pc, remote, recv) })
	return pc, nil
}

// peer returns p's current peer connection.
func (p *participant) peer() *webrtc.PeerConnection {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pc
}

// send queues m to the participant's current session, if it has one.
func (p *participant) send(m wire.Message) {
	p.mu.Lock()
	s := p.sess
	p.mu.Unlock()
	if s != nil {
		s.send(m)
	}
}

// wireInfo describes p to the others.
func (p *participant) wireInfo() wire.Participant {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := wire.Participant{Identity: p.identity, Name: p.name, Tracks: []wire.Track{}}
	for _, t := range p.published {
		w.Tracks = append(w.Tracks, t.wireInfo())
	}
	return w
}

// info describes p to the domain.
func (p *participant) info() signaling.Participant {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := signaling.Participant{
		Identity: p.identity, Name: p.name, Hidden: p.perms.Hidden, Permissions: p.perms,
		JoinedAt: p.joinedAt, Tracks: []signaling.Track{}, Quality: p.health.quality,
	}
	for _, t := range p.published {
		out.Tracks = append(out.Tracks, t.info())
	}
	return out
}

// attach makes s p's session (a resumption), rotating the resume token. It returns the
// session it replaces and the new token.
func (p *participant) attach(s *session) (old *session, oldToken, token string, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone {
		return nil, "", "", false
	}
	old, oldToken = p.sess, p.resume
	p.sess, p.resume = s, randomToken()
	p.health.update(p, time.Now())
	return old, oldToken, p.resume, true
}

// detach forgets s if it is still p's session: the socket dropped, p may resume.
func (p *participant) detach(s *session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sess == s {
		p.sess = nil
		p.health.update(p, time.Now())
	}
}

// close ends p: its session gets a bye, its tracks are unpublished, its subscriptions and
// PeerConnection are closed. It reports false if p was already closed.
func (p *participant) close(reason, message string) bool {
	p.mu.Lock()
	if p.gone {
		p.mu.Unlock()
		return false
	}
	p.gone = true
	sess, token, pc := p.sess, p.resume, p.pc
	p.sess = nil
	pubs := make([]*publishedTrack, 0, len(p.published))
	for _, t := range p.published {
		pubs = append(pubs, t)
	}
	downs := make([]*downTrack, 0, len(p.downs))
	for _, d := range p.downs {
		downs = append(downs, d)
	}
	p.downs = map[*publishedTrack]*downTrack{}
	p.mu.Unlock()

	close(p.done)
	p.srv.forgetResume(token)
	if sess != nil {
		sess.finish(wire.Bye{Reason: reason, Message: message})
	}
	for _, t := range pubs {
		p.unpublish(t)
	}
	for _, d := range downs {
		d.track.remove(d)
		d.stop()
	}
	if err := pc.Close(); err != nil {
		p.log.Debug("close peer connection", "err", err)
	}
	p.log.Info("participant gone", "reason", reason)
	return true
}

// setMuted stops or resumes forwarding p's tracks of kind and tells everyone concerned.
func (p *participant) setMuted(kind signaling.TrackKind, muted bool) {
	p.mu.Lock()
	p.muted[kind] = muted
	var tracks []*publishedTrack
	for _, t := range p.published {
		if t.kind == kind {
			t.muted.Store(muted)
			tracks = append(tracks, t)
		}
	}
	p.mu.Unlock()
	p.send(wire.Muted{Kind: kind, Muted: muted})
	for _, t := range tracks {
		if t.kind == signaling.Video && !muted {
			t.requestKeyframe()
		}
		for _, q := range p.room.others(p) {
			q.send(wire.Muted{TrackID: t.id, Kind: kind, Muted: muted})
		}
	}
}
