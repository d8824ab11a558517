// Package live pushes a domain's changes to browsers and tools over WebSocket (实时推送):
// the opening hall's (opening.HallLive) and any other feature whose changes are events
// with a version per topic. It holds what does not depend on the domain: the connection's
// lifecycle, its read and write loops, ping and pong, bounded send buffers, one room per
// topic whose single reader fans each page of new events out to its watchers, the limits
// on connections, the shutdown, and the reaction to change notices with a poll as a
// safety net. The domain says, through small interfaces, how to read a topic's events
// (Source) and, per watcher, which events it may see, whether a batch changed its view and
// what that view is (Watcher).
//
// # Protocol
//
// The client connects to a route of the domain (which runs the shared checks before the
// upgrade) offering Protocol.Name and, from a browser, "bearer.<token>"
// (httpapi.BearerProtocol) as subprotocols; the server answers with Protocol.Name. It
// sends JSON text frames, each a Message:
//
//	{"type":"view","version":N,"view":{...}}   the watcher's whole view: the first message
//	                                            of every connection, and again after the
//	                                            events that changed it.
//	{"type":"event","version":N,"event":{...}}  each new event the watcher may see.
//	{"type":"pong","t":T,"server_time":...}     the answer to a ping, with the client's T
//	                                            (and clock_problem when the server's clock is
//	                                            not trusted now).
//	{"type":"error","error":{"code","message"}} why the server is closing the connection.
//
// On connecting, ?after=N (read by the domain) asks for the events after version N first,
// up to Config.Page of them; the view follows. The client may send only
// {"type":"ping","t":T}; anything else closes the connection with "<area>.live_bad_message".
//
// Close codes: 1001 the server is shutting down; 1008 the client broke the protocol or may
// no longer watch; 1009 a message over 512 bytes; 1011 the server failed; 1013 the client
// did not keep up (its send buffer filled) or the process holds too many connections.
package live

import (
	"context"
	"encoding/json"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// Protocol names what a domain's live connection shows of itself: its WebSocket subprotocol,
// the area of its error codes and the words of its messages.
type Protocol struct {
	// Name is the WebSocket subprotocol ("kaiping.hall.v1").
	Name string
	// Area prefixes the error codes: Area "hall" gives hall.live_too_many, hall.live_full,
	// hall.live_slow, hall.live_timeout, hall.live_bad_message, hall.live_not_websocket and
	// hall.live_shutdown.
	Area string
	// Place is what the user watches, in the messages ("开标大厅").
	Place string
	// Actions are examples of what the user does through the page's buttons and the HTTP
	// API instead of the live connection ("签到、确认、异议等").
	Actions string
}

// Event is what the hub needs of a domain's event: its version, which orders the events of
// a topic (each topic's versions run 1, 2, 3 … without gaps).
type Event interface {
	LiveVersion() int64
}

// Source reads the events of the domain's topics (a hall, a session).
type Source[E Event] interface {
	// Events returns up to limit events of topic after version after, in order, all of them:
	// the hub reads once for every watcher of the topic and filters per watcher (Watcher.Sees).
	Events(ctx context.Context, topic kaiping.ID, after int64, limit int) ([]E, error)
}

// Watcher is one connection as its domain sees it. The hub calls its methods from the
// room's and the connection's goroutines, possibly at once: it guards its own state.
type Watcher[E Event] interface {
	// Sees says whether the watcher may see e (its audience).
	Sees(e E) bool
	// Concerned says how a batch of events, all newer than what the watcher has, changes
	// its own view. Not called for a watcher of a shared class (Shared).
	Concerned(batch []E) Concern
	// View computes the watcher's view now: its version and its frame (ViewFrame). An error
	// closes the connection with it (the watcher may no longer watch).
	View(ctx context.Context) (version int64, frame []byte, err error)
	// Recheck runs at every ping, after the session was checked again: an error (a revoked
	// assignment) closes the connection with it, as the next request would be refused.
	Recheck(ctx context.Context) error
}

// Shared is implemented by a Watcher whose view is the same for every watcher of its class
// in its topic (the hall's board, for hosts and supervisors): after each batch the hub
// computes the view once, through one of them, and sends it to all of them, whatever the
// batch was. Class "" is a watcher with a view of its own.
type Shared interface {
	Class() string
}

// Concern is how a batch of events changes a watcher's own view.
type Concern int

const (
	// Unchanged: the view is as it was but for its version, which the events carry.
	Unchanged Concern = iota
	// ChangedSoon: the view changed in a way that may wait, computed again at most once per
	// Config.SoonInterval (a bidder's place in a queue that moves with every other bidder).
	ChangedSoon
	// Changed: the view changed; it is computed again at once.
	Changed
)

// Config tunes a hub.
type Config struct {
	// SendBuffer is how many messages may wait for one connection before it is dropped.
	SendBuffer int
	// PingInterval is how often the server pings; a connection that sends nothing (pongs
	// included) for PingInterval+PongTimeout is dropped. WriteTimeout bounds each write.
	PingInterval, PongTimeout, WriteTimeout time.Duration
	// PerPrincipal bounds one principal's connections in this process; MaxConnections all
	// of them.
	PerPrincipal, MaxConnections int
	// ViewWorkers bounds the watchers' own views computed at once, after changes that
	// concern many of them.
	ViewWorkers int
	// SoonInterval is how often at most a watcher's view is computed again for changes
	// that may wait (ChangedSoon): the hall's bidders waiting in the verification queue, whose
	// place moves with every other bidder verified (with a thousand bidders queued, every
	// change would otherwise recompute a thousand views). A Changed view is pushed at once.
	SoonInterval time.Duration
	// Poll is how often each watched topic is read again even without a notice: a safety
	// net should a notice be lost.
	Poll time.Duration
	// Page is how many events are read at once, and how many a client asking ?after=N is
	// sent at most before its view; 0 means 500.
	Page int
}

// DefaultConfig: 64 messages per connection, a ping every 20 s answered within 10 s more,
// writes within 10 s, 4 connections per principal (a person with a few tabs), 20,000 in all,
// changes that may wait pushed at most once a second.
var DefaultConfig = Config{
	SendBuffer: 64, PingInterval: 20 * time.Second, PongTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
	PerPrincipal: 4, MaxConnections: 20000, ViewWorkers: 4, Poll: 30 * time.Second, SoonInterval: time.Second,
}

// Message is one message of a live connection, as the server writes it (see the package
// comment); a domain offers its clients a typed copy (opening.LiveMessage).
type Message struct {
	Type       string           `json:"type"`
	Version    int64            `json:"version,omitempty"`
	View       json.RawMessage  `json:"view,omitempty"`
	Event      json.RawMessage  `json:"event,omitempty"`
	Error      *httpapi.Problem `json:"error,omitempty"`
	T          json.Number      `json:"t,omitempty"`
	ServerTime *time.Time       `json:"server_time,omitempty"`
	// ClockProblem, on a pong, says why the server's clock is not trusted now, so a page
	// learns it without waiting for a change.
	ClockProblem string `json:"clock_problem,omitempty"`
}

// The message types.
const (
	TypeView  = "view"
	TypeEvent = "event"
	TypePing  = "ping"
	TypePong  = "pong"
	TypeError = "error"
)

// Signal is a notice that a topic changed: the topic and the version committed.
type Signal struct {
	Topic   kaiping.ID
	Version int64
	// Resync says notices may have been missed (the listener reconnected, or fell behind):
	// every topic watched must be read again.
	Resync bool
}

// Notifications tells a hub when any of its topics changed, in this process or in another
// on the same database (storage/postgres.Listener's channels implement it).
type Notifications interface {
	// Subscribe returns the notices from now on; the channel is closed when ctx ends.
	Subscribe(ctx context.Context) (<-chan Signal, error)
}
