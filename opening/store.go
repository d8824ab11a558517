package opening

import (
	"context"

	"github.com/kaiping/kaiping"
)

// Store is what the opening needs from persistence. Every method that changes state writes
// its ledger entry in the same transaction, and refuses with a specific error rather than
// leaving anything half-written.
type Store interface {
	// CreateTender stores a validated tender with its sections. A duplicate code is
	// KindConflict "tender.code_taken".
	CreateTender(ctx context.Context, a kaiping.Actor, t Tender) error
	// Tender returns a tender with its sections.
	Tender(ctx context.Context, id kaiping.ID) (Tender, error)
	// Tenders lists tenders, newest deadline first.
	Tenders(ctx context.Context) ([]Tender, error)

	// Register records r after checking, in the same transaction and at r.At, that the
	// deadline has not passed, that the bidder is not blacklisted (KindForbidden
	// "register.blacklisted" with the reason) and that the certificate is registered to the
	// bidder. A second registration for the same section is KindConflict.
	Register(ctx context.Context, a kaiping.Actor, r Registration) error
	// Registrations lists a section's registrations.
	Registrations(ctx context.Context, tender, section kaiping.ID) ([]Registration, error)

	// Registration returns the bidder's registration for a section.
	Registration(ctx context.Context, section, bidder kaiping.ID) (Registration, error)

	// CreateUpload records a started upload.
	CreateUpload(ctx context.Context, a kaiping.Actor, u Upload) error
	// Upload returns one upload.
	Upload(ctx context.Context, id kaiping.ID) (Upload, error)
	// EndUpload moves an open upload to state "aborted" (completed uploads end through
	// AcceptEnvelope).
	EndUpload(ctx context.Context, a kaiping.Actor, id kaiping.ID, reason string) error
	// AcceptEnvelope, in one transaction: serializes with the bidder's other submissions,
	// checks a.At is before the tender's deadline (KindTooLate "bid.deadline_passed"), marks
	// the upload completed, supersedes the bidder's current envelope of that kind, stores e
	// with the next version number, appends the ledger entry and returns the receipt.
	AcceptEnvelope(ctx context.Context, a kaiping.Actor, u Upload, e Envelope) (Receipt, error)

	// AddBlacklist stores an entry; the bidder must exist.
	AddBlacklist(ctx context.Context, a kaiping.Actor, b BlacklistEntry) error
	// Blacklist lists all entries, newest first.
	Blacklist(ctx context.Context) ([]BlacklistEntry, error)
}
