package opening

import (
	"context"
	"time"

	"github.com/kaiping/kaiping"
)

// ProposalRequest is a host's proposal of a step the tender guards with a supervisor's
// co-signature: opening the decrypt window (for WindowMinutes, or the default) or entering
// the technical stage's results of a two-envelope tender.
type ProposalRequest struct {
	Step          CosignStep            `json:"step"`
	WindowMinutes int                   `json:"window_minutes,omitempty"`
	Results       []QualificationResult `json:"results,omitempty"`
}

// Proposal is a proposed step waiting for, or carried out by, a supervisor's co-signature
// (监督会签). A proposal is co-signed once, by an assigned supervisor who did not propose it.
type Proposal struct {
	ID         kaiping.ID      `json:"id"`
	Section    kaiping.ID      `json:"section_id"`
	Round      int             `json:"round"`
	Step       CosignStep      `json:"step"`
	Request    ProposalRequest `json:"request"`
	ProposedBy kaiping.ID      `json:"proposed_by"`
	ProposedAt time.Time       `json:"proposed_at"`
	CosignedBy kaiping.ID      `json:"cosigned_by,omitempty"`
	CosignedAt *time.Time      `json:"cosigned_at,omitempty"`
}

// cosignRequired refuses a step the tender guards when the host takes it directly.
func cosignRequired(step CosignStep) error {
	return kaiping.Errorf(kaiping.KindConflict, "hall.cosign_required",
		"本项目规定「%s」须经监督人员会签：请主持人提交会签申请（POST …/hall/proposals），由监督人员会签后执行", step.Label())
}

// Propose records host a's proposal of a guarded step after checking everything the step
// itself would check now (state, check-in period, window length, the results), so that a
// supervisor co-signs only what can be carried out.
func (h *Hall) Propose(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string, req ProposalRequest) (Proposal, error) {
	t, sec, st, err := h.load(ctx, tenderID, sectionRef)
	if err != nil {
		return Proposal{}, err
	}
	if !t.NeedsCosign(req.Step) {
		return Proposal{}, kaiping.Errorf(kaiping.KindInvalid, "hall.cosign_not_required",
			"本项目未规定「%s」须经会签，请直接操作", req.Step.Label())
	}
	switch req.Step {
	case CosignDecrypting:
		if len(req.Results) > 0 {
			return Proposal{}, invalid("hall.proposal", "开启解密的会签申请不应附技术评审结果")
		}
		if _, err := h.windowCheck(t, st, req.WindowMinutes, a.At); err != nil {
			return Proposal{}, err
		}
	case CosignQualification:
		if req.WindowMinutes != 0 {
			return Proposal{}, invalid("hall.window_length", "只有开启解密时可以指定解密时长")
		}
		if _, err := h.qualificationOf(ctx, t, sec, st, QualificationRequest{Results: req.Results}); err != nil {
			return Proposal{}, err
		}
	}
	p := Proposal{ID: kaiping.NewID(), Section: sec.ID, Round: st.Round, Step: req.Step, Request: req,
		ProposedBy: a.Principal, ProposedAt: a.At}
	return p, h.store.Propose(ctx, a, p)
}

// Proposals lists the section's proposals of the current round, newest last.
func (h *Hall) Proposals(ctx context.Context, tenderID kaiping.ID, sectionRef string) ([]Proposal, error) {
	_, sec, st, err := h.load(ctx, tenderID, sectionRef)
	if err != nil {
		return nil, err
	}
	return h.store.Proposals(ctx, sec.ID, st.Round)
}

// Cosign is supervisor a's co-signature of a proposal: it spends the proposal (once, and
// never by its proposer) and carries the step out as a's act, the proposer named in the
// ledger. A co-signature is spent even if the step then fails (the hall moved on since the
// proposal): the host proposes again.
func (h *Hall) Cosign(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string, id kaiping.ID) (HallStatus, error) {
	t, sec, st, err := h.load(ctx, tenderID, sectionRef)
	if err != nil {
		return HallStatus{}, err
	}
	p, err := h.store.Cosign(ctx, a, sec.ID, st.Round, id)
	if err != nil {
		return HallStatus{}, err
	}
	switch p.Step {
	case CosignDecrypting:
		return h.openWindow(ctx, a, t, sec, st, p.Request.WindowMinutes, map[string]any{
			"proposal": p.ID, "proposed_by": p.ProposedBy, "cosigned_by": a.Principal})
	default:
		return h.qualify(ctx, a, tenderID, sectionRef, QualificationRequest{Results: p.Request.Results})
	}
}
