// Package notice is what reaches people (通知): the in-app inbox (站内信) every principal reads
// on every page, and its delivery by e-mail and by the webhook of an SMS or voice gateway.
//
// A notice is written by the action that causes it, after that action committed (as the
// evaluation's Notifier always was), together with one outbox row per channel it goes out
// on; a Worker delivers the outbox with retries and backoff, so a mail server or gateway
// that is down never fails or delays the action, and a restart loses nothing. It depends on
// the root package, httpapi and the Store and Channel interfaces it defines;
// storage/postgres implements the store.
package notice

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
)

// Channel names a way out besides the inbox.
const (
	ChannelEmail   = "email"   // 邮件, through SMTP
	ChannelWebhook = "webhook" // 短信/语音, through the gateway's webhook
)

// Notice is one message in a principal's inbox (站内通知).
type Notice struct {
	ID        kaiping.ID `json:"id"`
	Principal kaiping.ID `json:"-"`
	// Kind is the stable name of what happened ("draw.drawn"); pages pick an icon by it.
	Kind  string `json:"kind"`
	Title string `json:"title"`
	// Body is the message in Simplified Chinese, as an SMS would carry it.
	Body string `json:"body"`
	// Link is the page that deals with it, relative to the site ("/evaluation/expert").
	Link      string     `json:"link,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ReadAt    *time.Time `json:"read_at,omitempty"`
}

// Address is where a notice goes besides the inbox: either may be empty.
type Address struct {
	Email string
	Phone string
}

// Delivery is one outbox row: a notice to send on one channel.
type Delivery struct {
	ID       kaiping.ID
	Notice   Notice
	Channel  string
	Address  string
	Attempts int
}

// Inbox is a principal's notices, newest first, and how many are unread.
type Inbox struct {
	Notices []Notice `json:"notices"`
	Unread  int      `json:"unread"`
}

// Store keeps notices and the outbox.
type Store interface {
	// CreateNotice writes n and its deliveries in one transaction.
	CreateNotice(ctx context.Context, n Notice, deliveries []Delivery, due time.Time) error
	// Inbox reads principal's latest limit notices and the unread count.
	Inbox(ctx context.Context, principal kaiping.ID, limit int) (Inbox, error)
	// MarkRead marks principal's notice id read at at (once; a second time changes nothing).
	// A notice of another principal is KindNotFound "inbox.not_found", as a missing one.
	MarkRead(ctx context.Context, principal, id kaiping.ID, at time.Time) (Notice, error)
	// DueDeliveries claims up to limit deliveries on channels due at now, pushing their next
	// attempt to lease so that another worker does not take them meanwhile.
	DueDeliveries(ctx context.Context, channels []string, now, lease time.Time, limit int) ([]Delivery, error)
	// Delivered records a delivery sent at at.
	Delivered(ctx context.Context, id kaiping.ID, at time.Time) error
	// Retry records a failed attempt: next try at next, or given up (failed) when next is zero.
	Retry(ctx context.Context, id kaiping.ID, attempts int, next time.Time, failedAt time.Time, reason string) error
}

// Service writes notices and reads inboxes.
type Service struct {
	store Store
	clock kaiping.Clock
	log   *slog.Logger
	// channels are the configured ways out; a notice is queued only on those.
	channels map[string]bool
}

// NewService returns a Service on store queuing deliveries on the named channels.
func NewService(store Store, clock kaiping.Clock, log *slog.Logger, channels ...string) *Service {
	s := &Service{store: store, clock: clock, log: log, channels: map[string]bool{}}
	for _, c := range channels {
		s.channels[c] = true
	}
	return s
}

// Send writes n to its principal's inbox and queues it on every configured channel the
// address has. A principal-less notice (an expert without a login) still goes out by
// e-mail and gateway.
func (s *Service) Send(ctx context.Context, n Notice, to Address) (Notice, error) {
	if n.Title == "" || n.Body == "" || n.Kind == "" {
		return Notice{}, kaiping.Internal("notice.Send", errIncomplete)
	}
	n.ID = kaiping.NewID()
	n.CreatedAt = s.clock.Now()
	var ds []Delivery
	if s.channels[ChannelEmail] && strings.TrimSpace(to.Email) != "" {
		ds = append(ds, Delivery{ID: kaiping.NewID(), Channel: ChannelEmail, Address: strings.TrimSpace(to.Email)})
	}
	if s.channels[ChannelWebhook] && strings.TrimSpace(to.Phone) != "" {
		ds = append(ds, Delivery{ID: kaiping.NewID(), Channel: ChannelWebhook, Address: strings.TrimSpace(to.Phone)})
	}
	if n.Principal == "" && len(ds) == 0 {
		s.log.Warn("notice reaches nobody: no login, no configured channel with an address", "kind", n.Kind)
		return n, nil
	}
	if err := s.store.CreateNotice(ctx, n, ds, n.CreatedAt); err != nil {
		return Notice{}, err
	}
	return n, nil
}

// InboxLimit is how many notices the inbox shows.
const InboxLimit = 50

// Inbox reads principal's own notices.
func (s *Service) Inbox(ctx context.Context, principal kaiping.ID) (Inbox, error) {
	return s.store.Inbox(ctx, principal, InboxLimit)
}

// MarkRead marks principal's own notice id read.
func (s *Service) MarkRead(ctx context.Context, principal, id kaiping.ID) (Notice, error) {
	if !id.Valid() {
		return Notice{}, NotFound()
	}
	return s.store.MarkRead(ctx, principal, id, s.clock.Now())
}

// NotFound is the answer for a notice that does not exist or is someone else's: the two are
// told apart by nobody.
func NotFound() error {
	return kaiping.E(kaiping.KindNotFound, "inbox.not_found", "通知不存在")
}

type incomplete struct{}

func (incomplete) Error() string { return "notice without kind, title or body" }

var errIncomplete error = incomplete{}
