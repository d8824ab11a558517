package notice

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/kaiping/kaiping"
)

// WorkerConfig tunes delivery.
type WorkerConfig struct {
	// Interval is how often the outbox is read; zero is 5 seconds.
	Interval time.Duration
	// Backoff is the wait after the first failure, doubled after each, capped at MaxBackoff;
	// zero values are 30 seconds and 30 minutes.
	Backoff, MaxBackoff time.Duration
	// Attempts is how many tries a delivery gets before it is given up; zero is 10.
	Attempts int
	// Batch is how many deliveries one pass takes; zero is 20.
	Batch int
}

func (c WorkerConfig) withDefaults() WorkerConfig {
	if c.Interval == 0 {
		c.Interval = 5 * time.Second
	}
	if c.Backoff == 0 {
		c.Backoff = 30 * time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 30 * time.Minute
	}
	if c.Attempts == 0 {
		c.Attempts = 10
	}
	if c.Batch == 0 {
		c.Batch = 20
	}
	return c
}

// Worker delivers the outbox. Deliveries are claimed with a lease, so several replicas may
// each run one; one that dies mid-send leaves its deliveries to be taken again when the
// lease ends (a repeat rather than a loss: the gateway sees the same message ID).
type Worker struct {
	store   Store
	senders map[string]Sender
	// channels are the senders' names: a worker claims only what it can send, so a replica
	// configured without a channel never takes (and fails) another's deliveries.
	channels []string
	clock    kaiping.Clock
	log      *slog.Logger
	cfg      WorkerConfig
}

// NewWorker returns a worker delivering through senders, by channel name.
func NewWorker(store Store, senders map[string]Sender, clock kaiping.Clock, log *slog.Logger, cfg WorkerConfig) *Worker {
	w := &Worker{store: store, senders: senders, clock: clock, log: log, cfg: cfg.withDefaults()}
	for c := range senders {
		w.channels = append(w.channels, c)
	}
	return w
}

// Run delivers until ctx ends; without a sender there is nothing to do.
func (w *Worker) Run(ctx context.Context) {
	if len(w.channels) == 0 {
		return
	}
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := w.Deliver(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("notice outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Deliver makes one pass over the due deliveries and says how many went out.
func (w *Worker) Deliver(ctx context.Context) (int, error) {
	now := w.clock.Now()
	// The lease outlasts a send's timeout, so a slow send is not taken twice.
	ds, err := w.store.DueDeliveries(ctx, w.channels, now, now.Add(2*time.Minute), w.cfg.Batch)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, d := range ds {
		if w.deliver(ctx, d) {
			sent++
		}
	}
	return sent, nil
}

func (w *Worker) deliver(ctx context.Context, d Delivery) bool {
	err := w.senders[d.Channel].Send(ctx, d)
	now := w.clock.Now()
	if err == nil {
		if err := w.store.Delivered(ctx, d.ID, now); err != nil {
			w.log.Error("notice sent but not recorded; it may go out twice", "notice_id", d.Notice.ID, "err", err)
		}
		return true
	}
	attempts := d.Attempts + 1
	var ke *kaiping.Error
	final := attempts >= w.cfg.Attempts || errors.As(err, &ke) && ke.Kind == kaiping.KindInvalid
	var next, failed time.Time
	if final {
		failed = now
		w.log.Error("notice given up; follow up by phone", "notice_id", d.Notice.ID, "channel", d.Channel, "attempts", attempts, "err", err)
	} else {
		next = now.Add(w.backoff(attempts))
		w.log.Warn("notice not delivered; will retry", "notice_id", d.Notice.ID, "channel", d.Channel, "attempts", attempts, "err", err)
	}
	if rerr := w.store.Retry(ctx, d.ID, attempts, next, failed, err.Error()); rerr != nil {
		w.log.Error("notice retry not recorded", "notice_id", d.Notice.ID, "err", rerr)
	}
	return false
}

// backoff is the wait after the n-th failure (n ≥ 1).
func (w *Worker) backoff(n int) time.Duration {
	b := w.cfg.Backoff
	for i := 1; i < n && b < w.cfg.MaxBackoff; i++ {
		b *= 2
	}
	return min(b, w.cfg.MaxBackoff)
}
