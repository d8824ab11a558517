package opening

import (
	"context"
	"log/slog"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
	"github.com/kaiping/kaiping/httpapi/live"
)

// HallLive pushes the opening halls to browsers and tools as they change (实时推送), over
// WebSocket at GET /api/v1/tenders/:id/sections/:section/hall/live. Every change of a hall
// is an event written with it (HallStore); PostgreSQL tells every kaiping process of the
// commit (a live.Notifications), and each process reads the new events once per hall and
// fans them out to the watchers it holds, so several replicas show the same hall. The
// connections, rooms and limits are httpapi/live's; what is the hall's is here and in
// hall_live_watcher.go: who may watch, which events each watcher sees, and its view.
//
// # Protocol
//
// The protocol is httpapi/live's, named LiveProtocol ("kaiping.hall.v1"), with error codes
// hall.live_*. Authentication: the session token, offered by the client as the subprotocol
// "bearer.<token>" beside LiveProtocol: browsers cannot set an Authorization header on a
// WebSocket, and a token in the query string would end up in access logs and proxies.
// Tools that can set it may send "Authorization: Bearer <token>" instead. The server
// answers with LiveProtocol, never echoes the token and never logs it. Roles and objects
// are checked as for the hall's views: a bidder must be in the section (its registration
// before the seal, its envelopes after); hosts and supervisors assigned to the tender see
// the board. A refusal before the upgrade is an ordinary JSON error answer with its code.
//
// The server sends JSON text frames, each a LiveMessage:
//
//	{"type":"view","version":N,"view":{...}}   the whole view: BidderHallView for a bidder,
//	                                            BoardView for hosts and supervisors.
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
// session expired; 1009 a message over 512 bytes; 1011 the server failed; 1013 the client
// did not keep up (its send buffer filled) or the process holds too many connections:
// reconnect, and the first view brings the current state.
//
// The server pings every PingInterval and drops a connection that has not answered for
// PongTimeout more. Each connection has a bounded send buffer: a client too slow to take
// what it is sent is dropped, never waited for.
type HallLive struct {
	hall  *Hall
	staff httpapi.Staffing
	clock kaiping.Clock
	hub   *live.Hub[HallEvent]
}

// LiveProtocol is the WebSocket subprotocol of the hall's live connection.
const LiveProtocol = "kaiping.hall.v1"

// hallProtocol is how the hall's live connection names itself.
var hallProtocol = live.Protocol{Name: LiveProtocol, Area: "hall", Place: "开标大厅", Actions: "签到、确认、异议等"}

// LiveConfig tunes the live hall (live.Config). Its SoonInterval is how often at most
// a bidder waiting in the verification queue has its view computed again because the queue
// moved (its place in line).
type LiveConfig = live.Config

// DefaultLiveConfig is live.DefaultConfig: queue positions refreshed at most once a second.
var DefaultLiveConfig = live.DefaultConfig

// LiveMessage is one message of the hall's live connection as a client reads it (see
// HallLive for the protocol): live.Message with its event decoded as a HallEvent.
type LiveMessage struct {
	live.Message
	Event *HallEvent `json:"event,omitempty"`
}

// The message types.
const (
	LiveView  = live.TypeView
	LiveEvent = live.TypeEvent
	LivePing  = live.TypePing
	LivePong  = live.TypePong
	LiveError = live.TypeError
)

// LiveVersion implements live.Event.
func (e HallEvent) LiveVersion() int64 { return e.Version }

// NewHallLive returns the live hall of h. auth checks the session tokens and staff the
// overseers' assignments, again at every ping; notes tells it of changes. Connections are
// served as soon as its routes are mounted; Run must run for changes to reach them.
func NewHallLive(h *Hall, auth httpapi.Authenticator, staff httpapi.Staffing, notes live.Notifications, clock kaiping.Clock, log *slog.Logger, cfg LiveConfig) *HallLive {
	cfg.Page = maxEventsPage // the page of GET …/hall/events, which ?after=N answers alike
	return &HallLive{hall: h, staff: staff, clock: clock,
		hub: live.New(hallProtocol, hallSource{h.store}, auth, notes, clock, log, cfg)}
}

// hallSource reads a section's events for the hub: all of them, filtered per watcher.
type hallSource struct{ store HallStore }

func (s hallSource) Events(ctx context.Context, section kaiping.ID, after int64, limit int) ([]HallEvent, error) {
	return s.store.Events(ctx, section, after, EventReader{Overseer: true}, limit)
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
func (l *HallLive) Run(ctx context.Context) { l.hub.Run(ctx) }

// Watchers is the number of live connections this process holds.
func (l *HallLive) Watchers() int { return l.hub.Watchers() }

// handle checks the request before the upgrade (token, role, the hall and the watcher's
// right to it, the limits) and computes the first view, so that a refusal is an ordinary
// error answer.
func (l *HallLive) handle(c *fiber.Ctx) error {
	if err := l.hub.Upgradable(c); err != nil {
		return err
	}
	p, _ := httpapi.PrincipalOf(c)
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	w := &hallWatcher{live: l, principal: p, tender: id, overseer: overseer(c), addr: httpapi.AddrOf(c)}
	if w.overseer {
		w.reader = EventReader{Overseer: true}
	}
	j := live.Join{After: -1}
	if q := c.Query("after"); q != "" {
		if j.After, err = strconv.ParseInt(q, 10, 64); err != nil || j.After < 0 {
			return invalid("hall.events_after", "after 须为非负整数（上次收到的版本号）")
		}
	}
	if err := l.hub.Admit(p.ID); err != nil {
		return err
	}
	ref := strings.Clone(c.Params("section"))
	if j.View, j.Version, j.Topic, err = w.viewOf(c.UserContext(), ref); err != nil {
		return err
	}
	w.section = j.Topic
	return l.hub.Upgrade(c, w, j)
}
