package opening

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"github.com/kaiping/kaiping"
)

// BidSet is a section's set of sealed envelopes as committed into the ledger once the
// deadline has passed (截标). After it nothing about the set can change: the database refuses
// any change to the section's envelopes, and any bidder can check that their envelope is in
// it, or that a bid added or removed later would show, against the ledger.
//
// The set names no bidder: before the opening the law forbids disclosing who bid, so it
// holds only the ciphertext digests, which say nothing about who submitted them.
type BidSet struct {
	Tender    kaiping.ID `json:"tender_id"`
	Section   kaiping.ID `json:"section_id"`
	SealedAt  time.Time  `json:"sealed_at"`
	Envelopes int        `json:"envelopes"`
	Bidders   int        `json:"bidders"`
	// Digests are the hex SHA-256 of every current envelope file, sorted.
	Digests []string `json:"digests"`
	// Digest is BidSetDigest(Digests).
	Digest    string `json:"digest"`
	LedgerSeq int64  `json:"ledger_seq"`
}

// BidSetDigest is the hex SHA-256 over the sorted envelope digests, each followed by a
// newline: one value that pins the whole set.
func BidSetDigest(digests []string) string {
	sorted := slices.Sorted(slices.Values(digests))
	h := sha256.New()
	for _, d := range sorted {
		h.Write([]byte(d + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SectionRef names a section of a tender.
type SectionRef struct {
	Tender  kaiping.ID `json:"tender_id"`
	Section kaiping.ID `json:"section_id"`
}

// SealSettle is how long after the deadline the sealer waits before it seals, and all it
// waits on a clock for: a completion request that arrived before the deadline is recorded
// as completing (BeginCompletion: two reads and one short transaction after it arrived)
// within it. Completions recorded as completing the seal then waits on for as long as they
// take, not for a fixed grace: SealBidSet refuses while any is in flight.
const SealSettle = 2 * time.Second

// completionTimeout bounds one completion: assembling, reading back (hashing) and checking
// the largest envelope. A completion still completing this long after its request arrived
// was abandoned (the server handling it died) and RecoverCompletions finishes it.
const completionTimeout = 4 * time.Minute

// SealDue finishes the completions abandoned by a server that died (RecoverCompletions),
// then seals the bid set of every section whose deadline passed at least SealSettle ago
// and which has no upload completing, then aborts the uploads left open in them (a bid not
// completely transmitted by the deadline counts as withdrawn) and any incomplete upload
// left in storage. It returns the sets sealed now. The server calls it as each deadline
// passes and every few hundred milliseconds while a section waits (NextSeal); it is safe
// to run on several replicas at once.
func (s *Submission) SealDue(ctx context.Context) ([]BidSet, error) {
	if err := kaiping.Synchronised(s.clock); err != nil {
		return nil, err
	}
	if _, err := s.RecoverCompletions(ctx); err != nil {
		// A completion that cannot be finished now keeps its section waiting; the others
		// need not.
		s.log.Error("recover completions", "err", err)
	}
	now := s.clock.Now()
	due, err := s.store.UnsealedSections(ctx, now.Add(-SealSettle))
	if err != nil {
		return nil, err
	}
	a := kaiping.SystemActor(now)
	var sealed []BidSet
	for _, ref := range due {
		set, err := s.store.SealBidSet(ctx, a, ref.Tender, ref.Section)
		if kaiping.CodeOf(err) == "bidset.completions_pending" {
			continue // sealed as soon as they finish
		}
		if err != nil {
			return sealed, err
		}
		sealed = append(sealed, set)
		s.log.Info("bid set sealed", "tender_id", ref.Tender, "section_id", ref.Section,
			"envelopes", set.Envelopes, "digest", set.Digest, "ledger_seq", set.LedgerSeq)
		if err := s.abandonUploads(ctx, a, ref); err != nil {
			return sealed, err
		}
	}
	return sealed, nil
}

// NextSeal is when SealDue may next have a set to seal: the earliest deadline not yet
// sealed plus SealSettle (in the past while a section waits on its completions); false if
// every section is sealed.
func (s *Submission) NextSeal(ctx context.Context) (time.Time, bool, error) {
	d, ok, err := s.store.NextUnsealedDeadline(ctx)
	return d.Add(SealSettle), ok, err
}

// abandonUploads aborts a sealed section's open uploads, recording each, and removes every
// incomplete multipart upload left under the section's prefix in storage (a tool that died
// between starting an upload and the server recording it leaves one).
func (s *Submission) abandonUploads(ctx context.Context, a kaiping.Actor, ref SectionRef) error {
	open, err := s.store.OpenUploads(ctx, ref.Section, "")
	if err != nil {
		return err
	}
	for _, u := range open {
		if u.State == UploadOpen {
			s.abort(ctx, a, u, "abandoned")
		}
	}
	return s.objects.AbortIncomplete(ctx, sectionPrefix(ref.Tender, ref.Section))
}

// sectionPrefix is where a section's envelopes are stored.
func sectionPrefix(tender, section kaiping.ID) string {
	return "tenders/" + string(tender) + "/" + string(section) + "/"
}

// BidSet returns a section's sealed bid set to anyone who may see the tender.
func (s *Submission) BidSet(ctx context.Context, tenderID kaiping.ID, sectionRef string) (BidSet, error) {
	t, err := s.store.Tender(ctx, tenderID)
	if err != nil {
		return BidSet{}, err
	}
	sec, err := t.Section(sectionRef)
	if err != nil {
		return BidSet{}, err
	}
	return s.store.BidSet(ctx, sec.ID)
}
