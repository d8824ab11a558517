package recorder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/pionlog"
	"github.com/kaiping/kaiping/signaling/wire"
)

// embeddedBackend is signaling/embedded's Grant.Backend.
const embeddedBackend = "embedded"

// embeddedJoiner joins rooms of the embedded SFU as a receive-only client of PROTOCOL.md:
// it never offers (the server's offers bring the tracks), answers every server offer,
// trickles candidates, resumes after a drop within the server's resume window, and asks
// for an ICE restart when its media connection fails.
type embeddedJoiner struct {
	loopback bool
	log      *slog.Logger
	// dial and udp, if set, carry the signaling socket's TCP connections and all ICE
	// traffic (tests cut them to make the recorder drop off the network).
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	udp  net.PacketConn
}

// embeddedConn is one joined session. Its run goroutine owns the signaling state; pion's
// callbacks reach it through channels.
type embeddedConn struct {
	embeddedJoiner
	grant signaling.Grant
	sink  Sink

	pc      *webrtc.PeerConnection
	sock    *socket
	cur     atomic.Pointer[socket] // sock, for pion's candidate callback
	resume  string
	limits  wire.Limits
	pending []webrtc.ICECandidateInit
	ice     chan webrtc.ICEConnectionState
	// local carries our gathered candidates to run, which sends them after the answer
	// that announced their credentials: sent straight from pion's callback, a candidate of
	// an ICE restart could overtake the answer, and the server would drop it.
	local chan webrtc.ICECandidateInit

	sockDown, iceDown, iceUp, down bool

	leave     chan struct{}
	leaveOnce sync.Once
	done      chan struct{}

	readers trackReaders
}

// Join implements Joiner.
func (j embeddedJoiner) Join(ctx context.Context, g signaling.Grant, sink Sink) (Conn, error) {
	c := &embeddedConn{
		embeddedJoiner: j, grant: g, sink: sink,
		ice: make(chan webrtc.ICEConnectionState, 16), local: make(chan webrtc.ICECandidateInit, maxPending),
		leave: make(chan struct{}), done: make(chan struct{}),
	}
	c.log = j.log.With("room", g.Room)
	joined, sock, err := c.connect(ctx, wire.Join{V: wire.Version, Token: g.Token})
	if err != nil {
		return nil, err
	}
	c.attach(joined, sock)
	if err := c.newPeer(joined.ICEServers); err != nil {
		sock.close()
		return nil, kaiping.Internal("recorder.join", err)
	}
	go c.run()
	return c, nil
}

// Leave implements Conn.
func (c *embeddedConn) Leave(ctx context.Context) error {
	c.leaveOnce.Do(func() { close(c.leave) })
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		if s := c.cur.Load(); s != nil {
			s.close() // run ends at once without its socket
		}
		<-c.done
		return ctx.Err()
	}
}

// leaveWait is how long the server has to say bye after our leave.
const leaveWait = 3 * time.Second

func (c *embeddedConn) run() {
	defer close(c.done)
	defer c.shutdown()
	var leaving <-chan time.Time
	leave := c.leave
	for {
		select {
		case <-leave:
			leave = nil
			_ = c.sock.send(wire.Leave{})
			leaving = time.After(leaveWait)
		case <-leaving:
			return
		case st := <-c.ice:
			c.iceState(st)
		case ci := <-c.local:
			_ = c.sock.send(wire.Candidate{Candidate: &wire.CandidateInit{Candidate: ci.Candidate, SDPMid: ci.SDPMid,
				SDPMLineIndex: ci.SDPMLineIndex, UsernameFragment: ci.UsernameFragment}})
		case m, ok := <-c.sock.msgs:
			if !ok {
				if leave == nil {
					return // we left
				}
				if !c.reconnect() {
					return
				}
				continue
			}
			if ended := c.handle(m); ended {
				return
			}
		}
	}
}

// shutdown closes the peer connection and waits until every track reader has ended, so
// that no packet reaches the sink afterwards.
func (c *embeddedConn) shutdown() {
	c.sock.close()
	c.readers.close()
	if err := c.pc.Close(); err != nil {
		c.log.Debug("closing the peer connection", "err", err)
	}
	c.readers.wait()
}

// handle acts on one server message; it reports true when the session is over.
func (c *embeddedConn) handle(m wire.Message) bool {
	switch m := m.(type) {
	case wire.Offer:
		if err := c.answer(m.SDP); err != nil {
			c.log.Error("applying the server's offer", "err", err)
			c.sink.Ended("protocol_error")
			return true
		}
	case wire.Candidate:
		if m.Candidate == nil || m.Candidate.Candidate == "" {
			return false
		}
		ci := webrtc.ICECandidateInit{Candidate: m.Candidate.Candidate, SDPMid: m.Candidate.SDPMid,
			SDPMLineIndex: m.Candidate.SDPMLineIndex, UsernameFragment: m.Candidate.UsernameFragment}
		// The candidates of a server ICE restart may come before its offer: they wait for it.
		if rd := c.pc.RemoteDescription(); rd == nil || ci.UsernameFragment != nil && !hasUfrag(rd.SDP, *ci.UsernameFragment) {
			if len(c.pending) < maxPending {
				c.pending = append(c.pending, ci)
			}
		} else if err := c.pc.AddICECandidate(ci); err != nil {
			c.log.Debug("candidate refused", "err", err)
		}
	case wire.ParticipantJoined:
		c.sink.Participant(m.Participant.Identity, m.Participant.Name)
	case wire.ParticipantLeft:
		c.sink.ParticipantLeft(m.Identity, m.Reason)
	case wire.Muted:
		if m.TrackID != "" {
			c.sink.Muted(m.TrackID, m.Muted)
		}
	case wire.Error:
		c.log.Info("server error", "code", m.Code, "fatal", m.Fatal)
	case wire.Bye:
		if m.Reason != "left" {
			c.sink.Ended(m.Reason)
		}
		return true
	}
	return false
}

func (c *embeddedConn) answer(sdp string) error {
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return err
	}
	ans, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := c.pc.SetLocalDescription(ans); err != nil {
		return err
	}
	// A failed send is a failing socket, which the reader notices (a bye, or a resume).
	_ = c.sock.send(wire.Answer{SDP: ans.SDP})
	kept := c.pending[:0]
	for _, ci := range c.pending {
		if ci.UsernameFragment != nil && !hasUfrag(sdp, *ci.UsernameFragment) {
			kept = append(kept, ci) // for a later offer still
			continue
		}
		if err := c.pc.AddICECandidate(ci); err != nil {
			c.log.Debug("candidate refused", "err", err)
		}
	}
	c.pending = kept
	return nil
}

// maxPending bounds the candidates kept waiting, both ways.
const maxPending = 64

// hasUfrag reports whether an SDP's ICE credentials have the username fragment ufrag.
func hasUfrag(sdp, ufrag string) bool {
	return strings.Contains(sdp, "a=ice-ufrag:"+ufrag+"\r\n") || strings.HasSuffix(sdp, "a=ice-ufrag:"+ufrag)
}

// iceState follows the media connection: a failure asks for an ICE restart, and a drop
// after it was up is an interruption of the recording.
func (c *embeddedConn) iceState(st webrtc.ICEConnectionState) {
	switch st {
	case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
		c.iceUp, c.iceDown = true, false
	case webrtc.ICEConnectionStateDisconnected:
		c.iceDown = c.iceUp
	case webrtc.ICEConnectionStateFailed:
		c.iceDown = c.iceUp
		c.log.Info("media connection failed, asking for an ICE restart")
		_ = c.sock.send(wire.RestartICE{})
	}
	c.updateDown()
}

// updateDown tells the sink when the recorder's connection goes down or comes back.
func (c *embeddedConn) updateDown() {
	down := c.sockDown || c.iceDown
	switch {
	case down && !c.down:
		c.sink.Interrupted()
	case !down && c.down:
		c.sink.Resumed()
	}
	c.down = down
}

// reconnect resumes the session on a new socket within the server's resume window. It
// reports false if the session is over (the resume failed, or we are leaving).
func (c *embeddedConn) reconnect() bool {
	c.sockDown = true
	c.updateDown()
	c.sock.close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.leave:
			cancel()
		case <-ctx.Done():
		}
	}()
	deadline := time.Now().Add(time.Duration(c.limits.ResumeWindowMS) * time.Millisecond)
	for delay := 200 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		joined, sock, err := c.connect(ctx, wire.Join{V: wire.Version, Resume: c.resume})
		if err == nil {
			c.attach(joined, sock)
			c.sockDown = false
			c.updateDown()
			c.log.Info("resumed")
			return true
		}
		var ke *kaiping.Error
		if ctx.Err() != nil {
			return false
		}
		if errors.As(err, &ke) && ke.Code != CodeJoinFailed || time.Now().After(deadline) {
			c.log.Warn("could not resume", "err", err)
			c.sink.Ended("connection_lost")
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(delay):
		}
	}
}

// attach makes sock the session's socket after a join or a resume.
func (c *embeddedConn) attach(j wire.Joined, sock *socket) {
	c.sock, c.resume, c.limits = sock, j.Resume, j.Limits
	c.cur.Store(sock)
	for _, p := range j.Participants {
		c.sink.Participant(p.Identity, p.Name)
	}
}

// connect opens a socket and joins (or resumes) with j.
func (c *embeddedConn) connect(ctx context.Context, j wire.Join) (wire.Joined, *socket, error) {
	sock, err := dialSocket(ctx, c.grant.URL, c.dial)
	if err != nil {
		return wire.Joined{}, nil, kaiping.Errorf(kaiping.KindUnavailable, CodeJoinFailed, "录制服务无法连接音视频服务：%v", err)
	}
	if err := sock.send(j); err != nil {
		sock.close()
		return wire.Joined{}, nil, kaiping.Errorf(kaiping.KindUnavailable, CodeJoinFailed, "录制服务无法加入房间：%v", err)
	}
	jctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var m wire.Message
	select {
	case <-jctx.Done():
	case m = <-sock.msgs:
	}
	switch m := m.(type) {
	case wire.Joined:
		return m, sock, nil
	case wire.Error:
		sock.close()
		return wire.Joined{}, nil, refusal(m)
	}
	sock.close()
	return wire.Joined{}, nil, kaiping.E(kaiping.KindUnavailable, CodeJoinFailed, "录制服务加入房间时未收到服务器应答")
}

// refusal turns the server's refusal of a join into an error with the server's code.
func refusal(m wire.Error) *kaiping.Error {
	kind := kaiping.KindUnavailable
	switch m.Code {
	case signaling.CodeGrantInvalid, signaling.CodeGrantExpired, signaling.CodeResumeInvalid:
		kind = kaiping.KindUnauthenticated
	case signaling.CodeRoomNotFound:
		kind = kaiping.KindNotFound
	case signaling.CodeRoomFull:
		kind = kaiping.KindConflict
	}
	return kaiping.E(kind, m.Code, m.Message)
}

// newPeer builds the receive-only peer connection.
func (c *embeddedConn) newPeer(servers []wire.ICEServer) error {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return err
	}
	se := webrtc.SettingEngine{LoggerFactory: pionlog.Factory(c.log)}
	se.SetIncludeLoopbackCandidate(c.loopback)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if c.udp != nil {
		se.SetICEUDPMux(ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: c.udp, Logger: pionlog.Factory(c.log).NewLogger("udpmux")}))
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	conf := webrtc.Configuration{}
	for _, s := range servers {
		conf.ICEServers = append(conf.ICEServers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	pc, err := api.NewPeerConnection(conf)
	if err != nil {
		return err
	}
	c.pc = pc
	pc.OnICECandidate(func(ic *webrtc.ICECandidate) {
		if ic == nil {
			return
		}
		select {
		case c.local <- ic.ToJSON():
		default: // more than maxPending at once: the peer has plenty already
		}
	})
	pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		select {
		case c.ice <- st:
		default:
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		c.readers.start(func() {
			// The server names the stream after the publisher and the track by its ID.
			ssrc := uint32(t.SSRC())
			readTrack(t, c.sink.Track(trackInfo(t, t.ID(), t.StreamID()), func() {
				_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
			}))
		})
	})
	return nil
}

// trackInfo describes the remote track t, published by participant under id.
func trackInfo(t *webrtc.TrackRemote, id, participant string) TrackInfo {
	codec := t.Codec()
	return TrackInfo{ID: id, Participant: participant, Kind: signaling.TrackKind(t.Kind().String()),
		MimeType: codec.MimeType, ClockRate: codec.ClockRate, Channels: codec.Channels}
}

// readTrack hands a remote track's packets to ts until the track ends.
func readTrack(t *webrtc.TrackRemote, ts TrackSink) {
	defer ts.End()
	buf := make([]byte, 1500)
	var p rtp.Packet
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		if err := p.Unmarshal(buf[:n]); err != nil {
			continue
		}
		ts.WriteRTP(&p)
	}
}

// socket is a signaling WebSocket: writes are serialised, and a reader goroutine delivers
// the server's messages on msgs until the socket fails.
type socket struct {
	ws   *websocket.Conn
	mu   sync.Mutex
	msgs chan wire.Message
	quit chan struct{} // closed by close: the reader stops even if nobody reads msgs
	once sync.Once
}

func dialSocket(ctx context.Context, url string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) (*socket, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, NetDialContext: dial}
	ws, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(wire.MaxServerMessageBytes)
	s := &socket{ws: ws, msgs: make(chan wire.Message, 64), quit: make(chan struct{})}
	go s.read()
	return s, nil
}

func (s *socket) read() {
	defer close(s.msgs)
	for {
		_, b, err := s.ws.ReadMessage()
		if err != nil {
			return
		}
		m, err := wire.Parse(b)
		if err != nil {
			return // a server that speaks another protocol: treat as a dropped socket
		}
		select {
		case s.msgs <- m:
		case <-s.quit:
			return
		}
	}
}

func (s *socket) send(m wire.Message) error {
	b, err := wire.Marshal(m)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := s.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		return fmt.Errorf("recorder: signaling write: %w", err)
	}
	return nil
}

func (s *socket) close() {
	s.once.Do(func() {
		close(s.quit)
		_ = s.ws.Close()
	})
}
