package evaluation

import (
	"context"
	"log/slog"
	"strconv"
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
	"github.com/kaiping/kaiping/httpapi/live"
)

// SessionLive pushes evaluation sessions to browsers as they change, over WebSocket at
// GET /api/v1/sessions/:id/live, on the same mechanism as the opening hall (httpapi/live):
// the same messages, pings, limits and close codes, under the subprotocol
// "kaiping.session.v1". The first message is the caller's view of the session: the whole
// session for its assigned evaluation host and supervisors (MemberSessionView's source),
// MemberSessionView for a member, VenueSessionView for venue staff; then each event the
// caller may read (SessionReader: a member never sees the votes of others, who read which
// bid, or another venue's events), each followed by the view it changed.
type SessionLive struct {
	svc   *Service
	staff httpapi.Staffing
	clock kaiping.Clock
	hub   *live.Hub[SessionEvent]
}

// SessionLiveProtocol is the WebSocket subprotocol of the session's live connection.
const SessionLiveProtocol = "kaiping.session.v1"

var sessionProtocol = live.Protocol{Name: SessionLiveProtocol, Area: "session", Place: "评标会议", Actions: "核验、承诺、投票等"}

// LiveVersion implements live.Event.
func (e SessionEvent) LiveVersion() int64 { return e.Version }

// NewSessionLive returns the live sessions of s; notes tells it of changes committed by
// any process (storage/postgres: the channel kaiping_session).
func NewSessionLive(s *Service, auth httpapi.Authenticator, staff httpapi.Staffing, notes live.Notifications, clock kaiping.Clock, log *slog.Logger, cfg live.Config) *SessionLive {
	cfg.Page = maxEventsPage
	return &SessionLive{svc: s, staff: staff, clock: clock, hub: live.New(sessionProtocol, sessionSource{s.store}, auth, notes, clock, log, cfg)}
}

// sessionSource reads a session's events for the hub: all of them, filtered per watcher.
type sessionSource struct{ store Store }

func (s sessionSource) Events(ctx context.Context, id kaiping.ID, after int64, limit int) ([]SessionEvent, error) {
	return s.store.SessionEvents(ctx, id, after, SessionReader{Overseer: true}, limit)
}

var liveReaders = []kaiping.Role{kaiping.RoleHost, kaiping.RoleSupervisor, kaiping.RoleExpert, kaiping.RoleVenueStaff}

// Routes returns the live endpoint:
//
//	GET /api/v1/sessions/:id/live   evaluation host†, supervisor†, member, venue staff of its seats   WebSocket
func (l *SessionLive) Routes() []httpapi.Route {
	return []httpapi.Route{{Method: fiber.MethodGet, Path: "/api/v1/sessions/:id/live", Roles: liveReaders,
		Duties: drawDuties, Tender: l.svc.sessionTender, Handler: l.handle}}
}

// Run fans out the sessions' changes until ctx ends, then closes every connection (1001).
func (l *SessionLive) Run(ctx context.Context) { l.hub.Run(ctx) }

// Watchers is the number of live connections this process holds.
func (l *SessionLive) Watchers() int { return l.hub.Watchers() }

func (l *SessionLive) handle(c *fiber.Ctx) error {
	if err := l.hub.Upgradable(c); err != nil {
		return err
	}
	id, err := sessionID.of(c)
	if err != nil {
		return err
	}
	p, _ := httpapi.PrincipalOf(c)
	w := &sessionWatcher{live: l, principal: p, session: id, overseer: httpapi.Assigned(c)}
	j := live.Join{After: -1, Topic: id}
	if q := c.Query("after"); q != "" {
		if j.After, err = strconv.ParseInt(q, 10, 64); err != nil || j.After < 0 {
			return invalid("session.events_after", "after 须为非负整数（上次收到的版本号）")
		}
	}
	if err := l.hub.Admit(p.ID); err != nil {
		return err
	}
	if j.Version, j.View, err = w.View(c.UserContext()); err != nil {
		return err
	}
	return l.hub.Upgrade(c, w, j)
}

// sessionWatcher is one live connection to one session.
type sessionWatcher struct {
	live      *SessionLive
	principal kaiping.Principal
	session   kaiping.ID
	overseer  bool
	tender    kaiping.ID

	mu     sync.Mutex
	reader SessionReader
}

var (
	_ live.Watcher[SessionEvent] = (*sessionWatcher)(nil)
	_ live.Shared                = (*sessionWatcher)(nil)
)

// Class implements live.Shared: the overseers share one view; members and venue staff
// each have their own.
func (w *sessionWatcher) Class() string {
	if w.overseer {
		return "overseer"
	}
	return ""
}

// View implements live.Watcher: the caller's view, which also checks that they may watch
// (a member of the committee, or staff of a venue with a seat in it).
func (w *sessionWatcher) View(ctx context.Context) (int64, []byte, error) {
	s := w.live.svc
	sess, err := s.store.Session(ctx, w.session)
	if err != nil {
		return 0, nil, err
	}
	var view any = sess
	reader := SessionReader{Overseer: true}
	switch {
	case w.overseer:
	case w.principal.Has(kaiping.RoleExpert):
		v, err := memberView(sess, w.principal.ID)
		if err != nil {
			return 0, nil, err
		}
		view, reader = v, SessionReader{Member: v.Me.ID, Group: v.Me.Group}
	default:
		venues, err := s.store.StaffVenues(ctx, w.principal.ID)
		if err != nil {
			return 0, nil, err
		}
		v, err := s.venueView(ctx, sess, venues)
		if err != nil {
			return 0, nil, err
		}
		view, reader = v, SessionReader{Venues: venues}
	}
	w.mu.Lock()
	w.reader, w.tender = reader, sess.Tender
	w.mu.Unlock()
	frame, err := live.ViewFrame(sess.Version, view)
	return sess.Version, frame, err
}

// Sees implements live.Watcher.
func (w *sessionWatcher) Sees(e SessionEvent) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reader.Sees(e)
}

// Concerned implements live.Watcher: every event the watcher reads changed its view.
func (w *sessionWatcher) Concerned(batch []SessionEvent) live.Concern {
	for _, e := range batch {
		if w.Sees(e) {
			return live.Changed
		}
	}
	return live.Unchanged
}

// Recheck implements live.Watcher: an overseer must still be assigned to the tender.
func (w *sessionWatcher) Recheck(ctx context.Context) error {
	if !w.overseer {
		return nil
	}
	w.mu.Lock()
	tender := w.tender
	w.mu.Unlock()
	held, err := httpapi.HeldDuties(ctx, w.live.staff, tender, w.principal, drawDuties)
	if err != nil {
		return err
	}
	if len(held) == 0 {
		return httpapi.NotAssigned(drawDuties)
	}
	return nil
}
