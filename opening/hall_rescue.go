package opening

import (
	"context"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/rescue"
)

// The rescue of a bid (解密失败补救方案) is a threshold decryption (opening/rescue, RESCUE.md):
// each holder's tool fetches the E points of the bid's rescue stanzas (RescueStanzas),
// computes D_i = s_i·E with its share on the holder's machine, and hands in only the
// partials and their proofs (SubmitRescuePartials). The server checks each proof against
// the holder's public share Y_i from the Feldman commitments, keeps the partials, and with
// k of them for an envelope computes s·E, unwraps that stanza's file key and queues it for
// the same verification as a bidder's. No share and no rescue private key ever reaches the
// server, so nothing it stores, logs or backs up can open a bid that was not rescued.
//
// Partials are kept in PostgreSQL (hall_rescue_partials) until their envelope is opened or
// the window closes, and then deleted. A partial is not a share: it opens only the stanza it
// was computed for, fewer than k of them do not help to open even that one, and k of them
// open it only while it is a rescue target (the bid named, in the open window). Keeping them
// in the database means a crash or a second replica does not lose a rescue in progress.

// RescueStanzaPoint is one envelope's rescue stanza as a holder needs it: its E.
type RescueStanzaPoint struct {
	Envelope kaiping.ID `json:"envelope_id"`
	Kind     string     `json:"kind"`
	// Ephemeral is E, the stanza's ephemeral P-256 point, 65 bytes uncompressed.
	Ephemeral []byte `json:"ephemeral"`
}

// RescueStanzas is what a holder's tool fetches to compute partial decryptions for one
// bidder's bid: the tender's rescue key, the holder's own share index and the E of each
// envelope a rescue can still open.
type RescueStanzas struct {
	Bidder    kaiping.ID          `json:"bidder_id"`
	KeyID     string              `json:"key_id"`
	Index     int                 `json:"index"`
	Threshold int                 `json:"threshold"`
	Envelopes []RescueStanzaPoint `json:"envelopes"`
}

// RescuePartialsRequest is a holder's partial decryptions for one bidder's bid: one per
// envelope of RescueStanzas, computed on the holder's machine (rescue.PartialDecrypt).
type RescuePartialsRequest struct {
	Bidder   kaiping.ID       `json:"bidder_id"`
	Partials []rescue.Partial `json:"partials"`
}

// RescueProgress says how far the rescue of a bid has come.
type RescueProgress struct {
	Bidder    kaiping.ID     `json:"bidder_id"`
	Shares    int            `json:"shares"` // holders who have handed in partials for the bid
	Threshold int            `json:"threshold"`
	Opened    []UnlockStatus `json:"opened,omitempty"` // envelopes opened and queued with these partials
}

// rescueHolder checks what every rescue request needs: a rescue plan, after the deadline,
// inside the window, a holder named by the tender. It returns the setup and the holder's
// share index.
func (h *Hall) rescueHolder(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string) (Tender, Section, HallStatus, rescue.Setup, int, error) {
	var setup rescue.Setup
	t, sec, st, err := h.load(ctx, tenderID, sectionRef)
	if err != nil {
		return t, sec, st, setup, 0, err
	}
	if !t.Rescue.Enabled {
		return t, sec, st, setup, 0, kaiping.E(kaiping.KindConflict, "hall.no_rescue", "本项目未设解密失败补救方案")
	}
	if err := kaiping.Synchronised(h.clock); err != nil {
		return t, sec, st, setup, 0, err
	}
	if a.At.Before(t.Deadline) {
		return t, sec, st, setup, 0, kaiping.E(kaiping.KindTooEarly, "hall.rescue_too_early", "投标截止前任何人不得参与补救解密")
	}
	if err := st.UnlockOpen(a.At); err != nil {
		return t, sec, st, setup, 0, err
	}
	if setup, err = h.store.RescueSetup(ctx, t.ID); err != nil {
		return t, sec, st, setup, 0, err
	}
	for _, es := range setup.Shares {
		if es.Holder == a.Principal {
			return t, sec, st, setup, es.Index, nil
		}
	}
	return t, sec, st, setup, 0, kaiping.E(kaiping.KindForbidden, "rescue.not_holder", "您不是本项目补救密钥的持有人")
}

// RescueStanzas returns the E points of a bidder's envelopes that a rescue can still open,
// to a holder of the tender's rescue key, only after the deadline and inside the window.
func (h *Hall) RescueStanzas(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string, bidder kaiping.ID) (RescueStanzas, error) {
	t, sec, st, setup, index, err := h.rescueHolder(ctx, a, tenderID, sectionRef)
	if err != nil {
		return RescueStanzas{}, err
	}
	targets, err := h.rescueTargets(ctx, t, sec, st.Round, bidder)
	if err != nil {
		return RescueStanzas{}, err
	}
	out := RescueStanzas{Bidder: bidder, KeyID: setup.KeyID, Index: index, Threshold: setup.Threshold()}
	for _, e := range targets {
		eph, err := h.stanzaPoint(ctx, e, setup.KeyID)
		if err != nil {
			return RescueStanzas{}, err
		}
		out.Envelopes = append(out.Envelopes, RescueStanzaPoint{Envelope: e.ID, Kind: e.Kind, Ephemeral: eph})
	}
	return out, nil
}

// stanzaPoint reads E from an envelope's stored header.
func (h *Hall) stanzaPoint(ctx context.Context, e HallEnvelope, keyID string) ([]byte, error) {
	hdr, err := h.header(ctx, e)
	if err != nil {
		return nil, err
	}
	eph, err := rescue.StanzaPoint(hdr, keyID)
	if err != nil {
		// Submission checked that every bid is sealed to the rescue key: this is our fault.
		return nil, kaiping.Internal("hall.stanzaPoint "+string(e.ID), err)
	}
	return eph, nil
}

// SubmitRescuePartials takes holder a's partial decryptions for a bidder's bid, only after
// the deadline and inside the window. Every partial must be the caller's own (their share
// index: hall.partial_not_yours), for an envelope of this bid (hall.partial_envelope), with
// a proof that holds against the caller's public share and that envelope's E
// (hall.partial_invalid); one bad partial refuses the request and nothing is stored. The
// submission is ledgered (who, which index, which envelopes; never D_i). Partials for
// envelopes that were opened meanwhile are ignored. When an envelope has k partials its
// stanza is opened, its file key queued for the same verification as a bidder's, and its
// partials deleted.
func (h *Hall) SubmitRescuePartials(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string, req RescuePartialsRequest) (RescueProgress, error) {
	t, sec, st, setup, index, err := h.rescueHolder(ctx, a, tenderID, sectionRef)
	if err != nil {
		return RescueProgress{}, err
	}
	targets, err := h.rescueTargets(ctx, t, sec, st.Round, req.Bidder)
	if err != nil {
		return RescueProgress{}, err
	}
	byID := make(map[kaiping.ID]HallEnvelope, len(targets))
	for _, e := range targets {
		byID[e.ID] = e
	}
	envs, err := h.store.HallEnvelopes(ctx, sec.ID, req.Bidder)
	if err != nil {
		return RescueProgress{}, err
	}
	ofBid := make(map[kaiping.ID]bool, len(envs))
	for _, e := range envs {
		ofBid[e.ID] = t.Plan.OpensIn(st.Round, e.Kind)
	}
	if len(req.Partials) == 0 {
		return RescueProgress{}, kaiping.E(kaiping.KindInvalid, "hall.partial_invalid", "没有提交部分解密值")
	}
	var keep []rescue.Partial
	seen := make(map[kaiping.ID]bool, len(req.Partials))
	for _, p := range req.Partials {
		if p.Index != index {
			return RescueProgress{}, kaiping.Errorf(kaiping.KindForbidden, "hall.partial_not_yours",
				"部分解密值标注的是第 %d 号份额，您持有的是第 %d 号：只能提交用本人份额算出的部分解密值", p.Index, index)
		}
		if !ofBid[p.Envelope] {
			return RescueProgress{}, kaiping.E(kaiping.KindInvalid, "hall.partial_envelope",
				"部分解密值针对的不是该投标人本轮的投标文件")
		}
		if seen[p.Envelope] {
			return RescueProgress{}, kaiping.E(kaiping.KindInvalid, "hall.partial_invalid", "同一份投标文件的部分解密值重复提交")
		}
		seen[p.Envelope] = true
		e, ok := byID[p.Envelope]
		if !ok {
			continue // opened meanwhile, by its bidder or another rescue
		}
		eph, err := h.stanzaPoint(ctx, e, setup.KeyID)
		if err != nil {
			return RescueProgress{}, err
		}
		if err := rescue.VerifyPartial(p, eph, setup.Commitments, setup.PublicKey); err != nil {
			if kaiping.CodeOf(err) == rescue.CodePartialInvalid {
				return RescueProgress{}, &kaiping.Error{Kind: kaiping.KindInvalid, Code: "hall.partial_invalid",
					Message: "部分解密值校验失败：证明与您的公开份额或该投标文件的补救段落不符", Err: err}
			}
			return RescueProgress{}, err
		}
		keep = append(keep, p)
	}
	if len(keep) == 0 {
		return RescueProgress{}, kaiping.E(kaiping.KindConflict, "hall.rescue_nothing", "该投标人的投标文件均已解密、正在验证或已确认损坏，无需补救")
	}
	n, err := h.store.AddRescuePartials(ctx, a, sec.ID, req.Bidder, setup.KeyID, index, keep)
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

// rescueTargets are the bid's envelopes of this round that are neither decrypted nor
// queued nor corrupt: what a rescue can still open.
func (h *Hall) rescueTargets(ctx context.Context, t Tender, sec Section, round int, bidder kaiping.ID) ([]HallEnvelope, error) {
	if !bidder.Valid() {
		return nil, kaiping.E(kaiping.KindNotFound, "hall.rescue_no_bid", "该投标人在本标段没有投标文件")
	}
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

// combine opens, for each target envelope with k partials stored, its rescue stanza with
// the partials combined (s·E for that stanza only), stores and queues its file key, and
// deletes that envelope's partials. A file key is stored before it is queued, so a full
// queue only delays its verification (Due queues it) and never loses it. An envelope whose
// stanza does not open with valid partials was sealed with a bad rescue stanza (the bidder's
// doing): it is logged and its partials wait for the window's end.
func (h *Hall) combine(ctx context.Context, a kaiping.Actor, t Tender, sec Section, setup rescue.Setup, bidder kaiping.ID, targets []HallEnvelope) ([]UnlockStatus, error) {
	held, err := h.store.RescuePartials(ctx, sec.ID, bidder)
	if err != nil {
		return nil, err
	}
	var opened []UnlockStatus
	var ids []kaiping.ID
	for _, e := range targets {
		ps := held[e.ID]
		if len(ps) < setup.Threshold() {
			continue
		}
		hdr, err := h.header(ctx, e)
		if err != nil {
			return opened, err
		}
		eph, err := rescue.StanzaPoint(hdr, setup.KeyID)
		if err != nil {
			return opened, kaiping.Internal("hall.combine "+string(e.ID), err)
		}
		key, err := rescue.CombinePartials(ps, eph, setup.Commitments, setup.PublicKey)
		if err != nil {
			return opened, err
		}
		id, err := key.Identity()
		if err != nil {
			key.Wipe()
			return opened, err
		}
		fileKey, err := hdr.UnwrapFileKey(id)
		key.Wipe()
		if err != nil {
			h.log.Error("unwrap rescue stanza", "envelope_id", e.ID, "err", err)
			continue
		}
		queued, err := h.storeKey(ctx, a, sec.ID, "", e.ID, fileKey, "rescue")
		clear(fileKey)
		if kaiping.IsKind(err, kaiping.KindConflict) {
			ids = append(ids, e.ID) // a concurrent combine, or the bidder, was first
			continue
		}
		if err != nil {
			return opened, err
		}
		if h.queue.reserve() {
			h.queue.push(verifyJob{env: queued, fields: t.SummaryFields})
		}
		opened, ids = append(opened, h.unlockStatus(queued)), append(ids, e.ID)
	}
	if len(ids) == 0 {
		return opened, nil
	}
	return opened, h.store.DropRescuePartials(ctx, a, sec.ID, bidder, ids)
}
