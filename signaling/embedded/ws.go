package embedded

import (
	"errors"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/wire"
)

// serve runs one signaling WebSocket until it closes: the join, then the participant's
// messages. A socket that closes without "leave" only detaches the participant, which may
// resume within the resume window.
func (s *Server) serve(conn *websocket.Conn, remoteIP string) {
	log := s.log.With("remote", remoteIP)
	sess := newSession(conn, log, s.cfg.PingInterval)
	if !s.track(sess) {
		sess.fail(signaling.ErrClosed())
		<-sess.done
		return
	}
	defer s.untrack(sess)
	defer func() { <-sess.done }()

	_ = conn.SetReadDeadline(time.Now().Add(s.cfg.JoinWait))
	msg, err := sess.read(wire.MaxMessageBytes)
	if err != nil {
		if errors.Is(err, errClosed) {
			err = kaiping.E(kaiping.KindTooLate, wire.CodeJoinTimeout, "未在规定时间内发送 join 消息")
		}
		sess.fail(err)
		return
	}
	join, ok := msg.(wire.Join)
	if !ok {
		sess.fail(kaiping.E(kaiping.KindInvalid, wire.CodeMessageUnexpected, "第一条消息须为 join"))
		return
	}
	if !s.joins.Allow() {
		sess.fail(kaiping.E(kaiping.KindUnavailable, wire.CodeBusy, "加入请求过于频繁，请稍后重试"))
		return
	}
	var p *participant
	if join.Resume != "" {
		p, err = s.resume(join.Resume, join.Fresh, join.OfferFirst, sess)
	} else {
		p, err = s.join(join.Token, join.OfferFirst, sess)
	}
	if err != nil {
		log.Info("join refused", "code", kaiping.CodeOf(err), "err", err)
		sess.fail(err)
		return
	}
	sess.extend()
	conn.SetPongHandler(func(string) error { sess.extend(); return nil })
	for {
		msg, err := sess.read(wire.MaxMessageBytes)
		if kaiping.CodeOf(err) == wire.CodeMessageUnknown {
			// A newer client's message: say so and carry on.
			sess.extend()
			p.send(wire.ErrorMessage(err, false))
			continue
		}
		if err != nil {
			if !errors.Is(err, errClosed) {
				sess.fail(err)
			}
			break
		}
		sess.extend()
		if leave := p.handle(msg); leave {
			return
		}
	}
	sess.finish(nil)
	p.detach(sess)
}

// handle acts on one message from p's client; it reports true when the client left.
func (p *participant) handle(msg wire.Message) (left bool) {
	var err error
	switch m := msg.(type) {
	case wire.Offer:
		err = p.handleOffer(m.SDP)
	case wire.Answer:
		err = p.handleAnswer(m.SDP)
	case wire.Candidate:
		p.addCandidate(m.Candidate)
	case wire.RestartICE:
		p.requestOffer(true)
	case wire.Data:
		if !p.perms.Data {
			err = kaiping.E(kaiping.KindForbidden, signaling.CodeDataForbidden, "您的入会凭证不允许发送消息")
		} else {
			p.room.data(p, m.To, m.Payload)
		}
	case wire.Leave:
		p.room.remove(p, "left", byeMessages["left"])
		return true
	default:
		err = kaiping.Errorf(kaiping.KindInvalid, wire.CodeMessageUnexpected, "客户端不应发送 %s 消息", m.MessageType())
	}
	var broken brokenError
	if errors.As(err, &broken) {
		p.send(wire.ErrorMessage(err, true))
		p.room.remove(p, "protocol_error", byeMessages["protocol_error"])
		return true
	}
	if err != nil {
		p.send(wire.ErrorMessage(err, false))
	}
	return false
}

// join admits a new participant with a grant token.
func (s *Server) join(token string, offerFirst bool, sess *session) (*participant, error) {
	c, err := s.keys.checkGrant(token, s.clock.Now())
	if err != nil {
		return nil, err
	}
	r, err := s.room(c.Room)
	if err != nil {
		return nil, err
	}
	p, err := newParticipant(s, r, c, sess)
	if err != nil {
		return nil, kaiping.Internal("embedded.join", err)
	}
	p.holdOffers, p.holdUntil = offerFirst, time.Now().Add(s.cfg.JoinWait)
	s.mu.Lock()
	s.resumes[p.resume] = p
	s.mu.Unlock()
	replaced, err := r.add(p, s.joinedMessage(p, false))
	if err != nil {
		s.forgetResume(p.resume)
		_ = p.pc.Close()
		return nil, err
	}
	if replaced != nil {
		r.remove(replaced, "replaced", byeMessages["replaced"])
	}
	s.goTracked(p.watch)
	p.log.Info("participant joined", "hidden", p.perms.Hidden)
	s.emit(signaling.RoomEvent{Type: signaling.EventJoined, Room: r.name, Participant: p.identity, Hidden: p.perms.Hidden})
	if !p.perms.Hidden {
		info := p.wireInfo()
		for _, q := range r.others(p) {
			q.send(wire.ParticipantJoined{Participant: info})
		}
	}
	for _, q := range r.others(p) {
		if !p.perms.Subscribe.Allows(q.identity) {
			continue
		}
		q.mu.Lock()
		tracks := make([]*publishedTrack, 0, len(q.published))
		for _, t := range q.published {
			tracks = append(tracks, t)
		}
		q.mu.Unlock()
		for _, t := range tracks {
			p.subscribe(t)
		}
	}
	return p, nil
}

// resume reattaches a dropped participant to a new socket. A client that kept its peer
// connection gets the server's unanswered offer again, then an ICE restart; one that brings
// a new peer connection (fresh, or the server's side was closed by the client's closing its
// own) has the server's side replaced and negotiates anew.
func (s *Server) resume(token string, fresh, offerFirst bool, sess *session) (*participant, error) {
	s.mu.Lock()
	p, ok := s.resumes[token]
	s.mu.Unlock()
	if !ok {
		return nil, kaiping.E(kaiping.KindUnauthenticated, signaling.CodeResumeInvalid, "恢复凭证无效或已过期，请使用新的入会凭证重新加入")
	}
	r := p.room
	r.mu.Lock()
	if r.parts[p.identity] != p {
		r.mu.Unlock()
		return nil, kaiping.E(kaiping.KindUnauthenticated, signaling.CodeResumeInvalid, "恢复凭证无效或已过期，请使用新的入会凭证重新加入")
	}
	old, oldToken, newToken, ok := p.attach(sess)
	if !ok {
		r.mu.Unlock()
		return nil, kaiping.E(kaiping.KindUnauthenticated, signaling.CodeResumeInvalid, "恢复凭证无效或已过期，请使用新的入会凭证重新加入")
	}
	s.mu.Lock()
	delete(s.resumes, oldToken)
	s.resumes[newToken] = p
	s.mu.Unlock()
	joined := s.joinedMessage(p, true)
	joined.Participants = r.visibleLocked(p)
	p.send(joined)
	r.mu.Unlock()
	if old != nil {
		old.finish(wire.Bye{Reason: "replaced", Message: byeMessages["replaced"]})
	}
	closed := p.peer().SignalingState() == webrtc.SignalingStateClosed
	p.log.Info("participant resumed", "fresh", fresh, "peer_closed", closed)
	if fresh || closed {
		if err := p.renew(offerFirst); err != nil {
			r.remove(p, "protocol_error", byeMessages["protocol_error"])
			return nil, kaiping.Internal("embedded.resume", err)
		}
		return p, nil
	}
	p.neg.Lock()
	restart := p.pc.RemoteDescription() != nil
	p.neg.Unlock()
	if !p.resendOffer() || restart {
		p.requestOffer(restart)
	}
	return p, nil
}

func (s *Server) joinedMessage(p *participant, resumed bool) wire.Joined {
	p.mu.Lock()
	token := p.resume
	p.mu.Unlock()
	j := wire.Joined{
		V: wire.Version, Room: p.room.name, Identity: p.identity, Resume: token, Resumed: resumed,
		ICEServers: []wire.ICEServer{},
		Limits: wire.Limits{
			MaxMessageBytes: wire.MaxMessageBytes, MaxDataBytes: wire.MaxDataBytes,
			ResumeWindowMS: int(s.cfg.ResumeWindow.Milliseconds()), ICETimeoutMS: int(s.cfg.ICETimeout.Milliseconds()),
			PingIntervalMS: int(s.cfg.PingInterval.Milliseconds()),
		},
	}
	if s.turn != nil {
		j.ICEServers = s.turn.iceServers(p.identity)
	}
	return j
}

func (s *Server) forgetResume(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.resumes, token)
}
