package opening

import (
	"context"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/rescue"
)

// RescueShareRequest is a supervisor's share of the tender's rescue key (解密失败补救方案),
// decrypted and checked on the supervisor's own machine (rescue.VerifyShare), handed in
// over TLS for one bidder's bid.
type RescueShareRequest struct {
	Bidder kaiping.ID   `json:"bidder_id"`
	Share  rescue.Share `json:"share"`
}

// RescueProgress says how far the rescue of a bid has come.
type RescueProgress struct {
	Bidder    kaiping.ID     `json:"bidder_id"`
	Shares    int            `json:"shares"`
	Threshold int            `json:"threshold"`
	Opened    []UnlockStatus `json:"opened,omitempty"` // envelopes queued once the key was rebuilt
}

// SubmitRescueShare takes supervisor a's share for a bidder's bid, only after the deadline
// and inside the decrypt window, and only from a holder named by the tender. The share is
// checked against the tender's public commitments before it is kept; every submission is
// ledgered (never the share's value). When k shares for the bid are in, the rescue key is
// rebuilt, the file key of each of the bid's envelopes not yet decrypted is unwrapped from
// its rescue stanza and queued for the same verification as a bidder's, and the key and
// the shares' values are wiped.
func (h *Hall) SubmitRescueShare(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string, req RescueShareRequest) (RescueProgress, error) {
	defer req.Share.Wipe()
	t, sec, st, err := h.load(ctx, tenderID, sectionRef)
	if err != nil {
		return RescueProgress{}, err
	}
	if !t.Rescue.Enabled {
		return RescueProgress{}, kaiping.E(kaiping.KindConflict, "hall.no_rescue", "本项目未设解密失败补救方案")
	}
	if a.At.Before(t.Deadline) {
		return RescueProgress{}, kaiping.E(kaiping.KindTooEarly, "hall.rescue_too_early", "投标截止前任何人不得提交补救密钥份额")
	}
	if err := st.UnlockOpen(a.At); err != nil {
		return RescueProgress{}, err
	}
	setup, err := h.store.RescueSetup(ctx, t.ID)
	if err != nil {
		return RescueProgress{}, err
	}
	if err := checkShare(setup, a.Principal, req.Share); err != nil {
		return RescueProgress{}, err
	}
	targets, err := h.rescueTargets(ctx, t, sec, st.Round, req.Bidder)
	if err != nil {
		return RescueProgress{}, err
	}
	n, err := h.store.AddRescueShare(ctx, a, sec.ID, req.Bidder, req.Share)
	if err != nil {
		return RescueProgress{}, err
	}
	p := RescueProgress{Bidder: req.Bidder, Shares: n, Threshold: setup.Threshold()}
	if n < p.Threshold {
		return p, nil
	}
	p.Opened, err = h.combine(ctx, a, t, sec, setup, req.Bidder, targets)
	return p, err
}

// checkShare checks that the share is the holder's own (its index and the tender's key)
// and that it lies on the committed polynomial.
func checkShare(setup rescue.Setup, holder kaiping.ID, s rescue.Share) error {
	var mine *rescue.EncryptedShare
	for i := range setup.Shares {
		if setup.Shares[i].Holder == holder {
			mine = &setup.Shares[i]
		}
	}
	if mine == nil {
		return kaiping.E(kaiping.KindForbidden, "rescue.not_holder", "您不是本项目补救密钥的持有人")
	}
	if s.Index != mine.Index || s.KeyID != setup.KeyID {
		return kaiping.Errorf(kaiping.KindInvalid, "hall.share_invalid", "份额不是您持有的第 %d 号份额或不属于本项目的补救密钥", mine.Index)
	}
	// Combine checks every share before counting them: with one share of a k ≥ 2 split, a
	// good share gets "not enough shares", a bad one "share invalid".
	one := rescue.Share{KeyID: s.KeyID, Index: s.Index, Value: append([]byte(nil), s.Value...)}
	defer one.Wipe()
	key, err := rescue.Combine([]rescue.Share{one}, setup.Commitments, setup.PublicKey)
	if key != nil {
		key.Wipe()
	}
	switch kaiping.CodeOf(err) {
	case rescue.CodeNotEnoughShares:
		return nil
	case rescue.CodeShareInvalid:
		return kaiping.E(kaiping.KindInvalid, "hall.share_invalid", "份额校验失败：与本项目补救密钥的公开承诺不符")
	}
	return err
}

// rescueTargets are the bid's envelopes of this round that are neither decrypted nor
// queued nor corrupt: what a rescue can still open.
func (h *Hall) rescueTargets(ctx context.Context, t Tender, sec Section, round int, bidder kaiping.ID) ([]HallEnvelope, error) {
	envs, err := h.store.HallEnvelopes(ctx, sec.ID, bidder)
	if err != nil {
		return nil, err
	}
	var targets []HallEnvelope
	found, retained := false, false
	for _, e := range envs {
		if !t.Plan.OpensIn(round, e.Kind) {
			continue
		}
		found, retained = true, retained || e.State == EnvRetained
		if e.CanUnlock() == nil {
			targets = append(targets, e)
		}
	}
	switch {
	case !found:
		return nil, kaiping.E(kaiping.KindNotFound, "hall.rescue_no_bid", "该投标人在本标段没有投标文件")
	case retained:
		return nil, kaiping.E(kaiping.KindForbidden, "hall.not_passed", "该投标人未进入第二轮（未通过技术评审或第一轮投标文件未解密），其开标一览表与商务标永久密封，不得补救开启")
	case len(targets) == 0:
		return nil, kaiping.E(kaiping.KindConflict, "hall.rescue_nothing", "该投标人的投标文件均已解密、正在验证或已确认损坏，无需补救")
	}
	return targets, nil
}

// combine rebuilds the rescue key from the bid's shares, opens the rescue stanzas of the
// targets, stores their file keys and queues them, then wipes key and shares. A file key
// is stored before it is queued, so a full queue only delays its verification (Due queues
// it) and never loses it.
func (h *Hall) combine(ctx context.Context, a kaiping.Actor, t Tender, sec Section, setup rescue.Setup, bidder kaiping.ID, targets []HallEnvelope) ([]UnlockStatus, error) {
	shares, err := h.store.RescueShares(ctx, sec.ID, bidder)
	if err != nil {
		return nil, err
	}
	key, err := rescue.Combine(shares, setup.Commitments, setup.PublicKey)
	for i := range shares {
		shares[i].Wipe()
	}
	if err != nil {
		return nil, err
	}
	defer key.Wipe()
	id, err := key.Identity()
	if err != nil {
		return nil, err
	}
	var opened []UnlockStatus
	var ids []kaiping.ID
	for _, e := range targets {
		hdr, err := h.header(ctx, e)
		if err != nil {
			return opened, err
		}
		fileKey, err := hdr.UnwrapFileKey(id)
		if err != nil {
			h.log.Error("unwrap rescue stanza", "envelope_id", e.ID, "err", err)
			continue
		}
		queued, err := h.storeKey(ctx, a, sec.ID, "", e.ID, fileKey, "rescue")
		clear(fileKey)
		if kaiping.IsKind(err, kaiping.KindConflict) {
			continue // a concurrent combine, or the bidder, was first
		}
		if err != nil {
			return opened, err
		}
		if h.queue.reserve() {
			h.queue.push(verifyJob{env: queued, fields: t.SummaryFields})
		}
		opened, ids = append(opened, h.unlockStatus(queued)), append(ids, e.ID)
	}
	key.Wipe()
	return opened, h.store.WipeRescueShares(ctx, a, sec.ID, bidder, ids)
}
