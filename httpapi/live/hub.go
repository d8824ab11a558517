package live

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// Hub serves one domain's live connections in this process: the rooms of the topics
// watched here, and the watchers in them. The domain's route checks a request, computes its
// first view and hands it to Upgrade; Run must run for changes to reach the watchers.
type Hub[E Event] struct {
	proto Protocol
	src   Source[E]
	auth  httpapi.Authenticator
	notes Notifications
	clock kaiping.Clock
	log   *slog.Logger
	cfg   Config

	upgrade fiber.Handler
	views   chan struct{} // one token per view being computed for one watcher

	ctx    context.Context // ends when Run ends: every connection closes
	cancel context.CancelFunc

	mu          sync.Mutex
	rooms       map[kaiping.ID]*room[E] // by topic
	byPrincipal map[kaiping.ID]int
	open        int
	closing     bool
	wg          sync.WaitGroup // connections and rooms
}

// maxClientMessage bounds what a client may send: a ping is a few dozen bytes.
const maxClientMessage = 512

// defaultPage is Config.Page when it is not set.
const defaultPage = 500

// New returns the hub of a domain: p names its protocol, src reads its events, auth checks
// the session tokens again at every ping, notes tells it of changes.
func New[E Event](p Protocol, src Source[E], auth httpapi.Authenticator, notes Notifications, clock kaiping.Clock, log *slog.Logger, cfg Config) *Hub[E] {
	cfg.SendBuffer = max(cfg.SendBuffer, 2)
	cfg.ViewWorkers = max(cfg.ViewWorkers, 1)
	if cfg.Page <= 0 {
		cfg.Page = defaultPage
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub[E]{proto: p, src: src, auth: auth, notes: notes, clock: clock, log: log, cfg: cfg,
		views: make(chan struct{}, cfg.ViewWorkers), ctx: ctx, cancel: cancel,
		rooms: map[kaiping.ID]*room[E]{}, byPrincipal: map[kaiping.ID]int{}}
	h.upgrade = websocket.New(h.serve, websocket.Config{
		HandshakeTimeout: 10 * time.Second,
		Subprotocols:     []string{p.Name},
		ReadBufferSize:   1024,
		WriteBufferSize:  4096,
		// Buffers are held only while a message is being written: most watchers are idle.
		WriteBufferPool: &sync.Pool{},
		RecoverHandler:  h.recovered,
	})
	return h
}

// Run fans out the changes of the topics watched here until ctx ends, then closes every
// connection (1001) and waits for them.
func (h *Hub[E]) Run(ctx context.Context) {
	defer h.shutdown()
	notes, err := h.notes.Subscribe(ctx)
	if err != nil {
		h.log.Error(h.proto.Area+" live: subscribe to notices", "err", err)
	}
	poll := time.NewTicker(max(h.cfg.Poll, time.Second))
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case s, ok := <-notes:
			if !ok {
				notes = nil
				continue
			}
			h.signal(s)
		case <-poll.C:
			h.signal(Signal{Resync: true})
		}
	}
}

// signal wakes the room of the topic that changed, or every room.
func (h *Hub[E]) signal(s Signal) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.Resync {
		for _, r := range h.rooms {
			r.wake()
		}
		return
	}
	if r := h.rooms[s.Topic]; r != nil {
		r.wake()
	}
}

func (h *Hub[E]) shutdown() {
	h.mu.Lock()
	h.closing = true
	for _, r := range h.rooms {
		r.closeAll(closing(websocket.CloseGoingAway, h.errShutdown()))
	}
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
}

// Watchers is the number of live connections this hub holds.
func (h *Hub[E]) Watchers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.open
}

// Upgradable refuses a request that is not a WebSocket upgrade ("<area>.live_not_websocket"):
// the domain's route calls it first.
func (h *Hub[E]) Upgradable(c *fiber.Ctx) error {
	if !websocket.IsWebSocketUpgrade(c) {
		return kaiping.Errorf(kaiping.KindInvalid, h.proto.Area+".live_not_websocket",
			"此地址是%s的实时连接，只接受 WebSocket 连接", h.proto.Place)
	}
	return nil
}

// Admit says whether a new connection of principal p would be refused for the limits
// (per principal, in all) or the shutdown, so that the route refuses it with an ordinary
// error answer before computing its view. Upgrade checks again.
func (h *Hub[E]) Admit(p kaiping.ID) error { return h.admit(p, false) }

// Join is where a new watcher starts: what the domain learned while checking the request.
type Join struct {
	// Topic is what the watcher watches (a hall's section, a session).
	Topic kaiping.ID
	// After is the version after which the client asked for the events first (?after=N),
	// or -1 when it asked for none.
	After int64
	// View and Version are the watcher's first view (Watcher.View), computed before the
	// upgrade so that a refusal is an ordinary error answer.
	View    []byte
	Version int64
}

const connKey = "kaiping.live.conn"

// Upgrade turns the request into the live connection of w, which starts as j says. The
// request went through the shared checks (httpapi.Registry.Mount): its principal and token
// are those the hub checks again at every ping.
func (h *Hub[E]) Upgrade(c *fiber.Ctx, w Watcher[E], j Join) error {
	p, _ := httpapi.PrincipalOf(c)
	cn := &conn[E]{hub: h, w: w, token: httpapi.TokenOf(c), principal: p.ID, topic: j.Topic,
		after: j.After, view: j.View, viewVersion: j.Version}
	if s, ok := w.(Shared); ok {
		cn.class = s.Class()
	}
	c.Locals(connKey, cn)
	return h.upgrade(c)
}

// admit counts a new connection of p against the limits, or refuses it.
func (h *Hub[E]) admit(p kaiping.ID, reserve bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closing:
		return h.errShutdown()
	case h.byPrincipal[p] >= h.cfg.PerPrincipal:
		return kaiping.Errorf(kaiping.KindConflict, h.proto.Area+".live_too_many",
			"同一账号同时打开的%s实时连接已达 %d 个，请关闭其他页面后重试", h.proto.Place, h.cfg.PerPrincipal)
	case h.open >= h.cfg.MaxConnections:
		return kaiping.Errorf(kaiping.KindUnavailable, h.proto.Area+".live_full", "%s实时连接已满，请稍后重试", h.proto.Place)
	}
	if reserve {
		h.byPrincipal[p]++
		h.open++
		h.wg.Add(1)
	}
	return nil
}

// release gives back what admit reserved.
func (h *Hub[E]) release(p kaiping.ID) {
	h.mu.Lock()
	if h.byPrincipal[p]--; h.byPrincipal[p] <= 0 {
		delete(h.byPrincipal, p)
	}
	h.open--
	h.mu.Unlock()
	h.wg.Done()
}

func (h *Hub[E]) errShutdown() error {
	return kaiping.E(kaiping.KindUnavailable, h.proto.Area+".live_shutdown", "服务器正在重启，请稍后重新连接")
}

// recovered logs a panic of a connection's handler; the connection then closes.
func (h *Hub[E]) recovered(*websocket.Conn) {
	if v := recover(); v != nil {
		h.log.Error(h.proto.Area+" live: panic", "panic", v)
	}
}
