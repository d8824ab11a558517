package opening

import (
	"context"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/rescue"
)

// HallStore is what the opening hall needs from persistence, besides the opening's Store.
// Every method that changes a hall locks its row, checks the state with the hall's own
// rules (HallStatus.Require, HallStatus.UnlockOpen, CheckTransition), bumps the version, and writes the
// event and the ledger entry in the same transaction; a refusal leaves nothing changed.
// The hall itself is created by Store.SealBidSet, in the transaction that seals the bid set.
type HallStore interface {
	Store

	// Propose stores a proposal of a co-signed step with its ledger entry and an event for
	// the overseers.
	Propose(ctx context.Context, a kaiping.Actor, p Proposal) error
	// Proposals lists the section's proposals of round, oldest first.
	Proposals(ctx context.Context, section kaiping.ID, round int) ([]Proposal, error)
	// Cosign spends the proposal for a.Principal, ledgered: "hall.proposal_not_found" (not
	// this section's round), "hall.proposal_spent" (co-signed before), "hall.cosign_self"
	// (its proposer).
	Cosign(ctx context.Context, a kaiping.Actor, section kaiping.ID, round int, id kaiping.ID) (Proposal, error)

	// Hall returns a section's hall; KindNotFound "hall.not_open" before its bid set is sealed.
	Hall(ctx context.Context, section kaiping.ID) (HallStatus, error)
	// HallEnvelopes lists the section's envelopes in the hall, of one bidder if bidder is
	// not empty, with their headers and wrapped file keys, ordered by bidder name, bidder and kind.
	HallEnvelopes(ctx context.Context, section, bidder kaiping.ID) ([]HallEnvelope, error)
	// CacheHeader keeps an envelope's header once read from object storage.
	CacheHeader(ctx context.Context, envelope kaiping.ID, header []byte) error

	// Transition moves the hall along CheckTransition, with the times t sets. If
	// expectVersion is not 0 and the hall moved on since, it is KindConflict "hall.retry".
	Transition(ctx context.Context, a kaiping.Actor, section kaiping.ID, expectVersion int64, t Transition) (HallStatus, error)
	// Publish ends the decrypt window: it records each undecrypted envelope's outcome,
	// destroys the file keys handed in for them (ShredNotOpened, ledgered), stores the
	// opening record and moves the hall to p.To (published or failed), if the hall is still
	// at expectVersion (else "hall.retry").
	Publish(ctx context.Context, a kaiping.Actor, section kaiping.ID, expectVersion int64, p Publication) (HallStatus, error)

	// CheckIn records the bidder's check-in to the hall's round while the hall is checking
	// in or decrypting; a bidder with no envelope in the set is KindForbidden
	// "hall.not_bidder", in the second round one that did not pass "hall.not_passed". A
	// second check-in returns the first and changes nothing (fresh is false). Check-ins,
	// confirmations and rescue shares are per round; CheckInOf, CheckIns and Confirmations
	// read those of the hall's round.
	CheckIn(ctx context.Context, a kaiping.Actor, section, bidder kaiping.ID) (c CheckIn, fresh bool, err error)
	// CheckInOf returns the bidder's check-in; KindNotFound if it has not checked in.
	CheckInOf(ctx context.Context, section, bidder kaiping.ID) (CheckIn, error)
	// CheckIns lists a section's check-ins.
	CheckIns(ctx context.Context, section kaiping.ID) ([]CheckIn, error)

	// RecordWrongKey counts a wrong key for the bidder's envelope, inside the window, and
	// returns how many wrong keys it has had.
	RecordWrongKey(ctx context.Context, a kaiping.Actor, section, bidder, envelope kaiping.ID, code string) (int, error)
	// QueueUnlock stores a verified file key, wrapped by the KEK (KeyWrapper.Wrap), for an
	// envelope inside the window and marks it queued. bidder is the envelope's owner, or
	// empty for a rescue (via "rescue").
	QueueUnlock(ctx context.Context, a kaiping.Actor, section, bidder, envelope kaiping.ID, wrappedKey []byte, via string) (HallEnvelope, error)
	// RecordBusy counts a right key refused because the queue was full. It is our own
	// operational record, not a change of the hall: no version, event or ledger entry.
	RecordBusy(ctx context.Context, envelope kaiping.ID) error
	// FinishVerify records what verifying a queued envelope found, clearing the failure
	// RecordVerifyFailure noted.
	FinishVerify(ctx context.Context, a kaiping.Actor, section, envelope kaiping.ID, v Verified) error
	// RecordVerifyFailure notes on a queued envelope why its verification failed on our side
	// (its error_code; HallEnvelope.StorageWait), and reports whether it is still queued.
	// Like RecordBusy it is our operational record, not a change of the hall: no version,
	// event or ledger entry (it is written on every retry); the verdict is ledgered.
	RecordVerifyFailure(ctx context.Context, envelope kaiping.ID, code string) (queued bool, err error)
	// ReverifyErrors queues again, in halls still decrypting, the envelopes an older version
	// left in error (our failure) whose key is held, their failure noted as by
	// RecordVerifyFailure and their queued_at kept (when the key was handed in); it returns
	// how many.
	ReverifyErrors(ctx context.Context) (int, error)
	// QueuedEnvelopes lists the envelopes queued at or before before, in every section,
	// oldest first.
	QueuedEnvelopes(ctx context.Context, before time.Time) ([]HallEnvelope, error)
	// DueHalls lists the halls whose decrypt window or confirmation period ended by now.
	DueHalls(ctx context.Context, now time.Time) ([]HallStatus, error)

	// Record returns the section's published opening record of its latest round;
	// KindNotFound "hall.no_record".
	Record(ctx context.Context, section kaiping.ID) (PublishedRecord, error)
	// RecordOf returns the record of one round; KindNotFound "hall.no_record".
	RecordOf(ctx context.Context, section kaiping.ID, round int) (PublishedRecord, error)
	// Qualify records the technical stage's results of a two-envelope tender (双信封) on the
	// first round's closed hall, if still at expectVersion (else "hall.retry"): it keeps
	// the failed bidders' commercial envelopes sealed for good (EnvRetained) and moves the
	// hall to round 2, at q.To (qualified, or failed with q.Reason).
	Qualify(ctx context.Context, a kaiping.Actor, section kaiping.ID, expectVersion int64, q Qualification) (HallStatus, error)
	// Qualifications lists the recorded results of the technical stage, by bidder name.
	Qualifications(ctx context.Context, section kaiping.ID) ([]QualificationResult, error)
	// CertificateDER returns a registered certificate.
	CertificateDER(ctx context.Context, fingerprint string) ([]byte, error)
	// Confirm records a bidder's signed confirmation of the current record while the hall is
	// confirming: another digest is KindConflict "hall.record_changed", a second one
	// "hall.already_confirmed".
	Confirm(ctx context.Context, a kaiping.Actor, c Confirmation) error
	// Confirmations lists a section's confirmations.
	Confirmations(ctx context.Context, section kaiping.ID) ([]Confirmation, error)
	// Object records a bidder's objection (异议) while the record is published or confirming.
	Object(ctx context.Context, a kaiping.Actor, o Objection) error
	// Answer records the host's answer to an unanswered objection.
	Answer(ctx context.Context, a kaiping.Actor, section, objection kaiping.ID, answer string) (Objection, error)
	// Objections lists a section's objections, of one bidder if bidder is not empty.
	Objections(ctx context.Context, section, bidder kaiping.ID) ([]Objection, error)

	// Events lists a section's events after version after (at most limit) that r may read
	// (EventReader.Sees), filtered before the limit applies.
	Events(ctx context.Context, section kaiping.ID, after int64, r EventReader, limit int) ([]HallEvent, error)

	// AddRescuePartials records holder a's verified partial decryptions (share index) for
	// a bidder's bid inside the window, and returns how many holders have handed in
	// partials for that bid. A holder's second submission for one bid is KindConflict
	// "hall.share_duplicate". Partials are not shares (see opening/hall_rescue.go): they are
	// stored until their envelope is opened or the window closes.
	AddRescuePartials(ctx context.Context, a kaiping.Actor, section, bidder kaiping.ID, keyID string, index int, partials []rescue.Partial) (int, error)
	// RescuePartials returns the partials held for a bid's envelopes of the current round,
	// by envelope.
	RescuePartials(ctx context.Context, section, bidder kaiping.ID) (map[kaiping.ID][]rescue.Partial, error)
	// DropRescuePartials deletes the partials of the envelopes a rescue opened and records
	// the combination.
	DropRescuePartials(ctx context.Context, a kaiping.Actor, section, bidder kaiping.ID, envelopes []kaiping.ID) error
}

// Transition is a move of a hall and the times it sets.
type Transition struct {
	To             HallState
	By             By
	Reason         string
	WindowOpensAt  *time.Time
	WindowClosesAt *time.Time
	ConfirmEndsAt  *time.Time
	// Detail goes into the event and the ledger entry.
	Detail map[string]any
	// Final is the final record a round's close stores (its digest named in the entry),
	// to be archived beside the published record; Record holds its canonical bytes and
	// PublishedAt the close's time.
	Final *PublishedRecord
}

// Publication is the end of a decrypt window: the outcome of every envelope not decrypted,
// the opening record, and the state it leaves the hall in.
type Publication struct {
	To       HallState // published or failed
	By       By
	Reason   string // why it failed
	Outcomes []EnvelopeOutcome
	Record   PublishedRecord
	// Final is the final record of a publication that fails the hall (流标): the hall
	// ends here, so its final record is stored with the record (see Transition.Final).
	Final *PublishedRecord
}

// EnvelopeOutcome is the classification of an envelope not decrypted (HallEnvelope.Classify).
type EnvelopeOutcome struct {
	Envelope kaiping.ID `json:"envelope_id"`
	Outcome  string     `json:"outcome"`
	Reason   string     `json:"reason"`
}

// Verified is what verifying a queued envelope found: decrypted, corrupt (ErrorCode says
// how) or error (our side failed).
type Verified struct {
	State           string
	ErrorCode       string
	PlaintextSize   int64
	PlaintextDigest string
	Chunks          int64
	Summary         map[string]string
}

// CheckIn is a bidder's check-in (签到) to the hall.
type CheckIn struct {
	Section    kaiping.ID `json:"section_id"`
	Bidder     kaiping.ID `json:"bidder_id"`
	BidderName string     `json:"bidder_name"`
	At         time.Time  `json:"at"`
	Address    string     `json:"address"`
}
