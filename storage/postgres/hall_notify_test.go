package postgres

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/opening"
)

// mustListener runs a HallListener on a fresh database and subscribes to it; it waits for
// the first Resync, which says LISTEN took effect.
func mustListener(t *testing.T) (*DB, *HallListener, <-chan opening.HallSignal) {
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
	l := NewHallListener(url, slog.New(slog.NewTextHandler(io.Discard, nil)))
	l.MinBackoff, l.Idle = 20*time.Millisecond, 200*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	sub, err := l.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	if s := nextSignal(t, sub); !s.Resync {
		t.Fatalf("first signal %+v, want the Resync of a fresh LISTEN", s)
	}
	return db, l, sub
}

func nextSignal(t *testing.T, sub <-chan opening.HallSignal) opening.HallSignal {
	t.Helper()
	select {
	case s := <-sub:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no hall signal within 10 s")
		return opening.HallSignal{}
	}
}

func notify(t *testing.T, db *DB, payload string) {
	t.Helper()
	if _, err := db.Pool.Exec(context.Background(), `SELECT pg_notify($1, $2)`, HallChannel, payload); err != nil {
		t.Fatal(err)
	}
}

// TestHallListener: notices reach the subscriber, malformed ones are dropped, a notice in a
// transaction that rolls back is never sent, and after the connection is killed the
// listener reconnects and asks for a Resync before passing notices on again.
func TestHallListener(t *testing.T) {
	db, _, sub := mustListener(t)
	ctx := context.Background()
	section := kaiping.NewID()
	for _, bad := range []string{"garbage", string(section) + ":x", string(section) + ":0", "not-an-id:3", string(section)} {
		notify(t, db, bad)
	}
	notify(t, db, string(section)+":7")
	if s := nextSignal(t, sub); s.Section != section || s.Version != 7 || s.Resync {
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
	notify(t, db, string(section)+":9")
	if s := nextSignal(t, sub); s.Version != 9 {
		t.Fatalf("signal %+v, want version 9: the rolled-back 8 must never be announced", s)
	}

	// Kill the listening session, as a database restart or a network failure would.
	var killed int
	if err := db.Pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, hallListenerName).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d listening sessions, %v; want 1", killed, err)
	}
	if s := nextSignal(t, sub); !s.Resync {
		t.Fatalf("after the connection was killed: %+v, want a Resync once listening again", s)
	}
	notify(t, db, string(section)+":10")
	if s := nextSignal(t, sub); s.Version != 10 {
		t.Fatalf("after reconnecting: %+v, want version 10", s)
	}
}

// TestHallListenerSlowSubscriber: a subscriber that does not read is never waited for; the
// notices it had no room for are made up for with a Resync once it reads again.
func TestHallListenerSlowSubscriber(t *testing.T) {
	db, l, sub := mustListener(t)
	section := kaiping.NewID()
	for i := 1; i <= hallSubscriberBuffer+10; i++ {
		l.publish(opening.HallSignal{Section: section, Version: int64(i)})
	}
	for i := 1; i <= hallSubscriberBuffer; i++ {
		if s := nextSignal(t, sub); s.Version != int64(i) {
			t.Fatalf("signal %d: %+v", i, s)
		}
	}
	notify(t, db, fmt.Sprintf("%s:%d", section, hallSubscriberBuffer+11))
	if s := nextSignal(t, sub); !s.Resync {
		t.Fatalf("after missing notices: %+v, want a Resync first", s)
	}
	if s := nextSignal(t, sub); s.Version != hallSubscriberBuffer+11 {
		t.Fatalf("then %+v, want the new notice", s)
	}
}
