package embedded

import (
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/wire"
)

// maxPublished bounds the m-lines a client may send media on (camera, microphone, a shared
// screen, with room to spare).
const maxPublished = 4

// The server is the impolite peer of "perfect negotiation": when both sides offer at once the
// server keeps its offer and refuses the client's (signaling.glare); the client rolls back,
// answers, and offers again. A client that cannot roll back (pion) joins with offer_first:
// the server then holds its own offers until the client's first offer is answered, and such
// a client never meets glare if it offers only that once.

// requestOffer has the server (re)negotiate as soon as the signaling state allows it; restart
// asks for new ICE credentials (ICE restart).
func (p *participant) requestOffer(restart bool) {
	p.neg.Lock()
	defer p.neg.Unlock()
	p.wantOffer = true
	p.wantRestart = p.wantRestart || restart
	p.offerLocked()
}

func (p *participant) offerLocked() {
	if !p.wantOffer || p.holdOffers || p.pc.SignalingState() != webrtc.SignalingStateStable {
		return
	}
	p.mu.Lock()
	ready := p.sess != nil && !p.gone
	p.mu.Unlock()
	if !ready {
		return // sent when the participant resumes
	}
	if len(p.pc.GetTransceivers()) == 0 {
		p.wantOffer, p.wantRestart = false, false
		return
	}
	p.closeGate()
	defer p.openGate()
	offer, err := p.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: p.wantRestart})
	if err != nil {
		p.log.Error("create offer", "err", err)
		return
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		p.log.Error("set local offer", "err", err)
		return
	}
	p.wantOffer, p.wantRestart = false, false
	p.offerTracks = p.midTracks()
	p.send(wire.Offer{SDP: offer.SDP, Tracks: p.offerTracks})
}

// resendOffer sends again the server's offer the client has not answered: after a resume,
// the client may never have received it (the socket dropped), and the server sends no other
// offer until it is answered. An offer already received is simply answered again. It
// reports whether there was one.
func (p *participant) resendOffer() bool {
	p.neg.Lock()
	defer p.neg.Unlock()
	if p.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return false
	}
	d := p.pc.LocalDescription()
	if d == nil {
		return false
	}
	p.send(wire.Offer{SDP: d.SDP, Tracks: p.offerTracks})
	return true
}

// midTracks maps the mid of every m-line the server sends on to the track it carries.
func (p *participant) midTracks() map[string]wire.Track {
	p.mu.Lock()
	byID := make(map[string]*publishedTrack, len(p.downs))
	for t := range p.downs {
		byID[t.id] = t
	}
	p.mu.Unlock()
	out := map[string]wire.Track{}
	for _, tr := range p.pc.GetTransceivers() {
		s := tr.Sender()
		if s == nil || s.Track() == nil || tr.Mid() == "" {
			continue
		}
		if t, ok := byID[s.Track().ID()]; ok {
			out[tr.Mid()] = t.wireInfo()
		}
	}
	return out
}

// handleAnswer applies the client's answer to the server's offer. An answer pion cannot apply
// leaves the connection unusable (pion cannot roll back), so it ends the participant.
func (p *participant) handleAnswer(sdpText string) error {
	p.neg.Lock()
	defer p.neg.Unlock()
	if p.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return kaiping.E(kaiping.KindConflict, wire.CodeMessageUnexpected, "服务器没有待应答的 offer")
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdpText}); err != nil {
		p.log.Info("refused answer", "err", err)
		return errBroken(kaiping.E(kaiping.KindInvalid, wire.CodeSDPInvalid, "answer 无法应用："+truncateErr(err)))
	}
	p.ufrags.applied(sdpText)
	p.negotiated()
	p.offerLocked()
	return nil
}

// handleOffer answers a client's offer. M-lines that send media the grant does not allow
// are answered inactive (the server receives nothing on them) and the client is told why
// with a publish_forbidden error; the rest of the offer is accepted.
func (p *participant) handleOffer(sdpText string) error {
	p.neg.Lock()
	defer p.neg.Unlock()
	if p.pc.SignalingState() != webrtc.SignalingStateStable {
		return kaiping.E(kaiping.KindConflict, wire.CodeGlare,
			"服务器的 offer 正在等待应答：请回滚您的 offer，先应答服务器，再重新发送")
	}
	refused, refusal, err := checkOffer(sdpText, p.perms)
	if err != nil {
		return err
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdpText}); err != nil {
		refusal := kaiping.E(kaiping.KindInvalid, wire.CodeSDPInvalid, "offer 无法应用："+truncateErr(err))
		if p.pc.SignalingState() != webrtc.SignalingStateStable {
			return errBroken(refusal)
		}
		return refusal
	}
	p.ufrags.applied(sdpText)
	for _, tr := range p.pc.GetTransceivers() {
		if refused[tr.Mid()] {
			_ = tr.Stop()
		}
	}
	p.closeGate()
	defer p.openGate()
	answer, err := p.pc.CreateAnswer(nil)
	if err == nil {
		err = p.pc.SetLocalDescription(answer)
	}
	if err != nil {
		return errBroken(kaiping.E(kaiping.KindInvalid, wire.CodeSDPInvalid, "无法应答 offer："+truncateErr(err)))
	}
	p.send(wire.Answer{SDP: answer.SDP})
	if refusal != nil {
		p.send(wire.ErrorMessage(refusal, false))
	}
	p.holdOffers = false
	p.negotiated()
	p.offerLocked()
	return nil
}

// brokenError marks a failure that leaves the peer connection unusable.
type brokenError struct{ err *kaiping.Error }

func errBroken(e *kaiping.Error) error { return brokenError{e} }

func (b brokenError) Error() string { return b.err.Error() }

func (b brokenError) Unwrap() error { return b.err }

// checkOffer finds the m-lines (by mid) on which an offer sends media the grant does not
// allow, with the error to tell the client. It refuses outright an offer it cannot parse or
// one with data channels (data messages travel over the signaling socket).
func checkOffer(sdpText string, perms signaling.Permissions) (refused map[string]bool, refusal *kaiping.Error, err error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(sdpText); err != nil {
		return nil, nil, kaiping.E(kaiping.KindInvalid, wire.CodeSDPInvalid, "offer 的 SDP 无法解析")
	}
	sessionDir := direction(d.Attributes, "sendrecv")
	refused = map[string]bool{}
	sending := 0
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Port.Value == 0 {
			continue // rejected m-line
		}
		kind := signaling.TrackKind(m.MediaName.Media)
		if !kind.Valid() {
			return nil, nil, kaiping.Errorf(kaiping.KindInvalid, wire.CodeSDPInvalid, "不支持的媒体类型 %q：仅支持 audio 和 video", truncate(m.MediaName.Media))
		}
		mid, _ := m.Attribute("mid")
		dir := direction(m.Attributes, sessionDir)
		if dir != "sendrecv" && dir != "sendonly" {
			continue
		}
		switch {
		case !perms.CanPublish(kind):
			what := map[signaling.TrackKind]string{signaling.Audio: "音频", signaling.Video: "视频"}[kind]
			refused[mid] = true
			refusal = kaiping.Errorf(kaiping.KindForbidden, signaling.CodePublishForbidden, "您的入会凭证不允许发布%s，该轨道未被接收", what)
		case sending >= maxPublished:
			refused[mid] = true
			refusal = kaiping.Errorf(kaiping.KindForbidden, signaling.CodePublishForbidden, "发布的媒体轨道过多（至多 %d 个），多余的轨道未被接收", maxPublished)
		default:
			sending++
		}
	}
	return refused, refusal, nil
}

func direction(attrs []sdp.Attribute, def string) string {
	for _, a := range attrs {
		switch a.Key {
		case "sendrecv", "sendonly", "recvonly", "inactive":
			return a.Key
		}
	}
	return def
}

// negotiated runs after each completed offer/answer exchange (p.neg held).
func (p *participant) negotiated() {
	p.flushCandidates()
	p.mu.Lock()
	if p.health.negotiatedAt.IsZero() {
		p.health.negotiatedAt = time.Now()
	}
	p.mu.Unlock()
}

func toWireCandidate(c webrtc.ICECandidateInit) *wire.CandidateInit {
	return &wire.CandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
}

func fromWireCandidate(c *wire.CandidateInit) webrtc.ICECandidateInit {
	return webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
}

func truncateErr(err error) string { return truncate(err.Error()) }

func truncate(s string) string {
	const max = 120
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
