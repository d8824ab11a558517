package postgres

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi/live"
	"github.com/kaiping/kaiping/internal/devenv"
)

// sessionChannel is a second channel, as the evaluation sessions' will be.
const sessionChannel = "kaiping_session"

// mustListener runs a Listener of the hall's channel and sessionChannel on a fresh database
// and subscribes to both; it waits for the first Resync of each, which says LISTEN took
// effect.
func mustListener(t *testing.T) (db *DB, l *Listener, hall, session <-chan live.Signal) {
	t.Helper()
	url := devenv.Database(t)
	if _, err := Migrate(context.Background(), url); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), url, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	l = NewListener(url, slog.New(slog.NewTextHandler(io.Discard, nil)))
	l.MinBackoff, l.Idle = 20*time.Millisecond, 200*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	if hall, err = l.Channel(HallChannel).Subscribe(ctx); err != nil {
		t.Fatal(err)
	}
	if session, err = l.Channel(sessionChannel).Subscribe(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for _, sub := range []<-chan live.Signal{hall, session} {
		if s := nextSignal(t, sub); !s.Resync {
			t.Fatalf("first signal %+v, want the Resync of a fresh LISTEN", s)
		}
	}
	return db, l, hall, session
}

func nextSignal(t *testing.T, sub <-chan live.Signal) live.Signal {
	t.Helper()
	select {
	case s := <-sub:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no signal within 10 s")
		return live.Signal{}
	}
}

// noSignal checks that nothing is waiting on sub.
func noSignal(t *testing.T, sub <-chan live.Signal, what string) {
	t.Helper()
	select {
	case s := <-sub:
		t.Errorf("%s: got %+v", what, s)
	default:
	}
}

func notify(t *testing.T, db *DB, channel, payload string) {
	t.Helper()
	if _, err := db.Pool.Exec(context.Background(), `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
		t.Fatal(err)
	}
}

// TestListener: notices reach the subscribers of their channel and no other, malformed ones
// are dropped, a notice in a transaction that rolls back is never sent, one connection
// serves every channel, and after it is killed the listener reconnects and asks every
// subscriber for a Resync before passing notices on again.
func TestListener(t *testing.T) {
	db, _, sub, session := mustListener(t)
	ctx := context.Background()
	section := kaiping.NewID()
	for _, bad := range []string{"garbage", string(section) + ":x", string(section) + ":0", "not-an-id:3", string(section)} {
		notify(t, db, HallChannel, bad)
	}
	notify(t, db, HallChannel, string(section)+":7")
	if s := nextSignal(t, sub); s.Topic != section || s.Version != 7 || s.Resync {
		t.Fatalf("signal %+v, want %s version 7 (the malformed notices before it dropped)", s, section)
	}

	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, HallChannel, string(section)+":8"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	notify(t, db, HallChannel, string(section)+":9")
	if s := nextSignal(t, sub); s.Version != 9 {
		t.Fatalf("signal %+v, want version 9: the rolled-back 8 must never be announced", s)
	}

	// A session's notice goes to the session's subscriber only; the hall's to the hall's only.
	meeting := kaiping.NewID()
	notify(t, db, sessionChannel, string(meeting)+":3")
	if s := nextSignal(t, session); s.Topic != meeting || s.Version != 3 || s.Resync {
		t.Fatalf("session signal %+v, want %s version 3", s, meeting)
	}
	notify(t, db, HallChannel, string(section)+":10")
	if s := nextSignal(t, sub); s.Version != 10 {
		t.Fatalf("signal %+v, want version 10", s)
	}
	noSignal(t, sub, "the hall's subscriber after a session's notice")
	noSignal(t, session, "the session's subscriber after a hall's notice")

	// Kill the listening session, as a database restart or a network failure would: there
	// is one for both channels.
	var killed int
	if err := db.Pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, listenerName).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d listening sessions, %v; want 1", killed, err)
	}
	for _, s := range []<-chan live.Signal{sub, session} {
		if s := nextSignal(t, s); !s.Resync {
			t.Fatalf("after the connection was killed: %+v, want a Resync once listening again", s)
		}
	}
	notify(t, db, HallChannel, string(section)+":11")
	if s := nextSignal(t, sub); s.Version != 11 {
		t.Fatalf("after reconnecting: %+v, want version 11", s)
	}
	notify(t, db, sessionChannel, string(meeting)+":4")
	if s := nextSignal(t, session); s.Version != 4 {
		t.Fatalf("after reconnecting, the session: %+v, want version 4", s)
	}
}

// TestListenerSlowSubscriber: a subscriber that does not read is never waited for; the
// notices it had no room for are made up for with a Resync once it reads again.
func TestListenerSlowSubscriber(t *testing.T) {
	db, l, sub, _ := mustListener(t)
	section := kaiping.NewID()
	for i := 1; i <= subscriberBuffer+10; i++ {
		l.publish(HallChannel, live.Signal{Topic: section, Version: int64(i)})
	}
	for i := 1; i <= subscriberBuffer; i++ {
		if s := nextSignal(t, sub); s.Version != int64(i) {
			t.Fatalf("signal %d: %+v", i, s)
		}
	}
	notify(t, db, HallChannel, fmt.Sprintf("%s:%d", section, subscriberBuffer+11))
	if s := nextSignal(t, sub); !s.Resync {
		t.Fatalf("after missing notices: %+v, want a Resync first", s)
	}
	if s := nextSignal(t, sub); s.Version != subscriberBuffer+11 {
		t.Fatalf("then %+v, want the new notice", s)
	}
}

// TestListenerChannelAfterRun: a channel named once the listener runs would never be
// listened to: the wiring mistake panics rather than leave a hub deaf.
func TestListenerChannelAfterRun(t *testing.T) {
	_, l, _, _ := mustListener(t)
	defer func() {
		if recover() == nil {
			t.Error("Channel after Run did not panic")
		}
	}()
	l.Channel("kaiping_later")
}
