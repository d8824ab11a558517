package opening

import (
	"context"
	"time"

	"github.com/kaiping/kaiping"
)

// A server that dies while it completes an upload leaves one of two things behind, and the
// reconciler finds both:
//
//   - an upload still completing: its request arrived (before the deadline, or it would not
//     have been recorded) and its parts may or may not have been assembled. Whether or not
//     the bidder got a receipt, the bid arrived complete in time, so it is finished exactly
//     as the live request would have: accepted and receipted (the bidder fetches the
//     receipt by completing again), or refused for what is wrong with the file. The bid set
//     is not sealed before (SealBidSet waits), so a receipted bid is never left out and an
//     unreceipted one is counted only if it arrived in time.
//   - an object in storage that no accepted envelope accounts for (storage assembled it,
//     the server died, and nothing recorded the upload as completing: a server older than
//     this reconciler, or a hand in the bucket). It is recorded as an orphan and ledgered
//     once, never counted; one left unlocked by a refusal that was recorded is discarded.

// ReconcileReport is what one run of the reconciler did.
type ReconcileReport struct {
	Accepted  int // abandoned completions finished and accepted
	Refused   int // abandoned completions finished and refused (or reopened: parts not as named)
	Pending   int // abandoned completions that could not be finished now (storage down)
	Orphans   int // objects recorded as orphans now
	Discarded int // unlocked objects of refused uploads deleted now
}

// ObjectUse is the upload whose object key a stored object has.
type ObjectUse struct {
	Upload kaiping.ID
	State  string
	// EnvelopeVersion is the object version of the upload's accepted envelope; empty if
	// none was accepted.
	EnvelopeVersion string
}

// Orphan is a stored object version no accepted envelope accounts for.
type Orphan struct {
	StoredVersion
	LockedUntil time.Time  // its COMPLIANCE retention; zero if none
	Upload      kaiping.ID // the upload whose key it has; empty if none
	UploadState string
	// Discarded says the object was deleted (unlocked, of a refused upload) rather than
	// only recorded.
	Discarded bool
}

// RecoverCompletions finishes every completion abandoned by a server that died: still
// completing completionTimeout after its request arrived, when the server handling it has
// given up (its context ends then). Each is claimed, so that one replica works on it, and
// finished as its request would have been, and the reconciler's part is ledgered
// (bid.reconcile). One that cannot be finished now (storage
// unreachable) stays completing, and its section unsealed, until a later run can.
func (s *Submission) RecoverCompletions(ctx context.Context) (ReconcileReport, error) {
	var r ReconcileReport
	now := s.clock.Now()
	// A claim lasts as long as the work may (recoverCompletion's timeout): one left by a
	// reconciler that died too is taken over then.
	stale, err := s.store.ClaimStaleCompletions(ctx, now, now.Add(-completionTimeout))
	if err != nil {
		return r, err
	}
	var firstErr error
	for _, u := range stale {
		outcome, err := s.recoverCompletion(ctx, u)
		switch outcome {
		case "accepted":
			r.Accepted++
		case "refused", "reopened":
			r.Refused++
		default:
			r.Pending++
			if firstErr == nil {
				firstErr = err
			}
			if err := s.store.ReleaseCompletionClaim(ctx, u.ID); err != nil {
				s.log.Error("release completion claim", "upload_id", u.ID, "err", err)
			}
		}
	}
	return r, firstErr
}

// recoverCompletion finishes one abandoned completion and ledgers what came of it.
func (s *Submission) recoverCompletion(ctx context.Context, u Upload) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	t, err := s.store.Tender(ctx, u.Tender)
	if err != nil {
		return "", err
	}
	by := kaiping.SystemActor(s.clock.Now())
	rc, err := s.finish(ctx, by, t, u)
	detail := map[string]any{"tender": u.Tender, "section": u.Section, "bidder": u.Bidder, "kind": u.Kind,
		"arrived_at": u.CompletingAt}
	switch {
	case err == nil:
		detail["outcome"], detail["submit_seq"] = "accepted", rc.Ledger.Seq
	case kaiping.CodeOf(err) == "bid.parts":
		// Storage would not assemble the parts named: the upload is open again, and ends
		// with the others at the seal unless its tool completes it in time.
		detail["outcome"], detail["code"] = "reopened", kaiping.CodeOf(err)
	case kaiping.IsKind(err, kaiping.KindInvalid) || kaiping.CodeOf(err) == "bid.parts_lost":
		detail["outcome"], detail["code"] = "refused", kaiping.CodeOf(err)
	default:
		s.log.Error("abandoned completion not finished; its section stays unsealed", "upload_id", u.ID,
			"tender_id", u.Tender, "section_id", u.Section, "err", err)
		return "", err
	}
	s.log.Warn("abandoned completion finished", "upload_id", u.ID, "tender_id", u.Tender, "outcome", detail["outcome"])
	if lerr := s.store.LedgerReconcile(ctx, by, u.ID, detail); lerr != nil {
		s.log.Error("ledger reconcile", "upload_id", u.ID, "err", lerr)
	}
	return detail["outcome"].(string), nil
}

// ReconcileStorage matches every object in the bids bucket against the uploads and
// envelopes recorded: an object of an accepted envelope, or of an upload still completing,
// is accounted for; any other is an orphan, recorded and ledgered once (bid.orphan). An
// orphan is never counted and never deleted, except an unlocked object of an upload refused
// and recorded as such (its refusal was decided; the crash only kept the delete from
// happening). The server runs it at start and periodically.
func (s *Submission) ReconcileStorage(ctx context.Context) (ReconcileReport, error) {
	var r ReconcileReport
	stored, err := s.objects.Stored(ctx, "tenders/")
	if err != nil {
		return r, err
	}
	keys := make([]string, 0, len(stored))
	for _, v := range stored {
		keys = append(keys, v.Key)
	}
	uses, err := s.store.ObjectUses(ctx, keys)
	if err != nil {
		return r, err
	}
	a := kaiping.SystemActor(s.clock.Now())
	for _, v := range stored {
		use, known := uses[v.Key]
		if known && (use.EnvelopeVersion == v.Version || use.State == UploadCompleting) {
			continue
		}
		o := Orphan{StoredVersion: v, Upload: use.Upload, UploadState: use.State}
		if o.LockedUntil, err = s.objects.LockedUntil(ctx, v.Key, v.Version); err != nil {
			return r, err
		}
		if known && use.State == UploadAborted && o.LockedUntil.IsZero() {
			if err := s.objects.Discard(ctx, v.Key, v.Version); err != nil {
				s.log.Error("discard refused upload's object", "upload_id", use.Upload, "err", err)
			} else {
				o.Discarded = true
			}
		}
		recorded, err := s.store.RecordOrphan(ctx, a, o)
		if err != nil {
			return r, err
		}
		switch {
		case o.Discarded:
			r.Discarded++
		case recorded:
			r.Orphans++
			s.log.Warn("orphan object in the bids bucket", "key", v.Key, "version", v.Version,
				"upload_id", use.Upload, "upload_state", use.State, "locked_until", o.LockedUntil)
		}
	}
	return r, nil
}

// reconcileInterval is how often the server matches storage against the database.
const reconcileInterval = 10 * time.Minute

// RunReconciler matches storage against the database (ReconcileStorage) at once and then
// every ten minutes, until ctx ends. Abandoned completions are finished by the sealer
// (SealDue), which runs far more often.
func (s *Submission) RunReconciler(ctx context.Context) {
	t := time.NewTicker(reconcileInterval)
	defer t.Stop()
	for {
		if r, err := s.ReconcileStorage(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("reconcile storage", "err", err)
		} else if r.Orphans+r.Discarded > 0 {
			s.log.Warn("reconciled storage", "orphans", r.Orphans, "discarded", r.Discarded)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
