package app

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/rescue"
	"github.com/kaiping/kaiping/opening/seal"
	"github.com/kaiping/kaiping/storage/postgres"
)

// ledgeredRoutes are the routes of legally significant actions and the action each ledgers
// its refusals as; TestAuthorizationMatrix checks every route declares exactly this.
var ledgeredRoutes = map[string]string{
	"POST /api/v1/tenders/:id/staff":                                               "tender.staff_assign",
	"POST /api/v1/tenders/:id/staff/:assignment/revoke":                            "tender.staff_revoke",
	"POST /api/v1/tenders/:id/sections/:section/registrations":                     "tender.register",
	"POST /api/v1/tenders/:id/sections/:section/uploads":                           "bid.upload_start",
	"POST /api/v1/uploads/:upload/complete":                                        "bid.upload_complete",
	"DELETE /api/v1/uploads/:upload":                                               "bid.upload_abandon",
	"POST /api/v1/tenders/:id/sections/:section/withdrawal":                        "bid.withdraw",
	"POST /api/v1/tenders/:id/sections/:section/hall/transitions":                  "hall.transition",
	"POST /api/v1/tenders/:id/sections/:section/hall/checkins":                     "hall.checkin",
	"POST /api/v1/tenders/:id/sections/:section/hall/unlocks":                      "hall.unlock",
	"POST /api/v1/tenders/:id/sections/:section/hall/confirmations":                "hall.confirm",
	"POST /api/v1/tenders/:id/sections/:section/hall/objections":                   "hall.objection",
	"POST /api/v1/tenders/:id/sections/:section/hall/objections/:objection/answer": "hall.objection_answer",
	"POST /api/v1/tenders/:id/sections/:section/hall/rescue-partials":              "hall.rescue_partials",
	"POST /api/v1/tenders/:id/sections/:section/hall/proposals":                    "hall.cosign_propose",
	"POST /api/v1/tenders/:id/sections/:section/hall/proposals/:proposal/cosign":   "hall.cosign",
	"POST /api/v1/tenders/:id/sections/:section/hall/qualification":                "hall.qualify",
	"POST /api/v1/sessions":                                                        "session.create",
	"POST /api/v1/expert/sessions/:id/sections/:section/review/submissions":        "review.submit",
	"POST /api/v1/expert/sessions/:id/sections/:section/review/sheets/reopen":      "review.reopen_sheet",
	"POST /api/v1/expert/sessions/:id/sections/:section/review/conclude-initial":   "review.initial_concluded",
	"POST /api/v1/expert/sessions/:id/sections/:section/review/decisions":          "review.decision",
	"POST /api/v1/expert/sessions/:id/sections/:section/review/notes":              "review.note",
	"POST /api/v1/expert/sessions/:id/sections/:section/review/summary":            "review.summary",
	"POST /api/v1/expert/sessions/:id/sections/:section/review/reopen":             "review.reopen",
	"PUT /api/v1/sessions/:id/sections/:section/review/facts":                      "review.facts",
	"POST /api/v1/expert/sessions/:id/report/signatures":                           "report.signed",
	"POST /api/v1/sessions/:id/report":                                             "report.built",
	"POST /api/v1/sessions/:id/report/refusals":                                    "report.refused",
	"POST /api/v1/sessions/:id/checkin":                                            "session.checkin",
	"POST /api/v1/sessions/:id/review":                                             "session.review",
	"POST /api/v1/sessions/:id/signing":                                            "session.signing",
	"POST /api/v1/sessions/:id/close":                                              "session.close",
	"POST /api/v1/sessions/:id/resume":                                             "session.resume",
	"POST /api/v1/sessions/:id/suspend":                                            "session.suspend",
	"POST /api/v1/sessions/:id/void":                                               "session.void",
	"POST /api/v1/sessions/:id/extend":                                             "session.extend",
	"POST /api/v1/sessions/:id/members/:member/remove":                             "session.left",
	"POST /api/v1/sessions/:id/members/:member/replace":                            "session.replace",
	"POST /api/v1/sessions/:id/groups/:group/representatives":                      "session.replace",
	"POST /api/v1/sessions/:id/bids/:envelope/supervision":                         "session.supervisor_read",
	"POST /api/v1/expert/sessions/:id/pledge":                                      "session.pledge",
	"POST /api/v1/expert/sessions/:id/declaration":                                 "session.declare",
	"POST /api/v1/expert/sessions/:id/chair-votes":                                 "session.vote",
	"POST /api/v1/expert/sessions/:id/extension-requests":                          "session.extension_request",
	"GET /api/v1/expert/sessions/:id/bids/:envelope":                               "session.bid_read",
	"POST /api/v1/venue/sessions/:id/members/:member/confirm":                      "session.confirm",

	"POST /api/v1/sessions/:id/publications":                                           "publication.published",
	"POST /api/v1/sessions/:id/publications/:publication/objections/:objection/answer": "publication.objection_answered",
	"POST /api/v1/sessions/:id/publications/:publication/conclude":                     "publication.concluded",
	"POST /api/v1/bidder/publications/:id/objections":                                  "publication.objection_filed",
	"POST /api/v1/expert/sessions/:id/inquiries":                                       "inquiry.sent",
	"POST /api/v1/inquiries/:id/approve":                                               "inquiry.approved",
	"POST /api/v1/inquiries/:id/refuse":                                                "inquiry.refused_by_supervisor",
	"POST /api/v1/bidder/inquiries/:id/answer":                                         "inquiry.answered",
}

// refusalWindow reads the coalescing row of principal's refusals of action with code in the
// current minute: how many attempts it counts and the ledger entry that stands for them.
func (ta *testApp) refusalWindow(t *testing.T, principal kaiping.ID, action, code string) (attempts int, seq int64) {
	t.Helper()
	err := ta.DB.Pool.QueryRow(context.Background(), `SELECT coalesce(sum(attempts), 0), coalesce(max(ledger_seq), -1)
		FROM refused_attempts WHERE principal_id = $1 AND action = $2 AND code = $3 AND window_start = $4`,
		principal, action, code, ta.clock.Now().Truncate(postgres.RefusalWindow)).Scan(&attempts, &seq)
	if err != nil {
		t.Fatal(err)
	}
	return attempts, seq
}

// refusalDetail is the detail of an "attempt.refused" ledger entry.
type refusalDetail struct {
	Action string            `json:"action"`
	Route  string            `json:"route"`
	Params map[string]string `json:"params"`
	Roles  []kaiping.Role    `json:"roles"`
	Kind   string            `json:"kind"`
	Code   string            `json:"code"`
	Reason string            `json:"reason"`
	Before *struct {
		Attempts int `json:"attempts"`
	} `json:"previous_window"`
}

// refusalEntry reads the refusal ledger entry seq and checks who, where and about what.
func (ta *testApp) refusalEntry(t *testing.T, name string, seq int64, principal, tender kaiping.ID) refusalDetail {
	t.Helper()
	var operator, address, action, subject string
	var detail []byte
	if err := ta.DB.Pool.QueryRow(context.Background(), `SELECT operator, address, action, subject, detail
		FROM ledger_entries WHERE seq = $1`, seq).Scan(&operator, &address, &action, &subject, &detail); err != nil {
		t.Fatalf("%s: ledger entry %d: %v", name, seq, err)
	}
	var d refusalDetail
	if err := json.Unmarshal(detail, &d); err != nil {
		t.Fatal(err)
	}
	if action != "attempt.refused" || operator != string(principal) || address != "127.0.0.1" || subject != string(tender) {
		t.Errorf("%s: ledger entry %d is %s by %s from %q about %q; want attempt.refused by %s from 127.0.0.1 about %q",
			name, seq, action, operator, address, subject, principal, tender)
	}
	if d.Reason == "" || len(d.Roles) == 0 || d.Route == "" || d.Kind == "" {
		t.Errorf("%s: the entry does not say who attempted what and why: %s", name, detail)
	}
	return d
}

// refusedAndLedgered runs an attempt that must be refused with code, change nothing, and
// leave its trace: the principal's refusals of action with that code in this minute count
// one more, and the ledger entry standing for them names the action, the code and the
// reason, with the principal's roles and address.
func (w *hallWorld) refusedAndLedgered(t *testing.T, name string, principal kaiping.ID, action, code string, do func() error) {
	t.Helper()
	w.refusedAndLedgeredChanging(t, name, principal, action, code, 0, do)
}

// refusedAndLedgeredChanging is refusedAndLedgered for a refusal that is itself ledgered as
// changes state changes (a late completion aborts its upload).
func (w *hallWorld) refusedAndLedgeredChanging(t *testing.T, name string, principal kaiping.ID, action, code string, changes int64, do func() error) {
	t.Helper()
	before, _ := w.ta.refusalWindow(t, principal, action, code)
	version, size := w.hallVersion(t), w.ta.ledgerSize(t)
	if err := do(); apiCode(err) != code {
		t.Errorf("%s: %v, want %s", name, err, code)
	}
	if v, s := w.hallVersion(t), w.ta.ledgerSize(t); v != version || s != size+changes {
		t.Errorf("%s: hall version %d → %d, ledger %d → %d; want the hall unchanged and %d state entries", name, version, v, size, s, changes)
	}
	after, seq := w.ta.refusalWindow(t, principal, action, code)
	if after != before+1 || seq < 0 {
		t.Errorf("%s: refusals of %s with %s counted %d → %d (ledger entry %d), want one more and an entry", name, action, code, before, after, seq)
		return
	}
	tender := w.tender.ID
	if action == "bid.upload_complete" {
		tender = "" // the route names an upload, not a tender
	}
	d := w.ta.refusalEntry(t, name, seq, principal, tender)
	if d.Action != action || d.Code != code {
		t.Errorf("%s: the entry says %s refused with %s, want %s with %s", name, d.Action, d.Code, action, code)
	}
}

// TestRefusedAttemptsLedgered: every refused attempt at a legally significant action leaves
// a ledger entry with its actor, address, tender, action and reason — too early, too late,
// invalid, by the wrong role, by staff not assigned, by a supervisor who holds no share, out
// of order — and changes nothing else; an accepted attempt leaves its one entry and no
// refusal; repeats of one refusal within a minute are one entry and a count, which the next
// minute's entry carries; the ledger verifies throughout.
func TestRefusedAttemptsLedgered(t *testing.T) {
	rw := mustRescueWorld(t)
	ctx := context.Background()
	a, b, c := rw.bidders[0], rw.bidders[1], rw.bidders[2]
	hostID := principalID(t, rw.host)
	holders := []kaiping.ID{principalID(t, rw.holders[0].c), principalID(t, rw.holders[1].c)}
	shares := []rescue.Share{rw.holders[0].mustShare(t, rw.hallWorld), rw.holders[1].mustShare(t, rw.hallWorld)}
	// A supervisor assigned to the tender who holds no share, and a host assigned to nothing.
	nonHolder, nonHolderID := mustSupervisor(t, rw.submissionWorld, devpki.ECDSA, "监督无份额")
	rw.mustAssignSupervisor(t, nonHolder.c)
	strayCert := rw.ta.mustRegister(t, rw.admin, devpki.ECDSA, "未指派主持人", kaiping.RoleHost)
	stray := rw.ta.mustLogin(t, strayCert)
	strayID := principalID(t, stray)
	adminID := principalID(t, rw.admin)
	late := rw.startUpload(t, c.c, sealTo(t, seal.Binding{Tender: rw.tender.ID, Section: rw.section.ID, Bidder: c.id, Kind: seal.Technical},
		[]byte("截止前开始、截止后才完成的上传"), certRecipient(t, c.cert)))

	partials := func(h *rescueHolder, req opening.RescuePartialsRequest) func() error {
		return func() error { return second(rw.submitPartials(h.c, req)) }
	}
	transition := func(cl *apiclient.Client, to opening.HallState) func() error {
		return func() error { return second(rw.move(cl, to, 0)) }
	}
	object := func(x *hallBidder, text string) func() error {
		return func() error {
			return x.c.Do(ctx, http.MethodPost, rw.hallPath("/objections"), opening.ObjectionRequest{Text: text}, nil)
		}
	}
	assign := func(cl *apiclient.Client, who kaiping.ID, duty kaiping.Duty) func() error {
		return func() error {
			return cl.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(rw.tender.ID)+"/staff",
				opening.AssignRequest{Principal: who, Duty: duty}, nil)
		}
	}
	lostRequest := opening.RescuePartialsRequest{Bidder: a.id, Partials: []rescue.Partial{{Index: shares[0].Index}}}

	// Before the deadline.
	rw.refusedAndLedgered(t, "rescue partials before the deadline", holders[0], "hall.rescue_partials", "hall.rescue_too_early", partials(rw.holders[0], lostRequest))
	rw.refusedAndLedgered(t, "a bidder hands in rescue partials", a.id, "hall.rescue_partials", "auth.role_forbidden", partials(&rescueHolder{c: a.c}, lostRequest))
	rw.refusedAndLedgered(t, "a host assigns staff", hostID, "tender.staff_assign", "auth.role_forbidden", assign(rw.host, strayID, kaiping.DutyHost))
	rw.refusedAndLedgered(t, "a duplicate assignment", adminID, "tender.staff_assign", "staff.duplicate", assign(rw.admin, nonHolderID, kaiping.DutySupervisor))

	// Past the deadline, before the bid set is sealed.
	rw.ta.clock.Set(rw.deadline.Add(time.Second))
	rw.refusedAndLedgered(t, "an upload started after the deadline", c.id, "bid.upload_start", "bid.deadline_passed", func() error {
		return c.c.Do(ctx, http.MethodPost, rw.path("/uploads"), declared([]byte("迟到"), "summary"), nil)
	})
	rw.refusedAndLedgeredChanging(t, "an upload completed after the deadline (aborted)", c.id, "bid.upload_complete", "bid.deadline_passed", 1, func() error {
		return c.c.Do(ctx, http.MethodPost, "/api/v1/uploads/"+string(late.Upload.ID)+"/complete", opening.CompleteRequest{Parts: []opening.Part{{Number: 1, ETag: "x"}}}, nil)
	})
	rw.sealNow(t)
	rw.relogin(t)
	nonHolder.c = rw.ta.mustLogin(t, nonHolder.cert)
	stray = rw.ta.mustLogin(t, strayCert)
	rw.refusedAndLedgered(t, "a bidder moves the hall", a.id, "hall.transition", "auth.role_forbidden", transition(a.c, opening.HallCheckingIn))
	rw.refusedAndLedgered(t, "a host not assigned moves the hall", strayID, "hall.transition", "tender.not_assigned", transition(stray, opening.HallCheckingIn))
	rw.mustMove(t, opening.HallCheckingIn, 0)
	for _, x := range []*hallBidder{a, b, c} {
		if err := rw.checkIn(x); err != nil {
			t.Fatal(err)
		}
	}
	rw.refusedAndLedgered(t, "a key before the window", b.id, "hall.unlock", "hall.window_not_open", func() error {
		return second(rw.unlock(b, rw.headers(t, b)[0].Envelope, make([]byte, 32)))
	})
	rw.refusedAndLedgered(t, "rescue partials before the window", holders[0], "hall.rescue_partials", "hall.window_not_open", partials(rw.holders[0], lostRequest))
	rw.refusedAndLedgered(t, "a confirmation before the record", b.id, "hall.confirm", "hall.state", func() error { return rw.confirm(b, "00", b.cert) })
	rw.refusedAndLedgered(t, "an empty objection", b.id, "hall.objection", "hall.objection_text", object(b, "  "))
	rw.refusedAndLedgered(t, "qualification results in a single-envelope tender", hostID, "hall.qualify", "hall.not_two_envelope", func() error {
		return second(rw.qualify(rw.host, pass(a), pass(b), pass(c)))
	})
	rw.ta.clock.Set(rw.checkInOpened.Add(time.Duration(rw.tender.CheckInMinutes) * time.Minute))
	rw.refusedAndLedgered(t, "the window opened without the co-signature", hostID, "hall.transition", "hall.cosign_required", transition(rw.host, opening.HallDecrypting))
	var proposal opening.Proposal
	if err := rw.host.Do(ctx, http.MethodPost, rw.hallPath("/proposals"), opening.ProposalRequest{Step: opening.CosignDecrypting}, &proposal); err != nil {
		t.Fatal(err)
	}
	rw.refusedAndLedgered(t, "a bidder co-signs", a.id, "hall.cosign", "auth.role_forbidden", func() error {
		return a.c.Do(ctx, http.MethodPost, rw.hallPath("/proposals/"+string(proposal.ID)+"/cosign"), nil, nil)
	})
	if err := rw.holders[1].c.Do(ctx, http.MethodPost, rw.hallPath("/proposals/"+string(proposal.ID)+"/cosign"), nil, nil); err != nil {
		t.Fatal(err)
	}

	// In the window: shares from someone who holds none, and invalid ones.
	good := rw.mustPartials(t, rw.holders[0], a.id, shares[0])
	rw.refusedAndLedgered(t, "partials from a supervisor who holds no share", nonHolderID, "hall.rescue_partials", "rescue.not_holder", partials(nonHolder, good))
	rw.refusedAndLedgered(t, "invalid partials", holders[0], "hall.rescue_partials", "hall.partial_invalid",
		partials(rw.holders[0], editPartials(good, func(p *rescue.Partial) { p.Proof[3] ^= 1 })))
	rw.refusedAndLedgered(t, "an answer to no objection", hostID, "hall.objection_answer", "hall.objection_not_found", func() error {
		return rw.host.Do(ctx, http.MethodPost, rw.hallPath("/objections/"+string(kaiping.NewID())+"/answer"), opening.AnswerRequest{Answer: "答复"}, nil)
	})

	// An accepted attempt leaves its one entry, and no refusal.
	var refusalsBefore int
	if err := rw.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE action = 'attempt.refused'`).Scan(&refusalsBefore); err != nil {
		t.Fatal(err)
	}
	size := rw.ta.ledgerSize(t)
	if _, err := rw.submitPartials(rw.holders[0].c, good); err != nil {
		t.Fatalf("the holder's valid partials: %v", err)
	}
	var refusalsAfter, shareEntries int
	if err := rw.ta.DB.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM ledger_entries WHERE action = 'attempt.refused'),
		(SELECT count(*) FROM ledger_entries WHERE action = 'hall.rescue_share')`).Scan(&refusalsAfter, &shareEntries); err != nil {
		t.Fatal(err)
	}
	if got := rw.ta.ledgerSize(t); got != size+1 || refusalsAfter != refusalsBefore || shareEntries != 1 {
		t.Errorf("accepted partials: ledger %d → %d, refusals %d → %d, share entries %d; want one entry, no refusal",
			size, got, refusalsBefore, refusalsAfter, shareEntries)
	}

	// A bidder hammering a refused route fills one entry a minute, with the count.
	hammer := func(n int) {
		for range n {
			if err := object(c, "")(); apiCode(err) != "hall.objection_text" {
				t.Fatalf("an empty objection: %v", err)
			}
		}
	}
	var entriesBefore int
	if err := rw.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE action = 'attempt.refused'`).Scan(&entriesBefore); err != nil {
		t.Fatal(err)
	}
	hammer(25)
	attempts, _ := rw.ta.refusalWindow(t, c.id, "hall.objection", "hall.objection_text")
	rw.ta.clock.Set(rw.ta.clock.Now().Add(postgres.RefusalWindow))
	hammer(1)
	_, seq := rw.ta.refusalWindow(t, c.id, "hall.objection", "hall.objection_text")
	var entriesAfter int
	if err := rw.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE action = 'attempt.refused'`).Scan(&entriesAfter); err != nil {
		t.Fatal(err)
	}
	if attempts != 25 || entriesAfter != entriesBefore+2 {
		t.Errorf("26 refusals over two minutes: %d counted in the first, %d ledger entries; want 25 and 2", attempts, entriesAfter-entriesBefore)
	}
	if d := rw.ta.refusalEntry(t, "the next minute's refusal", seq, c.id, rw.tender.ID); d.Before == nil || d.Before.Attempts != 25 {
		t.Errorf("the next minute's entry does not carry the last minute's 25 attempts: %+v", d.Before)
	}
	rw.ta.ledgerSize(t) // verifies
}
