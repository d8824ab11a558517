package embedded

import (
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/wire"
)

// watchInterval is how often a participant's watchdog looks at its health.
const watchInterval = 200 * time.Millisecond

// qualityInterval is how often connection quality is re-evaluated.
const qualityInterval = 5 * time.Second

// health is what the watchdog needs to decide whether a participant is still there
// (participant.mu guards it).
type health struct {
	negotiatedAt  time.Time // first completed offer/answer: the ICE timeout starts
	iceState      webrtc.ICEConnectionState
	everConnected bool
	lostSince     time.Time // socket detached or media connection down; zero if fine
	quality       signaling.Quality
	worstLoss     uint8 // worst fraction lost reported since the last evaluation (of 256)
}

func iceUp(s webrtc.ICEConnectionState) bool {
	return s == webrtc.ICEConnectionStateConnected || s == webrtc.ICEConnectionStateCompleted
}

// update recomputes lostSince (participant.mu held).
func (h *health) update(p *participant, now time.Time) {
	lost := p.sess == nil || (h.everConnected && !iceUp(h.iceState))
	switch {
	case lost && h.lostSince.IsZero():
		h.lostSince = now
	case !lost:
		h.lostSince = time.Time{}
	}
}

func (p *participant) iceStateChanged(pc *webrtc.PeerConnection, s webrtc.ICEConnectionState) {
	p.mu.Lock()
	if p.pc != pc {
		p.mu.Unlock()
		return // a connection a fresh resume replaced, closing
	}
	p.health.iceState = s
	if iceUp(s) {
		p.health.everConnected = true
	}
	p.health.update(p, time.Now())
	p.mu.Unlock()
	p.log.Debug("ICE state", "state", s.String())
}

func (p *participant) observeLoss(fraction uint8) {
	p.mu.Lock()
	if fraction > p.health.worstLoss {
		p.health.worstLoss = fraction
	}
	p.mu.Unlock()
}

// watch drops the participant when its media connection never comes up within the ICE
// timeout, or stays unreachable longer than the resume window; and reports quality changes.
func (p *participant) watch() {
	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	nextQuality := time.Now().Add(qualityInterval)
	cfg := p.srv.cfg
	for {
		select {
		case <-p.done:
			return
		case now := <-tick.C:
			p.mu.Lock()
			h := p.health
			p.mu.Unlock()
			switch {
			case !h.negotiatedAt.IsZero() && !h.everConnected && now.Sub(h.negotiatedAt) > cfg.ICETimeout:
				p.send(wire.ErrorMessage(kaiping.E(kaiping.KindTooLate, wire.CodeICETimeout,
					"媒体连接在规定时间内未能建立"), true))
				p.room.remove(p, "ice_timeout", byeMessages["ice_timeout"])
				return
			case !h.lostSince.IsZero() && now.Sub(h.lostSince) > cfg.ResumeWindow:
				p.room.remove(p, "connection_lost", byeMessages["connection_lost"])
				return
			}
			p.releaseHold(now)
			p.expireLostTracks(now)
			if now.After(nextQuality) {
				nextQuality = now.Add(qualityInterval)
				p.evaluateQuality()
			}
		}
	}
}

// evaluateQuality grades the worst loss seen since the last evaluation, inbound (gaps in what
// the participant publishes) or outbound (its receiver reports), and emits an event when the
// grade changes.
func (p *participant) evaluateQuality() {
	p.mu.Lock()
	loss := float64(p.health.worstLoss) / 256
	p.health.worstLoss = 0
	tracks := make([]*publishedTrack, 0, len(p.published))
	for _, t := range p.published {
		tracks = append(tracks, t)
	}
	p.mu.Unlock()
	for _, t := range tracks {
		if f := t.loss.take(); f > loss {
			loss = f
		}
	}
	q := signaling.QualityExcellent
	switch {
	case loss >= 0.10:
		q = signaling.QualityPoor
	case loss >= 0.02:
		q = signaling.QualityGood
	}
	p.mu.Lock()
	if !p.health.lostSince.IsZero() {
		q = signaling.QualityLost
	}
	changed := q != p.health.quality
	p.health.quality = q
	p.mu.Unlock()
	if changed {
		p.srv.emit(signaling.RoomEvent{Type: signaling.EventConnectionQuality, Room: p.room.name,
			Participant: p.identity, Hidden: p.perms.Hidden, Quality: q})
	}
}

// releaseHold stops holding server offers for a client that said it would offer first but
// has not within the join wait.
func (p *participant) releaseHold(now time.Time) {
	p.neg.Lock()
	defer p.neg.Unlock()
	if p.holdOffers && now.After(p.holdUntil) {
		p.holdOffers = false
		p.offerLocked()
	}
}
