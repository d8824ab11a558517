package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// TestHallCosign: a tender that guards opening the decrypt window with a supervisor's
// co-signature (监督会签). The host cannot open it directly, proposes it (checked now, so the
// check-in period still applies), and only an assigned supervisor other than the proposer
// carries it out, once; the transition's ledger entry names both.
func TestHallCosign(t *testing.T) {
	w := mustHallWorld(t, 3, func(_ *submissionWorld, tender *opening.Tender) {
		tender.Cosign = []opening.CosignStep{opening.CosignDecrypting}
	})
	ctx := context.Background()
	for i, b := range w.bidders {
		w.mustSubmit(t, b, seal.Summary, summaryJSON(strconv.Itoa(5000000+i), 100))
	}
	stranger := w.ta.mustLogin(t, w.ta.mustRegister(t, w.admin, devpki.SM2, "其他项目监督员", kaiping.RoleSupervisor))
	// One person holding both roles and both duties still cannot co-sign their own proposal.
	bothCert := w.ta.mustRegister(t, w.admin, devpki.ECDSA, "兼任主持与监督", kaiping.RoleHost, kaiping.RoleSupervisor)
	w.sealNow(t)
	both := w.ta.mustLogin(t, bothCert)
	w.ta.mustAssign(t, w.tender.ID, principalID(t, both), kaiping.DutyHost)
	w.ta.mustAssign(t, w.tender.ID, principalID(t, both), kaiping.DutySupervisor)
	supervisor := w.mustAssignSupervisor(t, w.ta.mustLogin(t, w.ta.mustRegister(t, w.admin, devpki.SM2, "会签监督员", kaiping.RoleSupervisor)))

	w.mustMove(t, opening.HallCheckingIn, 0)
	for _, b := range w.bidders {
		if err := w.checkIn(b); err != nil {
			t.Fatal(err)
		}
	}
	propose := func(c *apiclient.Client, req opening.ProposalRequest) (opening.Proposal, error) {
		var p opening.Proposal
		err := c.Do(ctx, http.MethodPost, w.hallPath("/proposals"), req, &p)
		return p, err
	}
	cosign := func(c *apiclient.Client, id kaiping.ID) (opening.HallStatus, error) {
		var st opening.HallStatus
		err := c.Do(ctx, http.MethodPost, w.hallPath("/proposals/"+string(id)+"/cosign"), nil, &st)
		return st, err
	}
	decrypting := opening.ProposalRequest{Step: opening.CosignDecrypting, WindowMinutes: 20}
	w.refused(t, "the host opens the window directly", "hall.cosign_required", func() error { return second(w.move(w.host, opening.HallDecrypting, 20)) })
	w.refused(t, "a proposal during the check-in period", "hall.checkin_running", func() error { return second(propose(w.host, decrypting)) })
	w.ta.clock.Set(w.checkInOpened.Add(time.Duration(w.tender.CheckInMinutes) * time.Minute))
	w.refused(t, "a proposal of a step the tender does not guard", "hall.cosign_not_required", func() error {
		return second(propose(w.host, opening.ProposalRequest{Step: opening.CosignQualification}))
	})
	w.refused(t, "a proposal with a window too long", "hall.window_length", func() error {
		return second(propose(w.host, opening.ProposalRequest{Step: opening.CosignDecrypting, WindowMinutes: 600}))
	})
	own, err := propose(both, decrypting)
	if err != nil {
		t.Fatal(err)
	}
	p, err := propose(w.host, decrypting)
	if err != nil || p.Step != opening.CosignDecrypting || p.CosignedAt != nil {
		t.Fatalf("proposal: %+v, %v", p, err)
	}
	w.refused(t, "the host co-signs", "auth.role_forbidden", func() error { return second(cosign(w.host, p.ID)) })
	w.refused(t, "an unassigned supervisor co-signs", "tender.not_assigned", func() error { return second(cosign(stranger, p.ID)) })
	w.refused(t, "the proposer co-signs their own proposal", "hall.cosign_self", func() error { return second(cosign(both, own.ID)) })
	w.refused(t, "an unknown proposal", "hall.proposal_not_found", func() error { return second(cosign(supervisor, kaiping.NewID())) })
	if st := w.board(t); st.State != opening.HallCheckingIn {
		t.Fatalf("refused co-signatures moved the hall to %s", st.State)
	}

	st, err := cosign(supervisor, p.ID)
	if err != nil || st.State != opening.HallDecrypting || !st.WindowClosesAt.Equal(st.WindowOpensAt.Add(20*time.Minute)) {
		t.Fatalf("co-signed: %+v, %v", st, err)
	}
	w.refused(t, "a proposal co-signed twice", "hall.proposal_spent", func() error { return second(cosign(supervisor, p.ID)) })

	var evs struct{ Events []opening.HallEvent }
	if err := w.host.Do(ctx, http.MethodGet, w.hallPath("/events"), nil, &evs); err != nil {
		t.Fatal(err)
	}
	var named bool
	for _, e := range evs.Events {
		var d struct {
			To         opening.HallState `json:"to"`
			ProposedBy kaiping.ID        `json:"proposed_by"`
			CosignedBy kaiping.ID        `json:"cosigned_by"`
		}
		if e.Type == "hall.transition" && json.Unmarshal(e.Payload, &d) == nil && d.To == opening.HallDecrypting {
			named = d.ProposedBy == principalID(t, w.host) && d.CosignedBy == principalID(t, supervisor)
		}
	}
	if !named {
		t.Error("the window's opening does not name the proposing host and the co-signing supervisor")
	}
	var bidderEvs struct{ Events []opening.HallEvent }
	if err := w.bidders[0].c.Do(ctx, http.MethodGet, w.hallPath("/events"), nil, &bidderEvs); err != nil {
		t.Fatal(err)
	}
	for _, e := range bidderEvs.Events {
		if e.Type == "hall.cosign_propose" || e.Type == "hall.cosign" {
			t.Errorf("a bidder reads %s", e.Type)
		}
	}
}

// TestHallCosignQualification: a two-envelope tender that guards the technical stage's
// results with a co-signature. The host's direct entry is refused; the proposal is checked
// when made (a bidder left out is refused then, not at co-signing); the supervisor's
// co-signature records exactly the proposed results and starts the second round.
func TestHallCosignQualification(t *testing.T) {
	w, holders := mustTwoEnvelopeWorld(t, 3, 2, func(tender *opening.Tender) {
		tender.Cosign = []opening.CosignStep{opening.CosignQualification}
	})
	ctx := context.Background()
	a, b, c := w.bidders[0], w.bidders[1], w.bidders[2]
	w.sealNow(t)
	w.mustDecryptRound(t, w.bidders, 3)
	w.mustMove(t, opening.HallPublished, 0)
	w.mustCloseRound(t, a, b, c)
	for _, h := range holders {
		h.c = w.ta.mustLogin(t, h.cert)
	}
	results := []opening.QualificationResult{pass(a), pass(b), pass(c)}
	w.refused(t, "the host enters the results directly", "hall.cosign_required", func() error { return second(w.qualify(w.host, results...)) })
	var p opening.Proposal
	propose := func(rs ...opening.QualificationResult) error {
		return w.host.Do(ctx, http.MethodPost, w.hallPath("/proposals"), opening.ProposalRequest{Step: opening.CosignQualification, Results: rs}, &p)
	}
	w.refused(t, "a proposal leaving a bidder out", "hall.qualify_missing", func() error { return propose(pass(a), pass(b)) })
	if err := propose(results...); err != nil {
		t.Fatal(err)
	}
	var st opening.HallStatus
	if err := holders[0].c.Do(ctx, http.MethodPost, w.hallPath("/proposals/"+string(p.ID)+"/cosign"), nil, &st); err != nil || st.Round != 2 {
		t.Fatalf("co-signed qualification: %+v, %v", st, err)
	}
	var q struct{ Results []opening.QualificationResult }
	if err := w.host.Do(ctx, http.MethodGet, w.hallPath("/qualification"), nil, &q); err != nil || len(q.Results) != 3 {
		t.Fatalf("recorded results: %+v, %v", q, err)
	}
}
