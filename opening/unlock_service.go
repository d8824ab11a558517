package opening

import (
	"bytes"
	"context"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/seal"
)

// errEnvelopeNotFound is the one answer for an envelope that does not exist and for one that
// is another bidder's: nobody learns what others bid.
func errEnvelopeNotFound() error {
	return kaiping.E(kaiping.KindNotFound, "hall.envelope_not_found", "投标文件不存在")
}

// ownEnvelopes returns the bidder's envelopes of this round in the sealed set; a bidder
// with none is "hall.not_bidder".
func (h *Hall) ownEnvelopes(ctx context.Context, t Tender, sec Section, bidder kaiping.ID) ([]HallEnvelope, error) {
	st, err := h.status(ctx, t, sec)
	if err != nil {
		return nil, err
	}
	all, err := h.store.HallEnvelopes(ctx, sec.ID, bidder)
	if err != nil {
		return nil, err
	}
	var envs []HallEnvelope
	for _, e := range all {
		if t.Plan.OpensIn(st.Round, e.Kind) {
			envs = append(envs, e)
		}
	}
	if len(envs) == 0 {
		return nil, notBidder()
	}
	return envs, nil
}

func notBidder() error {
	return kaiping.E(kaiping.KindForbidden, "hall.not_bidder", "您在本标段的投标文件集合中没有投标文件")
}

// Envelopes returns the bidder's own envelopes with their headers, for its tool to unwrap
// the file keys locally. Headers hold only wrapped keys: they are safe to hand out once the
// bid set is sealed.
func (h *Hall) Envelopes(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string) ([]EnvelopeHeader, error) {
	t, sec, st, err := h.load(ctx, tenderID, sectionRef)
	if err != nil {
		return nil, err
	}
	if st.State == HallBidding {
		return nil, stateError(st.State, HallSealed, HallCheckingIn, HallDecrypting)
	}
	envs, err := h.ownEnvelopes(ctx, t, sec, a.Principal)
	if err != nil {
		return nil, err
	}
	out := make([]EnvelopeHeader, 0, len(envs))
	for _, e := range envs {
		hdr, err := h.header(ctx, e)
		if err != nil {
			return nil, err
		}
		out = append(out, EnvelopeHeader{Envelope: e.ID, Kind: e.Kind, SHA256: e.SHA256, State: e.State, Header: hdr.Bytes()})
	}
	return out, nil
}

// header returns an envelope's parsed header, reading it from storage the first time (before
// the window opens: cacheHeaders).
func (h *Hall) header(ctx context.Context, e HallEnvelope) (*seal.Header, error) {
	if e.Header != nil {
		hdr, _, err := seal.ParseHeader(bytes.NewReader(e.Header))
		if err != nil {
			return nil, kaiping.Internal("hall.header "+string(e.ID), err)
		}
		return hdr, nil
	}
	hdr, err := h.fetchHeader(ctx, e)
	if err != nil {
		return nil, err
	}
	if err := h.store.CacheHeader(ctx, e.ID, hdr.Bytes()); err != nil {
		h.log.Warn("cache envelope header", "envelope_id", e.ID, "err", err)
	}
	return hdr, nil
}

// Unlock takes a file key the bidder unwrapped locally for one of its own envelopes,
// inside the decrypt window, once checked in. A wrong key is recorded as a failed attempt
// and refused with "hall.wrong_key", which is not final: the bidder may try again until the
// window ends. A right key is stored and queued for verification of every chunk; when the
// queue is full it is refused with "hall.busy" and a retry hint, and the refusal is kept as
// our own record that the bidder tried in time; so is a right key refused because the
// server's clock is not synchronised ("clock.unsynchronised").
func (h *Hall) Unlock(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string, req UnlockRequest) (UnlockStatus, error) {
	t, sec, st, err := h.load(ctx, tenderID, sectionRef)
	if err != nil {
		return UnlockStatus{}, err
	}
	// On an untrusted clock the window's end is not judged, but a right key handed in while
	// the window is open by its state is recorded as refused by us (as a full queue's), so
	// that the bidder is not counted as not having unlocked (撤销) for our clock.
	unsynced := kaiping.Synchronised(h.clock)
	if unsynced != nil && st.State != HallDecrypting {
		return UnlockStatus{}, unsynced
	}
	if unsynced == nil {
		if err := st.UnlockOpen(a.At); err != nil {
			return UnlockStatus{}, err
		}
	}
	envs, err := h.store.HallEnvelopes(ctx, sec.ID, a.Principal)
	if err != nil {
		return UnlockStatus{}, err
	}
	var e HallEnvelope
	for _, x := range envs {
		if x.ID == req.Envelope {
			e = x
		}
	}
	switch {
	case e.ID == "":
		return UnlockStatus{}, errEnvelopeNotFound()
	case !t.Plan.OpensIn(st.Round, e.Kind):
		return UnlockStatus{}, kaiping.E(kaiping.KindConflict, "hall.not_this_round", "该投标文件不在本轮开启：双信封项目第一轮开启开标一览表和技术标，第二轮开启商务标")
	}
	if err := e.CanUnlock(); err != nil {
		return UnlockStatus{}, err
	}
	if _, err := h.store.CheckInOf(ctx, sec.ID, a.Principal); kaiping.IsKind(err, kaiping.KindNotFound) {
		return UnlockStatus{}, notCheckedIn()
	} else if err != nil {
		return UnlockStatus{}, err
	}
	hdr, err := h.header(ctx, e)
	if err != nil {
		return UnlockStatus{}, err
	}
	// A right key on an altered header (seal.header_mac) is queued: verification then
	// finds the envelope corrupt, the bidder's cause.
	if err := hdr.VerifyFileKey(req.FileKey); kaiping.CodeOf(err) == seal.CodeWrongKey {
		n, rerr := h.store.RecordWrongKey(ctx, a, sec.ID, a.Principal, e.ID, seal.CodeWrongKey)
		if rerr != nil {
			return UnlockStatus{}, rerr
		}
		return UnlockStatus{}, kaiping.Errorf(kaiping.KindInvalid, "hall.wrong_key",
			"密钥与此投标文件不符（已错误 %d 次）。解密窗口结束前可以重试", n)
	}
	if unsynced != nil {
		if err := h.store.RecordBusy(ctx, e.ID); err != nil {
			return UnlockStatus{}, err
		}
		return UnlockStatus{}, unsynced
	}
	return h.enqueue(ctx, a, t, sec, e, req.FileKey, a.Principal, "bidder")
}

func notCheckedIn() error {
	return kaiping.E(kaiping.KindForbidden, "hall.not_checked_in", "请先签到再解密")
}

// enqueue stores a right file key and queues the envelope, if a place is free.
func (h *Hall) enqueue(ctx context.Context, a kaiping.Actor, t Tender, sec Section, e HallEnvelope, fileKey []byte, bidder kaiping.ID, via string) (UnlockStatus, error) {
	if !h.queue.reserve() {
		if err := h.store.RecordBusy(ctx, e.ID); err != nil {
			h.log.Error("record busy refusal", "envelope_id", e.ID, "err", err)
		}
		return UnlockStatus{}, errBusy(h.cfg.BusyRetry)
	}
	queued, err := h.storeKey(ctx, a, sec.ID, bidder, e.ID, fileKey, via)
	if err != nil {
		h.queue.release()
		return UnlockStatus{}, err
	}
	h.queue.push(verifyJob{env: queued, fields: t.SummaryFields})
	return h.unlockStatus(queued), nil
}

// storeKey wraps a right file key with the KEK and stores it, the envelope queued: the
// key itself never reaches the database.
func (h *Hall) storeKey(ctx context.Context, a kaiping.Actor, section, bidder, envelope kaiping.ID, fileKey []byte, via string) (HallEnvelope, error) {
	wrapped, err := h.keys.Wrap(ctx, envelope, fileKey)
	if err != nil {
		return HallEnvelope{}, err
	}
	return h.store.QueueUnlock(ctx, a, section, bidder, envelope, wrapped, via)
}

func errBusy(retry time.Duration) error {
	return kaiping.Errorf(kaiping.KindUnavailable, "hall.busy", "解密验证队列已满，请 %d 秒后重试（密钥正确，已记录本次尝试）",
		int(retry.Round(time.Second)/time.Second))
}

// unlockStatus is what the bidder sees of an envelope: its state and, while queued, its
// place in line or that it is being verified now.
func (h *Hall) unlockStatus(e HallEnvelope) UnlockStatus {
	s := UnlockStatus{Envelope: e.ID, Kind: e.Kind, State: e.State, Attempts: e.Attempts, ErrorCode: e.ErrorCode,
		Outcome: e.Outcome, Reason: e.OutcomeReason}
	if e.State == EnvQueued {
		if e.StorageWait() {
			s.Waiting = storageWaitText
		}
		if pos, verifying, known := h.queue.position(e.ID); verifying {
			s.State = EnvVerifying
		} else if known {
			s.Position = pos
		}
	}
	return s
}
