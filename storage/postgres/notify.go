package postgres

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi/live"
)

// HallChannel is the channel the hall_events trigger (migration 008) notifies on, with the
// payload "<section_id>:<version>".
const HallChannel = "kaiping_hall"

// SessionChannel is the channel the eval_session_events trigger (migration 019) notifies on,
// with the payload "<session_id>:<version>".
const SessionChannel = "kaiping_session"

// listenerName is the application_name of the listening connection, so that an operator
// (or a test) can find it in pg_stat_activity.
const listenerName = "kaiping-listener"

// Listener listens for the notices of every channel the process needs (the halls', the
// evaluation sessions') on one connection of its own (LISTEN holds a session, which a pool
// would hand to others) and passes each channel's notices to that channel's subscribers.
// Every channel's payload is "<topic_id>:<version>", the topic's ID and the version of the
// event committed. When the connection breaks it reconnects with backoff and then tells
// every subscriber to read its topics again (Resync), since notices sent meanwhile are lost.
type Listener struct {
	url string
	log *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between reconnection attempts, doubled after
	// each failure. Idle is how long the connection may stay silent before it is checked.
	MinBackoff, MaxBackoff, Idle time.Duration

	mu       sync.Mutex
	channels []string // fixed once Run started
	running  bool
	subs     map[*subscriber]struct{}
}

// subscriber is one subscription to one channel: its Go channel, and whether it missed
// notices because it did not take them fast enough (then it is owed a Resync).
type subscriber struct {
	channel string
	ch      chan live.Signal
	missed  bool
}

// subscriberBuffer is how many notices may wait for a subscriber.
const subscriberBuffer = 1024

// NewListener returns a listener for the database at url; name its channels (Channel),
// then Run makes it listen.
func NewListener(url string, log *slog.Logger) *Listener {
	return &Listener{url: url, log: log, MinBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second,
		Idle: 30 * time.Second, subs: map[*subscriber]struct{}{}}
}

// Channel returns the notices of the PostgreSQL channel name (HallChannel) as a hub reads
// them. Every channel is named before Run: the connection listens to those it knows when it
// connects, and naming one later is a mistake of the wiring (it panics).
func (l *Listener) Channel(name string) live.Notifications {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running {
		panic("postgres: Listener.Channel(" + name + ") after Run")
	}
	if !slices.Contains(l.channels, name) {
		l.channels = append(l.channels, name)
	}
	return channel{l: l, name: name}
}

// channel is one channel of a Listener.
type channel struct {
	l    *Listener
	name string
}

var _ live.Notifications = channel{}

// Subscribe implements live.Notifications.
func (c channel) Subscribe(ctx context.Context) (<-chan live.Signal, error) {
	l := c.l
	s := &subscriber{channel: c.name, ch: make(chan live.Signal, subscriberBuffer)}
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
func (l *Listener) Run(ctx context.Context) {
	l.mu.Lock()
	l.running = true
	channels := slices.Clone(l.channels)
	l.mu.Unlock()
	backoff := l.MinBackoff
	for ctx.Err() == nil {
		err := l.listen(ctx, channels, func() { backoff = l.MinBackoff })
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("notices: connection lost, reconnecting", "retry_in", backoff, "err", err)
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
func (l *Listener) listen(ctx context.Context, channels []string, listening func()) error {
	cfg, err := pgx.ParseConfig(l.url)
	if err != nil {
		return err
	}
	cfg.RuntimeParams["application_name"] = listenerName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return translate("pg.Listener", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, name := range channels {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{name}.Sanitize()); err != nil {
			return translate("pg.Listener", err)
		}
	}
	listening()
	l.publish("", live.Signal{Resync: true})
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
				return translate("pg.Listener", err)
			}
			continue
		case err != nil:
			return translate("pg.Listener", err)
		}
		s, err := parseNotice(n.Payload)
		if err != nil {
			l.log.Warn("notices: malformed notice ignored", "channel", n.Channel, "payload", n.Payload)
			continue
		}
		l.publish(n.Channel, s)
	}
}

// parseNotice reads "<topic_id>:<version>".
func parseNotice(payload string) (live.Signal, error) {
	topic, version, ok := strings.Cut(payload, ":")
	v, err := strconv.ParseInt(version, 10, 64)
	if !ok || err != nil || v < 1 || !kaiping.ID(topic).Valid() {
		return live.Signal{}, errors.New("malformed notice")
	}
	return live.Signal{Topic: kaiping.ID(topic), Version: v}, nil
}

// publish hands s to every subscriber of channel (of every channel for "", a Resync)
// without waiting for any: one that has no room is owed a Resync, delivered as soon as it
// has room again.
func (l *Listener) publish(channel string, s live.Signal) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for sub := range l.subs {
		if channel != "" && sub.channel != channel {
			continue
		}
		if sub.missed {
			select {
			case sub.ch <- live.Signal{Resync: true}:
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
