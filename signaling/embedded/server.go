// Package embedded is the default backend of the media plane: a selective forwarding unit
// (SFU) built on pion/webrtc that runs inside the kaiping binary. Participants join over the
// WebSocket signaling protocol of ../PROTOCOL.md with a grant token; each has one
// PeerConnection; RTP from every publisher is forwarded to every subscriber its grant allows,
// with one writer goroutine and a bounded queue per subscriber track so that a slow subscriber
// loses packets instead of stalling the others. All peers share one UDP port (ICE UDP mux),
// with ICE-TCP and an embedded TURN server as fallbacks.
package embedded

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	fws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"golang.org/x/time/rate"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/wire"
)

// Backend is the Grant.Backend value of this backend.
const Backend = "embedded"

// Server is the embedded SFU. It implements signaling.Media.
type Server struct {
	cfg   Config
	clock kaiping.Clock
	log   *slog.Logger
	keys  keys
	net   *transport
	turn  *turnServer
	hub   signaling.Hub
	recs  *signaling.Recordings
	joins *rate.Limiter

	mu      sync.Mutex
	rooms   map[string]*room
	resumes map[string]*participant
	socks   map[*session]struct{}
	closed  bool

	wg sync.WaitGroup // every goroutine the server starts
}

var _ signaling.Media = (*Server)(nil)

// New starts the SFU's UDP (and ICE-TCP, TURN) listeners. rec records rooms (nil: recording
// unavailable); clock decides grant expiry.
func New(cfg Config, rec signaling.Recorder, clock kaiping.Clock, log *slog.Logger) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	k, err := deriveKeys(cfg.Secret)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, clock: clock, log: log, keys: k,
		recs:    signaling.NewRecordings(rec, log),
		joins:   rate.NewLimiter(rate.Limit(cfg.JoinsPerSecond), cfg.JoinBurst),
		rooms:   map[string]*room{},
		resumes: map[string]*participant{},
		socks:   map[*session]struct{}{},
	}
	if s.net, err = newTransport(cfg, log); err != nil {
		return nil, err
	}
	if cfg.TURN != nil {
		if s.turn, err = newTURNServer(*cfg.TURN, k, clock, log); err != nil {
			s.net.close()
			return nil, err
		}
	}
	return s, nil
}

// UDPAddr is the address of the shared media UDP socket.
func (s *Server) UDPAddr() net.Addr { return s.net.udpAddr() }

// TURNAddrs are the TURN server's TCP and TLS addresses (nil when not configured).
func (s *Server) TURNAddrs() (tcp, tls net.Addr) {
	if s.turn == nil {
		return nil, nil
	}
	return s.turn.tcpAddr(), s.turn.tlsAddr()
}

// Close disconnects everyone, stops recordings and releases the listeners. It waits for
// every goroutine the server started.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	rooms := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.rooms = map[string]*room{}
	socks := s.socks
	s.socks = map[*session]struct{}{}
	s.mu.Unlock()
	for sess := range socks {
		sess.finish(wire.Bye{Reason: "server_closed", Message: byeMessages["server_closed"]})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, r := range rooms {
		_ = s.recs.StopIfActive(ctx, r.name)
		r.close("server_closed")
	}
	s.hub.Close()
	s.wg.Wait()
	if s.turn != nil {
		s.turn.close()
	}
	s.net.close()
	return nil
}

// FiberHandler serves the signaling WebSocket on a fiber route (GET, e.g. /media/ws).
func (s *Server) FiberHandler() fiber.Handler {
	upgrade := fws.New(func(c *fws.Conn) { s.serve(c.Conn, c.IP()) }, fws.Config{HandshakeTimeout: 10 * time.Second})
	return func(c *fiber.Ctx) error {
		if !fws.IsWebSocketUpgrade(c) {
			return fiber.ErrUpgradeRequired
		}
		return upgrade(c)
	}
}

var httpUpgrader = websocket.Upgrader{
	HandshakeTimeout: 10 * time.Second,
	CheckOrigin:      func(*http.Request) bool { return true },
}

// ServeHTTP serves the signaling WebSocket on a net/http route. The grant token, not the
// origin, authorises a join, so any origin may connect.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, err := httpUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	s.serve(conn, host)
}

// goTracked runs f on a goroutine the server waits for on Close; once the server is closing
// it does not run f at all.
func (s *Server) goTracked(f func()) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		f()
	}()
}

func (s *Server) room(name string) (*room, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, signaling.ErrClosed()
	}
	r, ok := s.rooms[name]
	if !ok {
		return nil, signaling.ErrRoomNotFound(name)
	}
	return r, nil
}

func randomToken() string {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("embedded: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *Server) emit(ev signaling.RoomEvent) {
	ev.At = s.clock.Now()
	s.hub.Publish(ev)
}

// track registers an open socket so that Close can end it; it reports false once the server
// is closed. untrack forgets it.
func (s *Server) track(sess *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.socks[sess] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.socks, sess)
	s.wg.Done()
}
