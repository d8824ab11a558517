package postgres

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
)

var _ opening.HallNotifications = (*HallListener)(nil)

// HallChannel is the channel the hall_events trigger (migration 008) notifies on, with the
// payload "<section_id>:<version>".
const HallChannel = "kaiping_hall"

// hallListenerName is the application_name of the listening connection, so that an
// operator (or a test) can find it in pg_stat_activity.
const hallListenerName = "kaiping-hall-listener"

// HallListener listens for the halls' notices on a connection of its own (LISTEN holds a
// session, which a pool would hand to others) and passes them to its subscribers. When the
// connection breaks it reconnects with backoff and then tells every subscriber to read
// its halls again (Resync), since notices sent meanwhile are lost.
type HallListener struct {
	url string
	log *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between reconnection attempts, doubled after
	// each failure. Idle is how long the connection may stay silent before it is checked.
	MinBackoff, MaxBackoff, Idle time.Duration

	mu   sync.Mutex
	subs map[*hallSubscriber]struct{}
}

// hallSubscriber is one subscription: its channel, and whether it missed notices because
// it did not take them fast enough (then it is owed a Resync).
type hallSubscriber struct {
	ch     chan opening.HallSignal
	missed bool
}

// hallSubscriberBuffer is how many notices may wait for a subscriber.
const hallSubscriberBuffer = 1024

// NewHallListener returns a listener for the database at url; Run makes it listen.
func NewHallListener(url string, log *slog.Logger) *HallListener {
	return &HallListener{url: url, log: log, MinBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second,
		Idle: 30 * time.Second, subs: map[*hallSubscriber]struct{}{}}
}

// Subscribe implements opening.HallNotifications.
func (l *HallListener) Subscribe(ctx context.Context) (<-chan opening.HallSignal, error) {
	s := &hallSubscriber{ch: make(chan opening.HallSignal, hallSubscriberBuffer)}
	l.mu.Lock()
	l.subs[s] = struct{}{}
	l.mu.Unlock()
	context.AfterFunc(ctx, func() {
		l.mu.Lock()
		delete(l.subs, s)
		close(s.ch)
		l.mu.Unlock()
	})
	return s.ch, nil
}

// Run listens until ctx ends, reconnecting whenever the connection breaks.
func (l *HallListener) Run(ctx context.Context) {
	backoff := l.MinBackoff
	for ctx.Err() == nil {
		err := l.listen(ctx, func() { backoff = l.MinBackoff })
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("hall notices: connection lost, reconnecting", "retry_in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, l.MaxBackoff)
	}
}

// listen connects, listens, and passes notices on until the connection fails. listening is
// called once LISTEN took effect: from then on nothing is missed, and what may have been
// missed before is made up for with a Resync.
func (l *HallListener) listen(ctx context.Context, listening func()) error {
	cfg, err := pgx.ParseConfig(l.url)
	if err != nil {
		return err
	}
	cfg.RuntimeParams["application_name"] = hallListenerName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return translate("pg.HallListener", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+HallChannel); err != nil {
		return translate("pg.HallListener", err)
	}
	listening()
	l.publish(opening.HallSignal{Resync: true})
	for {
		wait, cancel := context.WithTimeout(ctx, l.Idle)
		n, err := conn.WaitForNotification(wait)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && (pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded)):
			// Quiet for a while: make sure the connection is still there.
			if _, err := conn.Exec(ctx, "SELECT 1"); err != nil {
				return translate("pg.HallListener", err)
			}
			continue
		case err != nil:
			return translate("pg.HallListener", err)
		}
		s, err := parseHallNotice(n.Payload)
		if err != nil {
			l.log.Warn("hall notices: malformed notice ignored", "payload", n.Payload)
			continue
		}
		l.publish(s)
	}
}

// parseHallNotice reads "<section_id>:<version>".
func parseHallNotice(payload string) (opening.HallSignal, error) {
	section, version, ok := strings.Cut(payload, ":")
	v, err := strconv.ParseInt(version, 10, 64)
	if !ok || err != nil || v < 1 || !kaiping.ID(section).Valid() {
		return opening.HallSignal{}, errors.New("malformed hall notice")
	}
	return opening.HallSignal{Section: kaiping.ID(section), Version: v}, nil
}

// publish hands s to every subscriber without waiting for any: one that has no room is
// owed a Resync, delivered as soon as it has room again.
func (l *HallListener) publish(s opening.HallSignal) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for sub := range l.subs {
		if sub.missed {
			select {
			case sub.ch <- opening.HallSignal{Resync: true}:
				sub.missed = false
			default:
				continue
			}
		}
		select {
		case sub.ch <- s:
		default:
			sub.missed = true
		}
	}
}
