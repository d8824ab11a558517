package embedded

import (
	"slices"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/kaiping/kaiping/signaling"
)

// A seat whose connection drops comes back within the resume window. If it kept its peer
// connection, ICE restarts and its tracks flow again by themselves. If it lost it (the page
// reloaded, the program restarted its media stack, or it closed the connection), it resumes
// with "fresh": the server replaces its side of the connection too, offers the participant's
// subscriptions anew, and keeps the participant's published tracks, lost, until the client
// publishes a track of the same kind on the new connection: that one takes the lost track
// over, so the others' subscriptions carry on without a renegotiation. A lost track not taken
// over within the resume window is unpublished.

// startSource forwards src as t's media: its packets and its RTCP.
func (p *participant) startSource(t *publishedTrack, src *trackSource) {
	p.srv.goTracked(func() {
		t.readLoop(src)
		p.sourceEnded(t, src)
	})
	p.srv.goTracked(func() { readRTCP(src) })
}

// sourceEnded decides what the end of src means for t. On p's current, open connection the
// client stopped sending (it removed the track, or renegotiated it away): t is unpublished.
// Otherwise the connection is gone (the client closed it, or a fresh resume replaced it): t
// stays published, lost, for a new connection to take over.
func (p *participant) sourceEnded(t *publishedTrack, src *trackSource) {
	p.mu.Lock()
	if p.published[t.id] != t || t.src.Load() != src {
		p.mu.Unlock()
		return // already unpublished, or taken over
	}
	if p.pc == src.pc && src.pc.SignalingState() != webrtc.SignalingStateClosed {
		p.mu.Unlock()
		p.unpublish(t)
		return
	}
	if t.lostAt.IsZero() {
		t.lostAt = time.Now()
	}
	p.mu.Unlock()
	p.log.Info("track kept published while its connection is lost", "track", t.id)
}

// lostTrackLocked picks the lost track of kind a new track takes over: the one the client
// gave the same id, else the one lost first (p.mu held).
func (p *participant) lostTrackLocked(kind signaling.TrackKind, clientID string) *publishedTrack {
	var best *publishedTrack
	for _, t := range p.published {
		if t.lostAt.IsZero() || t.kind != kind {
			continue
		}
		if t.clientID == clientID {
			return t
		}
		if best == nil || t.lostAt.Before(best.lostAt) || (t.lostAt.Equal(best.lostAt) && t.id < best.id) {
			best = t
		}
	}
	return best
}

// expireLostTracks unpublishes the tracks lost longer than the resume window.
func (p *participant) expireLostTracks(now time.Time) {
	p.mu.Lock()
	var expired []*publishedTrack
	for _, t := range p.published {
		if !t.lostAt.IsZero() && now.Sub(t.lostAt) > p.srv.cfg.ResumeWindow {
			expired = append(expired, t)
		}
	}
	p.mu.Unlock()
	for _, t := range expired {
		p.log.Info("lost track not taken over within the resume window", "track", t.id)
		p.unpublish(t)
	}
}

// renew replaces p's peer connection with a new one (a resume with "fresh"): the old one is
// closed, p's published tracks are kept as lost, its subscriptions are offered on the new
// connection, and negotiation starts over (offerFirst as on a new join).
func (p *participant) renew(offerFirst bool) error {
	pc, err := p.newPeer()
	if err != nil {
		return err
	}
	now := time.Now()
	p.neg.Lock()
	p.mu.Lock()
	old := p.pc
	p.pc = pc
	downs := make([]*downTrack, 0, len(p.downs))
	for _, d := range p.downs {
		downs = append(downs, d)
	}
	p.downs = map[*publishedTrack]*downTrack{}
	for _, t := range p.published {
		if t.lostAt.IsZero() {
			t.lostAt = now
		}
	}
	p.health.negotiatedAt, p.health.everConnected = time.Time{}, false
	p.health.iceState = webrtc.ICEConnectionStateNew
	p.health.update(p, now)
	p.gate = gate{}
	p.mu.Unlock()
	p.wantOffer, p.wantRestart, p.pending, p.ufrags, p.mids = false, false, nil, ufrags{}, 0
	p.holdOffers, p.holdUntil, p.offerTracks = offerFirst, now.Add(p.srv.cfg.JoinWait), nil
	p.neg.Unlock()

	for _, d := range downs {
		d.track.remove(d)
		d.stop()
	}
	if err := old.Close(); err != nil {
		p.log.Debug("close replaced peer connection", "err", err)
	}
	// Subscribe again in a stable order, so the new connection's mids follow the old ones'.
	slices.SortFunc(downs, func(a, b *downTrack) int { return compareMids(a.mid, b.mid) })
	for _, d := range downs {
		p.subscribe(d.track)
	}
	p.log.Info("peer connection renewed", "subscriptions", len(downs))
	return nil
}

// compareMids orders server mids "s0", "s1", ..., "s10" numerically.
func compareMids(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// continuity keeps a track's sequence numbers and timestamps running when a new source takes
// it over: the new connection starts at random ones, which a subscriber's jitter buffer would
// take for a huge loss or a jump in time.
type continuity struct {
	mu      sync.Mutex
	src     *trackSource // the source the offsets apply to
	seqOff  uint16
	tsOff   uint32
	lastSeq uint16
	lastTS  uint32
	lastAt  time.Time
}

// rewrite shifts pkt, read from src at now, to follow what was forwarded before.
func (c *continuity) rewrite(src *trackSource, pkt *rtp.Packet, now time.Time, clockRate uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.src != src {
		if c.src != nil {
			// The new source's first packet follows the last one forwarded, as late as the
			// time that has passed.
			gap := uint32(now.Sub(c.lastAt).Seconds() * float64(clockRate))
			c.seqOff = c.lastSeq + 1 - pkt.SequenceNumber
			c.tsOff = c.lastTS + max(gap, 1) - pkt.Timestamp
		}
		c.src = src
	}
	pkt.SequenceNumber += c.seqOff
	pkt.Timestamp += c.tsOff
	c.lastSeq, c.lastTS, c.lastAt = pkt.SequenceNumber, pkt.Timestamp, now
}
