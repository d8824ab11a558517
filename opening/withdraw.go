package opening

import (
	"context"

	"github.com/kaiping/kaiping"
)

// Withdraw withdraws the bidder's bid for a section (撤回投标文件) before the deadline: every
// current envelope is marked withdrawn, stays stored, and is never opened. The bidder gets a
// receipt for it as for a submission. A bidder may submit again afterwards, before the
// deadline.
func (s *Submission) Withdraw(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string) (Receipt, error) {
	_, sec, err := s.openTender(ctx, a, tenderID, sectionRef)
	if err != nil {
		return Receipt{}, err
	}
	return s.stamped(ctx)(s.store.Withdraw(ctx, a, sec.ID, a.Principal))
}

// BidStatus is what a bidder sees of its own bid for a section: every envelope version it
// submitted with its state, its uploads still open, and the bid set once sealed.
type BidStatus struct {
	Tender    kaiping.ID `json:"tender_id"`
	Section   kaiping.ID `json:"section_id"`
	Envelopes []Envelope `json:"envelopes"`
	Uploads   []Upload   `json:"open_uploads"`
	BidSet    *BidSet    `json:"bid_set,omitempty"`
	// InBidSet says whether each current envelope's digest is in the sealed bid set: a
	// bidder's own check that the platform committed what it receipted.
	InBidSet bool `json:"in_bid_set"`
}

// Status returns the bidder's own bid status for a section; nobody sees another bidder's.
func (s *Submission) Status(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string) (BidStatus, error) {
	t, err := s.store.Tender(ctx, tenderID)
	if err != nil {
		return BidStatus{}, err
	}
	sec, err := t.Section(sectionRef)
	if err != nil {
		return BidStatus{}, err
	}
	st := BidStatus{Tender: t.ID, Section: sec.ID}
	if st.Envelopes, err = s.store.Envelopes(ctx, sec.ID, a.Principal); err != nil {
		return BidStatus{}, err
	}
	if st.Uploads, err = s.store.OpenUploads(ctx, sec.ID, a.Principal); err != nil {
		return BidStatus{}, err
	}
	set, err := s.store.BidSet(ctx, sec.ID)
	switch {
	case err == nil:
		st.BidSet = &set
		st.InBidSet = currentInSet(st.Envelopes, set)
	case !kaiping.IsKind(err, kaiping.KindNotFound):
		return BidStatus{}, err
	}
	return st, nil
}

// currentInSet reports whether every current envelope's digest is in the set, and there is
// at least one.
func currentInSet(envs []Envelope, set BidSet) bool {
	in := map[string]bool{}
	for _, d := range set.Digests {
		in[d] = true
	}
	n := 0
	for _, e := range envs {
		if e.State == EnvelopeCurrent {
			if !in[e.SHA256] {
				return false
			}
			n++
		}
	}
	return n > 0
}
