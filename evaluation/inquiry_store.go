package evaluation

import (
	"context"

	"github.com/kaiping/kaiping"
)

// InquiryStore keeps the committee's written requests to bidders. Every change runs under
// the session's lock and is written with its ledger entry and its session event in one
// transaction; a refusal of decide writes nothing.
type InquiryStore interface {
	// CreateInquiry runs decide on the session under its lock and stores the inquiry it
	// returns with the changes.
	CreateInquiry(ctx context.Context, a kaiping.Actor, session kaiping.ID, decide func(*Session) (Inquiry, []SessionChange, error)) (Inquiry, error)
	// ChangeInquiry runs decide on the inquiry and its session, both locked, and writes the
	// inquiry back with the changes ("inquiry.not_found").
	ChangeInquiry(ctx context.Context, a kaiping.Actor, id kaiping.ID, decide func(*Session, *Inquiry) ([]SessionChange, error)) (Inquiry, error)
	// Inquiry returns one inquiry ("inquiry.not_found").
	Inquiry(ctx context.Context, id kaiping.ID) (Inquiry, error)
	// SessionInquiries lists a session's inquiries, oldest first.
	SessionInquiries(ctx context.Context, session kaiping.ID) ([]Inquiry, error)
	// BidderInquiries lists the inquiries ever sent to bidder, in every session, newest first
	// (never one still pending or withdrawn before it went out).
	BidderInquiries(ctx context.Context, bidder kaiping.ID) ([]Inquiry, error)
}
