package opening

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// HallLive pushes the opening halls to browsers and tools as they change (实时推送), over
// WebSocket at GET /api/v1/tenders/:id/sections/:section/hall/live. Every change of a hall
// is an event written with it (HallStore); PostgreSQL tells every kaiping process of the
// commit (HallNotifications), and each process reads the new events once per hall and
// fans them out to the watchers it holds, so several replicas show the same hall.
//
// # Protocol
//
// Authentication: the session token, offered by the client as the subprotocol
// "bearer.<token>" beside LiveProtocol ("kaiping.hall.v1"): browsers cannot set an
// Authorization header on a WebSocket, and a token in the query string would end up in
// access logs and proxies. Tools that can set it may send "Authorization: Bearer <token>"
// instead. The server answers with LiveProtocol, never echoes the token and never logs it.
// Roles and objects are checked as for the hall's views: a bidder must be in the section
// (its registration before the seal, its envelopes after); hosts, supervisors and admins see
// the board. A refusal before the upgrade is an ordinary JSON error answer with its code.
//
// The server sends JSON text frames, each a LiveMessage:
//
//	{"type":"view","version":N,"view":{...}}   the whole view: BidderHallView for a bidder,
//	                                            BoardView for hosts, supervisors and admins.
//	                                            The first message of every connection (so a
//	                                            client that reconnects has the current state),
//	                                            and again after the events that changed it
//	                                            (the board after every change; a bidder's view
//	                                            after the events it may read, and any change
//	                                            while it waits in the verification queue).
//	{"type":"event","version":N,"event":{...}}  each new HallEvent the watcher may read by its
//	                                            audience (HallEventAudiences), by version: an
//	                                            overseer all of them, a bidder those for all
//	                                            and its own; never another bidder's.
//	{"type":"pong","t":T,"server_time":...}     the answer to a ping, with the client's T.
//	{"type":"error","error":{"code","message"}} why the server is closing the connection.
//
// A view older than one already received is stale and is to be ignored.
// On connecting, ?after=N asks for the events after version N first (the last version the
// client saw), up to maxEventsPage of them; the view follows.
//
// The client may send only {"type":"ping","t":T} (T a number, typically its clock in
// milliseconds: the pong carries it back with the server's time, which gives the clock
// offset). Anything else is refused with an error message and closes the connection.
//
// Close codes: 1001 the server is shutting down; 1008 the client broke the protocol or its
// session expired; 1009 a message over maxClientMessage bytes; 1011 the server failed;
// 1013 the client did not keep up (its send buffer filled) or the process holds too many
// connections: reconnect, and the first view brings the current state.
//
// The server pings every PingInterval and drops a connection that has not answered for
// PongTimeout more. Each connection has a bounded send buffer: a client too slow to take
// what it is sent is dropped, never waited for.
type HallLive struct {
	hall  *Hall
	auth  httpapi.Authenticator
	staff httpapi.Staffing
	notes HallNotifications
	clock kaiping.Clock
	log   *slog.Logger
	cfg   LiveConfig

	upgrade fiber.Handler
	views   chan struct{} // one token per view being computed for one watcher

	ctx    context.Context // ends when Run ends: every connection closes
	cancel context.CancelFunc

	mu          sync.Mutex
	rooms       map[kaiping.ID]*liveRoom // by section ID
	byPrincipal map[kaiping.ID]int
	open        int
	closing     bool
	wg          sync.WaitGroup // connections and rooms
}

// LiveProtocol is the WebSocket subprotocol of the hall's live connection.
const LiveProtocol = "kaiping.hall.v1"

// maxClientMessage bounds what a client may send: a ping is a few dozen bytes.
const maxClientMessage = 512

// HallSignal is a notice that a hall changed: its section and the version committed.
type HallSignal struct {
	Section kaiping.ID
	Version int64
	// Resync says notices may have been missed (the listener reconnected, or fell behind):
	// every hall watched must be read again.
	Resync bool
}

// HallNotifications tells the live hall when any hall changed, in this process or in
// another on the same database (storage/postgres implements it with LISTEN/NOTIFY).
type HallNotifications interface {
	// Subscribe returns the notices from now on; the channel is closed when ctx ends.
	Subscribe(ctx context.Context) (<-chan HallSignal, error)
}

// LiveConfig tunes the live hall.
type LiveConfig struct {
	// SendBuffer is how many messages may wait for one connection before it is dropped.
	SendBuffer int
	// PingInterval is how often the server pings; a connection that sends nothing (pongs
	// included) for PingInterval+PongTimeout is dropped. WriteTimeout bounds each write.
	PingInterval, PongTimeout, WriteTimeout time.Duration
	// PerPrincipal bounds one principal's connections in this process; MaxConnections all
	// of them.
	PerPrincipal, MaxConnections int
	// ViewWorkers bounds the bidders' views computed at once, after changes that concern
	// many of them (the record published).
	ViewWorkers int
	// QueueViewInterval is how often at most a bidder waiting in the verification queue has
	// its view computed again because the queue moved (its position): with a thousand
	// bidders queued, every change would otherwise recompute a thousand views. A change to
	// the bidder's own bid, or to the hall, is pushed at once.
	QueueViewInterval time.Duration
	// Poll is how often each watched hall is read again even without a notice: a safety net
	// should a notice be lost.
	Poll time.Duration
}

// DefaultLiveConfig: 64 messages per connection, a ping every 20 s answered within 10 s more,
// writes within 10 s, 4 connections per principal (a person with a few tabs), 20,000 in all,
// queue positions refreshed at most once a second.
var DefaultLiveConfig = LiveConfig{
	SendBuffer: 64, PingInterval: 20 * time.Second, PongTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
	PerPrincipal: 4, MaxConnections: 20000, ViewWorkers: 4, Poll: 30 * time.Second, QueueViewInterval: time.Second,
}

// LiveMessage is one message of the live connection (see HallLive for the protocol).
type LiveMessage struct {
	Type       string           `json:"type"`
	Version    int64            `json:"version,omitempty"`
	View       json.RawMessage  `json:"view,omitempty"`
	Event      *HallEvent       `json:"event,omitempty"`
	Error      *httpapi.Problem `json:"error,omitempty"`
	T          json.Number      `json:"t,omitempty"`
	ServerTime *time.Time       `json:"server_time,omitempty"`
	// ClockProblem, on a pong, says why the server's clock is not trusted now (as
	// HallView.ClockProblem), so a page learns it without waiting for the hall to change.
	ClockProblem string `json:"clock_problem,omitempty"`
}

// The message types.
const (
	LiveView  = "view"
	LiveEvent = "event"
	LivePing  = "ping"
	LivePong  = "pong"
	LiveError = "error"
)

// NewHallLive returns the live hall of h. auth checks the session tokens and staff the
// overseers' assignments, again at every ping; notes tells it of changes. Connections are
// served as soon as its routes are mounted; Run must run for changes to reach them.
func NewHallLive(h *Hall, auth httpapi.Authenticator, staff httpapi.Staffing, notes HallNotifications, clock kaiping.Clock, log *slog.Logger, cfg LiveConfig) *HallLive {
	cfg.SendBuffer = max(cfg.SendBuffer, 2)
	cfg.ViewWorkers = max(cfg.ViewWorkers, 1)
	ctx, cancel := context.WithCancel(context.Background())
	l := &HallLive{hall: h, auth: auth, staff: staff, notes: notes, clock: clock, log: log, cfg: cfg,
		views: make(chan struct{}, cfg.ViewWorkers), ctx: ctx, cancel: cancel,
		rooms: map[kaiping.ID]*liveRoom{}, byPrincipal: map[kaiping.ID]int{}}
	l.upgrade = websocket.New(l.serve, websocket.Config{
		HandshakeTimeout: 10 * time.Second,
		Subprotocols:     []string{LiveProtocol},
		ReadBufferSize:   1024,
		WriteBufferSize:  4096,
		// Buffers are held only while a message is being written: most watchers are idle.
		WriteBufferPool: &sync.Pool{},
		RecoverHandler:  l.recovered,
	})
	return l
}

// Routes returns the live endpoint:
//
//	GET /api/v1/tenders/:id/sections/:section/hall/live   bidder, host, supervisor (assigned)   WebSocket
//
// Browsers offer the session token as the subprotocol "bearer.<token>"
// (httpapi.BearerProtocol); the shared checks (session, role, duty) run before the upgrade.
func (l *HallLive) Routes() []httpapi.Route {
	return []httpapi.Route{{Method: fiber.MethodGet, Path: "/api/v1/tenders/:id/sections/:section/hall/live",
		Roles: hallReaders, Duties: hallDuties, Tender: tenderOfPath, Handler: l.handle}}
}

// Run fans out the changes of the halls watched here until ctx ends, then closes every
// connection (1001) and waits for them.
func (l *HallLive) Run(ctx context.Context) {
	defer l.shutdown()
	notes, err := l.notes.Subscribe(ctx)
	if err != nil {
		l.log.Error("hall live: subscribe to hall notices", "err", err)
	}
	poll := time.NewTicker(max(l.cfg.Poll, time.Second))
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
			l.signal(s)
		case <-poll.C:
			l.signal(HallSignal{Resync: true})
		}
	}
}

// signal wakes the room of the hall that changed, or every room.
func (l *HallLive) signal(s HallSignal) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.Resync {
		for _, r := range l.rooms {
			r.wake()
		}
		return
	}
	if r := l.rooms[s.Section]; r != nil {
		r.wake()
	}
}

func (l *HallLive) shutdown() {
	l.mu.Lock()
	l.closing = true
	for _, r := range l.rooms {
		r.closeAll(liveClosing(websocket.CloseGoingAway, kaiping.E(kaiping.KindUnavailable, "hall.live_shutdown", "服务器正在重启，请稍后重新连接")))
	}
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
}

// Watchers is the number of live connections this process holds.
func (l *HallLive) Watchers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// admit counts a new connection of p against the limits, or refuses it.
func (l *HallLive) admit(p kaiping.ID, reserve bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closing:
		return kaiping.E(kaiping.KindUnavailable, "hall.live_shutdown", "服务器正在重启，请稍后重新连接")
	case l.byPrincipal[p] >= l.cfg.PerPrincipal:
		return kaiping.Errorf(kaiping.KindConflict, "hall.live_too_many",
			"同一账号同时打开的开标大厅实时连接已达 %d 个，请关闭其他页面后重试", l.cfg.PerPrincipal)
	case l.open >= l.cfg.MaxConnections:
		return kaiping.E(kaiping.KindUnavailable, "hall.live_full", "开标大厅实时连接已满，请稍后重试")
	}
	if reserve {
		l.byPrincipal[p]++
		l.open++
		l.wg.Add(1)
	}
	return nil
}

// release gives back what admit reserved.
func (l *HallLive) release(p kaiping.ID) {
	l.mu.Lock()
	if l.byPrincipal[p]--; l.byPrincipal[p] <= 0 {
		delete(l.byPrincipal, p)
	}
	l.open--
	l.mu.Unlock()
	l.wg.Done()
}

// recovered logs a panic of a connection's handler; the connection then closes.
func (l *HallLive) recovered(c *websocket.Conn) {
	if v := recover(); v != nil {
		l.log.Error("hall live: panic", "panic", v)
	}
}
