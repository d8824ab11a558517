package opening

import (
	"context"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/rescue"
)

// Store is what the opening needs from persistence. Every method that changes state writes
// its ledger entry in the same transaction, and refuses with a specific error rather than
// leaving anything half-written.
type Store interface {
	// CreateTender stores a validated tender with its sections and, for a tender with a
	// rescue plan, its rescue setup. A duplicate code is KindConflict "tender.code_taken".
	CreateTender(ctx context.Context, a kaiping.Actor, t Tender, setup *rescue.Setup) error
	// RescueHolders returns, for each principal, the certificate its rescue share is
	// encrypted to: the newest registered certificate valid at at. A principal that is not
	// a supervisor or has no such certificate is KindInvalid "tender.rescue_holder".
	RescueHolders(ctx context.Context, ids []kaiping.ID, at time.Time) ([]rescue.Holder, error)
	// RescueSetup returns a tender's rescue setup; KindNotFound "rescue.none" if it has none.
	RescueSetup(ctx context.Context, tender kaiping.ID) (rescue.Setup, error)
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

	// CreateUpload records a started upload, unless the bidder already has maxOpen open
	// uploads in the section (KindConflict "upload.too_many_open"), checked atomically.
	CreateUpload(ctx context.Context, a kaiping.Actor, u Upload, maxOpen int) error
	// Upload returns one upload.
	Upload(ctx context.Context, id kaiping.ID) (Upload, error)
	// EndUpload moves an open or completing upload to state "aborted" (completed uploads
	// end through AcceptEnvelope). It reports whether it did: false if the upload had
	// already ended.
	EndUpload(ctx context.Context, a kaiping.Actor, id kaiping.ID, reason string) (bool, error)
	// BeginCompletion records, in one transaction serialized with the bidder's other
	// submissions and with the sealing of the bid set, that the completion request of the
	// open upload id arrived at a.At from a.Address naming parts: state "completing". It
	// checks a.At is before the deadline and the set is not sealed (KindTooLate
	// "bid.deadline_passed"). An upload already completing is returned as it is (a retry);
	// one that has ended is KindConflict "upload.closed".
	BeginCompletion(ctx context.Context, a kaiping.Actor, id kaiping.ID, parts []Part) (Upload, error)
	// ReopenUpload moves a completing upload whose parts storage refused to assemble back
	// to open, forgetting its completion request.
	ReopenUpload(ctx context.Context, id kaiping.ID) error
	// NoteObjectVersion records the version storage made of a completing upload's parts.
	NoteObjectVersion(ctx context.Context, id kaiping.ID, version string) error
	// ClaimStaleCompletions claims, at now, the uploads completing since before
	// arrivedBefore that no one has claimed since then either, and returns them: one
	// reconciler (on one replica) works on each at a time.
	ClaimStaleCompletions(ctx context.Context, now, arrivedBefore time.Time) ([]Upload, error)
	// ReleaseCompletionClaim gives up the claim on a completing upload that could not be
	// finished now, for the next run to try again.
	ReleaseCompletionClaim(ctx context.Context, id kaiping.ID) error
	// UploadReceipt rebuilds the receipt of a completed upload from its envelope and ledger
	// entry: a bidder whose completion answer was lost fetches it again.
	UploadReceipt(ctx context.Context, id kaiping.ID) (Receipt, error)
	// AcceptEnvelope, in one transaction: serializes with the bidder's other submissions,
	// checks a.At is before the tender's deadline (KindTooLate "bid.deadline_passed"), marks
	// the completing upload completed (KindConflict "upload.closed" if it is not
	// completing), supersedes the bidder's current envelope of that kind, stores e with the
	// next version number, appends the ledger entry and returns the receipt.
	AcceptEnvelope(ctx context.Context, a kaiping.Actor, u Upload, e Envelope) (Receipt, error)
	// ObjectUses says, for each object key given, the upload whose key it is (with the
	// version of its accepted envelope, if any); keys of no upload are absent.
	ObjectUses(ctx context.Context, keys []string) (map[string]ObjectUse, error)
	// RecordOrphan records an object no accepted envelope accounts for, with its ledger
	// entry, once: it reports false if that version was recorded before.
	RecordOrphan(ctx context.Context, a kaiping.Actor, o Orphan) (bool, error)
	// LedgerReconcile appends the ledger entry of a reconciler action on an upload.
	LedgerReconcile(ctx context.Context, a kaiping.Actor, upload kaiping.ID, detail map[string]any) error
	// Withdraw, in one transaction: serializes with the bidder's submissions, checks a.At is
	// before the deadline and the bid set is not sealed, marks every current envelope of
	// the bidder in the section withdrawn (KindNotFound "bid.nothing_to_withdraw" if none),
	// appends the ledger entry and returns the receipt.
	Withdraw(ctx context.Context, a kaiping.Actor, section, bidder kaiping.ID) (Receipt, error)
	// Envelopes lists the bidder's envelopes in a section, every version, oldest first.
	Envelopes(ctx context.Context, section, bidder kaiping.ID) ([]Envelope, error)
	// OpenUploads lists the unfinished uploads of a section, open or completing (of one
	// bidder if bidder is not empty).
	OpenUploads(ctx context.Context, section, bidder kaiping.ID) ([]Upload, error)

	// SealBidSet commits the section's current envelopes into the ledger and freezes them,
	// in one transaction that waits for submissions in flight. While an upload of the
	// section is completing it seals nothing: KindConflict "bidset.completions_pending".
	// Sealing twice returns the first seal. It is the caller's job to call it only after
	// the deadline.
	SealBidSet(ctx context.Context, a kaiping.Actor, tender, section kaiping.ID) (BidSet, error)
	// BidSet returns a section's sealed bid set; KindNotFound "bidset.not_sealed" before.
	BidSet(ctx context.Context, section kaiping.ID) (BidSet, error)
	// UnsealedSections lists the sections whose tender deadline is at or before due and
	// whose bid set is not yet sealed.
	UnsealedSections(ctx context.Context, due time.Time) ([]SectionRef, error)
	// NextUnsealedDeadline is the earliest deadline of a section not yet sealed; false if
	// every section is sealed.
	NextUnsealedDeadline(ctx context.Context) (time.Time, bool, error)

	// Assign stores an assignment after checking, in the same transaction, that the tender
	// exists and the principal holds the duty's role (KindInvalid "staff.role"); a live
	// duplicate is KindConflict "staff.duplicate".
	Assign(ctx context.Context, a kaiping.Actor, asg kaiping.Assignment) error
	// RevokeAssignment ends a live assignment of the tender ("staff.not_found",
	// "staff.revoked") and returns it as revoked.
	RevokeAssignment(ctx context.Context, a kaiping.Actor, tender, id kaiping.ID) (kaiping.Assignment, error)
	// Staff lists a tender's assignments, revoked ones included, oldest first.
	Staff(ctx context.Context, tender kaiping.ID) ([]kaiping.Assignment, error)

	// AddBlacklist stores an entry; the bidder must exist.
	AddBlacklist(ctx context.Context, a kaiping.Actor, b BlacklistEntry) error
	// Blacklist lists all entries, newest first.
	Blacklist(ctx context.Context) ([]BlacklistEntry, error)
}
