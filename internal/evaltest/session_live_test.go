package evaltest_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/httpapi"
	"github.com/kaiping/kaiping/httpapi/live"
	"github.com/kaiping/kaiping/storage/postgres"
)

// sessionSocket is a live connection to a session as a test reads it.
type sessionSocket struct {
	tb   testing.TB
	conn *websocket.Conn
}

func dialSession(tb testing.TB, a *api, p kaiping.Principal, id kaiping.ID) *sessionSocket {
	tb.Helper()
	return dialSessionAfter(tb, a, p, id, -1)
}

// dialSessionAfter connects asking for the events after version after (none if negative).
func dialSessionAfter(tb testing.TB, a *api, p kaiping.Principal, id kaiping.ID, after int64) *sessionSocket {
	tb.Helper()
	d := &websocket.Dialer{HandshakeTimeout: 5 * time.Second,
		Subprotocols: []string{evaluation.SessionLiveProtocol, httpapi.BearerProtocol + a.as(p).Token}}
	url := strings.Replace(a.base, "http", "ws", 1) + "/api/v1/sessions/" + string(id) + "/live"
	if after >= 0 {
		url += "?after=" + strconv.FormatInt(after, 10)
	}
	conn, resp, err := d.Dial(url, nil)
	if err != nil {
		body := ""
		if resp != nil {
			b, _ := io.ReadAll(resp.Body)
			body = string(b)
		}
		tb.Fatalf("dial as %s: %v %s", p.Name, err, body)
	}
	tb.Cleanup(func() { conn.Close() })
	return &sessionSocket{tb: tb, conn: conn}
}

// next reads messages until one of type typ (and, for events, of event type kind) arrives.
func (s *sessionSocket) next(typ, kind string) live.Message {
	s.tb.Helper()
	m, err := s.read(typ, kind)
	if err != nil {
		s.tb.Fatalf("waiting for %s %s: %v", typ, kind, err)
	}
	return *m
}

// tryNext is next, or nil if the connection ends first.
func (s *sessionSocket) tryNext(typ, kind string) *live.Message {
	s.tb.Helper()
	m, _ := s.read(typ, kind)
	return m
}

func (s *sessionSocket) read(typ, kind string) (*live.Message, error) {
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := s.conn.ReadMessage()
		if err != nil {
			return nil, err
		}
		var m live.Message
		if err := json.Unmarshal(data, &m); err != nil {
			s.tb.Fatal(err)
		}
		if m.Type != typ {
			continue
		}
		if typ == live.TypeEvent {
			var e evaluation.SessionEvent
			if err := json.Unmarshal(m.Event, &e); err != nil {
				s.tb.Fatal(err)
			}
			if e.Type != kind {
				continue
			}
		}
		return &m, nil
	}
}

// TestSessionLive watches a session over WebSocket as its supervisor and as a member: both
// get their view first, then the events they may read as they are committed; the member
// never gets the votes.
func TestSessionLive(t *testing.T) {
	s := mustSessionScene(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sl *evaluation.SessionLive
	a := mustAPIWith(t, s.scene, func(auth httpapi.Authenticator) []httpapi.Route {
		listener := postgres.NewListener(s.URL, slog.New(slog.NewTextHandler(io.Discard, nil)))
		sl = evaluation.NewSessionLive(s.Service, auth, s.Staff, listener.Channel(postgres.SessionChannel), s.Clock,
			slog.New(slog.NewTextHandler(io.Discard, nil)), live.DefaultConfig)
		go listener.Run(ctx)
		go sl.Run(ctx)
		return sl.Routes()
	})
	sess := s.mustSession(t)
	m := sess.Members[0]
	sup := dialSession(t, a, s.Supervisor, sess.ID)
	member := dialSession(t, a, s.logins[m.ID].Principal, sess.ID)
	var board evaluation.Session
	if err := json.Unmarshal(sup.next(live.TypeView, "").View, &board); err != nil || board.ID != sess.ID {
		t.Fatalf("supervisor's first view: %v", err)
	}
	var mine evaluation.MemberSessionView
	if err := json.Unmarshal(member.next(live.TypeView, "").View, &mine); err != nil || mine.Me.ID != m.ID {
		t.Fatalf("member's first view: %v", err)
	}

	// A stranger is refused before the upgrade.
	stranger := s.stranger(t)
	d := &websocket.Dialer{Subprotocols: []string{evaluation.SessionLiveProtocol, httpapi.BearerProtocol + a.as(stranger.Principal).Token}}
	if _, resp, err := d.Dial(strings.Replace(a.base, "http", "ws", 1)+"/api/v1/sessions/"+string(sess.ID)+"/live", nil); err == nil ||
		resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a stranger watches: %v", err)
	}

	for _, x := range sess.Members {
		sess = s.ready(t, sess, x)
	}
	member.next(live.TypeEvent, evaluation.ActionSessionDeclare)
	for _, x := range sess.Members {
		sess, _ = s.Service.Vote(ctx, s.Actor(s.logins[x.ID].Principal), sess.ID, m.ID)
	}
	sup.next(live.TypeEvent, evaluation.ActionSessionVote)
	chair := member.next(live.TypeEvent, evaluation.ActionSessionChair)
	if chair.Version != sess.Version {
		t.Errorf("chair event version %d, session at %d", chair.Version, sess.Version)
	}
	// Everything the member was sent up to the chair: never a vote.
	evs, err := s.Service.SessionEvents(ctx, sess.ID, 0, evaluation.SessionReader{Member: m.ID}, 1000)
	must(t, err)
	for _, e := range evs {
		if e.Type == evaluation.ActionSessionVote {
			t.Fatal("a member's reader returns a vote")
		}
	}
	if sl.Watchers() != 2 {
		t.Errorf("%d watchers, want 2", sl.Watchers())
	}
}
