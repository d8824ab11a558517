package evaltest_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/evaluation/scoring"
	"github.com/kaiping/kaiping/internal/evaltest"
)

// sectionRecords is the opening's side of the review in these tests: the bids of the
// section's published record, which the app reads from the opening (committee_bids.go).
type sectionRecords map[kaiping.ID][]evaluation.RecordedBid

func (r sectionRecords) RecordedBids(_ context.Context, section kaiping.ID) ([]evaluation.RecordedBid, error) {
	bids, ok := r[section]
	if !ok {
		return nil, kaiping.E(kaiping.KindConflict, "review.no_record", "开标记录尚未公布")
	}
	return bids, nil
}

// reviewScene is a session in review of BD1, whose record has three opened bids: A and B
// close, C far below (possibly below cost).
type reviewScene struct {
	*sessionScene
	sess    evaluation.Session
	section kaiping.ID
	chair   evaluation.SessionMember
	bids    []evaluation.RecordedBid
}

func mustReviewScene(tb testing.TB) *reviewScene {
	tb.Helper()
	s := mustSessionScene(tb)
	ctx := context.Background()
	sess := s.mustSession(tb)
	for _, m := range sess.Members {
		sess = s.ready(tb, sess, m)
	}
	chair := sitting(sess)[0]
	var err error
	for _, m := range sitting(sess) {
		sess, err = s.Service.Vote(ctx, s.Actor(s.logins[m.ID].Principal), sess.ID, chair.ID)
		must(tb, err)
	}
	sess, err = s.Service.StartReview(ctx, s.Actor(s.Host), sess.ID)
	must(tb, err)
	r := &reviewScene{sessionScene: s, sess: sess, section: sess.Groups[0].Sections[0].ID, chair: chair}
	r.bids = []evaluation.RecordedBid{
		{Bidder: s.Bidders[bidderA].ID, Name: bidderA, Opened: true, Price: 100_000_000},
		{Bidder: s.Bidders[bidderB].ID, Name: bidderB, Opened: true, Price: 98_000_000},
		{Bidder: s.Bidders["丙建筑有限公司"].ID, Name: "丙建筑有限公司", Opened: true, Price: 60_000_000},
	}
	s.Service.ReviewRecordsFrom(sectionRecords{r.section: r.bids})
	return r
}

func (r *reviewScene) as(m evaluation.SessionMember) kaiping.Actor {
	return r.Actor(r.logins[m.ID].Principal)
}

// verdicts are m's initial-review marks: pass on everything except what fail names.
func (r *reviewScene) verdicts(fail map[kaiping.ID]bool) []evaluation.Mark {
	var out []evaluation.Mark
	for _, b := range r.bids {
		for _, item := range []string{"form", "licence"} {
			mk := evaluation.Mark{Bidder: b.Bidder, Item: item, Value: 1}
			if fail[b.Bidder] && item == "licence" {
				mk.Value, mk.Reason = 0, "资质证书已过期"
			}
			out = append(out, mk)
		}
	}
	return out
}

// scores are a sheet for each bidder in bidders: plan as given, record 800.
func scores(plan int64, bidders ...kaiping.ID) []evaluation.Mark {
	var out []evaluation.Mark
	for _, b := range bidders {
		out = append(out, evaluation.Mark{Bidder: b, Item: "plan", Value: plan}, evaluation.Mark{Bidder: b, Item: "record", Value: 800})
	}
	return out
}

func TestReview(t *testing.T) {
	r := mustReviewScene(t)
	ctx := context.Background()
	id, sec := r.sess.ID, r.section
	a, b, c := r.bids[0].Bidder, r.bids[1].Bidder, r.bids[2].Bidder
	members := sitting(r.sess)
	plain := members[1]

	// Bad input to the initial review: each refused with its code, nothing stored.
	before := ledgerSize(t, r.Env)
	for _, tc := range []struct {
		name  string
		kind  kaiping.Kind
		code  string
		stage evaluation.ReviewStage
		marks []evaluation.Mark
	}{
		{"a verdict of 2", kaiping.KindInvalid, "review.verdict", evaluation.ReviewInitial, []evaluation.Mark{{Bidder: a, Item: "form", Value: 2}}},
		{"a fail without reason", kaiping.KindInvalid, "review.reason_required", evaluation.ReviewInitial, []evaluation.Mark{{Bidder: a, Item: "form", Value: 0}}},
		{"an unknown item", kaiping.KindInvalid, "review.unknown_item", evaluation.ReviewInitial, []evaluation.Mark{{Bidder: a, Item: "plan", Value: 1}}},
		{"a bidder not opened", kaiping.KindInvalid, "review.unknown_bidder", evaluation.ReviewInitial, []evaluation.Mark{{Bidder: kaiping.NewID(), Item: "form", Value: 1}}},
		{"scores before the detailed review", kaiping.KindConflict, "review.stage", evaluation.ReviewDetailed, scores(2000, a)},
	} {
		_, err := r.Service.SaveMarks(ctx, r.as(plain), id, sec, evaluation.SaveMarksRequest{Stage: tc.stage, Marks: tc.marks})
		wantCode(t, err, tc.kind, tc.code)
	}
	if marks, err := r.Store.Marks(ctx, id, sec); err != nil || len(marks) != 0 {
		t.Fatalf("after refusals the section has %d marks (%v)", len(marks), err)
	}
	_, err := r.Service.SaveMarks(ctx, r.as(plain), id, sec, evaluation.SaveMarksRequest{Stage: evaluation.ReviewInitial, Marks: r.verdicts(nil)[:2]})
	must(t, err)
	if got := ledgerSize(t, r.Env); got != before {
		t.Fatalf("saving drafts wrote %d ledger entries", got-before)
	}
	_, err = r.Service.SaveMarks(ctx, r.as(plain), id, sec, evaluation.SaveMarksRequest{Stage: evaluation.ReviewInitial,
		Marks: []evaluation.Mark{{Bidder: a, Item: "licence", Value: 0}}})
	if msg := kaiping.MessageOf(err); msg != "判定 "+bidderA+" 的“资质证书”不合格须写明理由" {
		t.Errorf("the refusal of a fail without reason says %q: a member knows the item by its name", msg)
	}
	_, err = r.Service.SubmitMarks(ctx, r.as(plain), id, sec, evaluation.StageRequest{Stage: evaluation.ReviewInitial})
	wantCode(t, err, kaiping.KindConflict, "review.incomplete")
	_, err = r.Service.ConcludeInitial(ctx, r.as(plain), id, sec)
	wantCode(t, err, kaiping.KindForbidden, "review.not_chair")

	// Everyone judges: B fails the licence with a majority of members, so it is not valid.
	for i, m := range members {
		_, err := r.Service.SaveMarks(ctx, r.as(m), id, sec, evaluation.SaveMarksRequest{Stage: evaluation.ReviewInitial,
			Marks: r.verdicts(map[kaiping.ID]bool{b: i < len(members)/2+1})})
		must(t, err)
		if i == 0 {
			_, err = r.Service.ConcludeInitial(ctx, r.as(r.chair), id, sec)
			wantCode(t, err, kaiping.KindConflict, "review.awaiting")
		}
		_, err = r.Service.SubmitMarks(ctx, r.as(m), id, sec, evaluation.StageRequest{Stage: evaluation.ReviewInitial})
		must(t, err)
	}
	_, err = r.Service.SaveMarks(ctx, r.as(plain), id, sec, evaluation.SaveMarksRequest{Stage: evaluation.ReviewInitial, Marks: r.verdicts(nil)[:1]})
	wantCode(t, err, kaiping.KindConflict, "review.submitted")
	rev, err := r.Service.ConcludeInitial(ctx, r.as(r.chair), id, sec)
	must(t, err)
	if rev.Stage != evaluation.ReviewDetailed {
		t.Fatalf("after concluding, stage %s", rev.Stage)
	}

	// B failed the initial review: no member may score it.
	_, err = r.Service.SaveMarks(ctx, r.as(plain), id, sec, evaluation.SaveMarksRequest{Stage: evaluation.ReviewDetailed, Marks: scores(2000, b)})
	wantCode(t, err, kaiping.KindConflict, "review.bidder_rejected")
	_, err = r.Service.SaveMarks(ctx, r.as(plain), id, sec, evaluation.SaveMarksRequest{Stage: evaluation.ReviewDetailed, Marks: scores(3500, a)})
	wantCode(t, err, kaiping.KindInvalid, "review.out_of_range")
	if msg := kaiping.MessageOf(err); msg != bidderA+" 的评分项“施工方案”分值须在 0 至 30 分之间" {
		t.Errorf("the refusal of a score above the maximum says %q: a member knows the item by its name", msg)
	}

	// The scores: one member gives the objective item a different score.
	odd := members[2]
	for _, m := range members {
		marks := scores(2000+int64(len(m.Name))*10, a, c)
		if m.ID == odd.ID {
			marks[1].Value = 600
		}
		_, err := r.Service.SaveMarks(ctx, r.as(m), id, sec, evaluation.SaveMarksRequest{Stage: evaluation.ReviewDetailed, Marks: marks})
		must(t, err)
		_, err = r.Service.SubmitMarks(ctx, r.as(m), id, sec, evaluation.StageRequest{Stage: evaluation.ReviewDetailed})
		must(t, err)
	}

	// Summary is refused while a hard warning is open: the objective item, and C's price
	// not yet decided.
	before = ledgerSize(t, r.Env)
	_, err = r.Service.Summarize(ctx, r.as(r.chair), id, sec)
	wantCode(t, err, kaiping.KindConflict, "review.hard_warnings")
	view, err := r.Service.ReviewOf(ctx, r.as(r.chair), id, sec, false)
	must(t, err)
	codes := warningCodes(view)
	for _, want := range []string{scoring.CodeObjectiveDiffers, scoring.CodeBelowCost, evaluation.CodeBelowCostUndecided} {
		if !slices.Contains(codes, want) {
			t.Errorf("warnings %v lack %s", codes, want)
		}
	}
	if got := ledgerSize(t, r.Env); got != before {
		t.Fatalf("a refused summary wrote %d ledger entries", got-before)
	}

	// The chair hands the odd sheet back; the member fixes it; the committee accepts C's
	// explanation of its price.
	_, err = r.Service.ReopenSheet(ctx, r.as(plain), id, sec, evaluation.ReopenSheetRequest{Member: odd.ID, Stage: evaluation.ReviewDetailed, Reason: "客观分不一致"})
	wantCode(t, err, kaiping.KindForbidden, "review.not_chair")
	_, err = r.Service.ReopenSheet(ctx, r.as(r.chair), id, sec, evaluation.ReopenSheetRequest{Member: odd.ID, Stage: evaluation.ReviewDetailed, Reason: "客观分不一致"})
	must(t, err)
	_, err = r.Service.SaveMarks(ctx, r.as(odd), id, sec, evaluation.SaveMarksRequest{Stage: evaluation.ReviewDetailed,
		Marks: []evaluation.Mark{{Bidder: a, Item: "record", Value: 800}}})
	must(t, err)
	_, err = r.Service.SubmitMarks(ctx, r.as(odd), id, sec, evaluation.StageRequest{Stage: evaluation.ReviewDetailed})
	must(t, err)
	_, err = r.Service.Decide(ctx, r.as(r.chair), id, sec, evaluation.DecisionRequest{Kind: evaluation.DecisionReject, Bidder: c, Reason: "whim", Text: "x"})
	wantCode(t, err, kaiping.KindInvalid, "review.reject_reason")
	_, err = r.Service.Decide(ctx, r.as(r.chair), id, sec, evaluation.DecisionRequest{Kind: evaluation.DecisionCostExplained, Bidder: c,
		Text: "丙公司书面说明其自有设备与材料库存，评标委员会认为说明合理"})
	must(t, err)

	// What is left is soft: each needs the committee's note.
	view, err = r.Service.ReviewOf(ctx, r.as(r.chair), id, sec, false)
	must(t, err)
	var unnoted []evaluation.ReviewWarning
	for _, w := range view.Outcome.Warnings {
		if w.Hard {
			t.Fatalf("a hard warning is still open: %s", w.Message)
		}
		if w.Note == nil {
			unnoted = append(unnoted, w)
		}
	}
	if len(unnoted) > 0 {
		_, err = r.Service.Summarize(ctx, r.as(r.chair), id, sec)
		wantCode(t, err, kaiping.KindConflict, "review.notes_missing")
	}
	for _, w := range unnoted {
		_, err = r.Service.Note(ctx, r.as(r.chair), id, sec, evaluation.NoteRequest{Key: w.Key, Text: "评标委员会已核实"})
		must(t, err)
	}
	_, err = r.Service.StartSigning(ctx, r.Actor(r.Host), id)
	wantCode(t, err, kaiping.KindConflict, "review.not_summarized")
	rev, err = r.Service.Summarize(ctx, r.as(r.chair), id, sec)
	must(t, err)
	if rev.Summary == nil || !slices.Equal(rev.Summary.Result.Candidates, []string{string(c), string(a)}) {
		t.Fatalf("candidates %v, want C (the lowest price) then A", rev.Summary)
	}

	// After the summary nothing can be scored; signing may start.
	_, err = r.Service.SaveMarks(ctx, r.as(plain), id, sec, evaluation.SaveMarksRequest{Stage: evaluation.ReviewDetailed, Marks: scores(2000, a)})
	wantCode(t, err, kaiping.KindConflict, "review.stage")
	sess, err := r.Service.StartSigning(ctx, r.Actor(r.Host), id)
	must(t, err)
	if sess.State != evaluation.SessionSigning {
		t.Fatalf("state %s", sess.State)
	}
}

func warningCodes(v evaluation.ReviewView) []string {
	if v.Outcome == nil {
		return nil
	}
	var out []string
	for _, w := range v.Outcome.Warnings {
		out = append(out, w.Code)
	}
	return out
}

// TestReviewCorrection: a correction counts only once the bidder confirmed it and the chair
// applied it; a refused one makes the bid invalid, and both block the summary until settled.
func TestReviewCorrection(t *testing.T) {
	r := mustReviewScene(t)
	ctx := context.Background()
	id, sec := r.sess.ID, r.section
	jia := r.CertifiedPrincipal(t, "甲投标有限公司", "甲投标有限公司", kaiping.RoleBidder)
	yi := r.CertifiedPrincipal(t, "乙投标有限公司", "乙投标有限公司", kaiping.RoleBidder)
	r.bids[0] = evaluation.RecordedBid{Bidder: jia.ID, Name: jia.Name, Opened: true, Price: 100_000_000}
	r.bids[1] = evaluation.RecordedBid{Bidder: yi.ID, Name: yi.Name, Opened: true, Price: 98_000_000}
	r.Service.ReviewRecordsFrom(sectionRecords{sec: r.bids})
	var opened []evaluation.OpenedEnvelope
	for _, b := range r.bids {
		opened = append(opened, evaluation.OpenedEnvelope{ID: kaiping.NewID(), Section: sec, Bidder: b.Bidder, BidderName: b.Name, Kind: "technical"})
	}
	r.Service.ReadBidsFrom(evaltest.OpenedList{sec: opened})
	members := sitting(r.sess)
	for _, m := range members {
		_, err := r.Service.SaveMarks(ctx, r.as(m), id, sec, evaluation.SaveMarksRequest{Stage: evaluation.ReviewInitial, Marks: r.verdicts(nil)})
		must(t, err)
		_, err = r.Service.SubmitMarks(ctx, r.as(m), id, sec, evaluation.StageRequest{Stage: evaluation.ReviewInitial})
		must(t, err)
	}
	_, err := r.Service.ConcludeInitial(ctx, r.as(r.chair), id, sec)
	must(t, err)
	correct := func(b evaltest.Signer, price int64, d evaluation.InquiryDecision) {
		q, err := r.Service.SendInquiry(ctx, r.as(r.chair), id, evaluation.InquiryRequest{Section: sec, Bidder: b.ID, Kind: evaluation.InquiryCorrection,
			Question: "投标函大写金额与小写金额不一致，按大写金额修正。", CorrectedPrice: price, Deadline: r.Clock.Now().Add(time.Hour)})
		must(t, err)
		_, err = r.Service.AnswerInquiry(ctx, r.Actor(b.Principal), q.ID, answer(t, b, q.ID, "确认", d))
		must(t, err)
	}
	correct(jia, 99_000_000, evaluation.DecisionConfirm)
	correct(yi, 97_000_000, evaluation.DecisionRefuse)
	for _, m := range members {
		_, err := r.Service.SaveMarks(ctx, r.as(m), id, sec, evaluation.SaveMarksRequest{Stage: evaluation.ReviewDetailed, Marks: scores(2000, jia.ID, yi.ID, r.bids[2].Bidder)})
		must(t, err)
		_, err = r.Service.SubmitMarks(ctx, r.as(m), id, sec, evaluation.StageRequest{Stage: evaluation.ReviewDetailed})
		must(t, err)
	}
	view, err := r.Service.ReviewOf(ctx, r.as(r.chair), id, sec, false)
	must(t, err)
	codes := warningCodes(view)
	for _, want := range []string{evaluation.CodeCorrectionUnapplied, evaluation.CodeCorrectionRefused} {
		if !slices.Contains(codes, want) {
			t.Errorf("warnings %v lack %s", codes, want)
		}
	}
	_, err = r.Service.Decide(ctx, r.as(r.chair), id, sec, evaluation.DecisionRequest{Kind: evaluation.DecisionCorrect, Bidder: jia.ID, Amount: 98_500_000, Text: "按确认的报价修正"})
	wantCode(t, err, kaiping.KindConflict, "review.correction_unconfirmed")
	_, err = r.Service.Decide(ctx, r.as(r.chair), id, sec, evaluation.DecisionRequest{Kind: evaluation.DecisionCorrect, Bidder: yi.ID, Amount: 97_000_000, Text: "按修正的报价"})
	wantCode(t, err, kaiping.KindConflict, "review.correction_unconfirmed")
	_, err = r.Service.Decide(ctx, r.as(r.chair), id, sec, evaluation.DecisionRequest{Kind: evaluation.DecisionCorrect, Bidder: jia.ID, Amount: 99_000_000, Text: "按投标人确认的报价修正"})
	must(t, err)
	_, err = r.Service.Decide(ctx, r.as(r.chair), id, sec, evaluation.DecisionRequest{Kind: evaluation.DecisionReject, Bidder: yi.ID, Reason: "correction_refused", Text: "乙公司书面表示不接受算术修正"})
	must(t, err)
	view, err = r.Service.ReviewOf(ctx, r.as(r.chair), id, sec, false)
	must(t, err)
	for _, w := range view.Outcome.Warnings {
		if strings.HasPrefix(w.Code, "review.correction") {
			t.Errorf("after the decisions a correction warning is left: %s", w.Message)
		}
	}
	for _, o := range view.Outcome.Result.Bids {
		switch kaiping.ID(o.Bidder) {
		case jia.ID:
			if o.Price != 99_000_000 || !o.Valid {
				t.Errorf("甲: price %d valid %v, want the confirmed 99,000,000 fen", o.Price, o.Valid)
			}
		case yi.ID:
			if o.Valid {
				t.Errorf("乙 refused the correction and is still valid")
			}
		}
	}
}

// TestReviewByReplacedMember: a member who left and was replaced may not score, their
// submitted verdicts no longer count, and the review waits for the replacement.
func TestReviewByReplacedMember(t *testing.T) {
	r := mustReviewScene(t)
	ctx := context.Background()
	id, sec := r.sess.ID, r.section
	members := sitting(r.sess)
	var gone evaluation.SessionMember
	for _, m := range members {
		if m.Kind == evaluation.MemberDrawn && m.ID != r.chair.ID {
			gone = m
		}
	}
	_, err := r.Service.SaveMarks(ctx, r.as(gone), id, sec, evaluation.SaveMarksRequest{Stage: evaluation.ReviewInitial, Marks: r.verdicts(nil)})
	must(t, err)
	_, err = r.Service.SubmitMarks(ctx, r.as(gone), id, sec, evaluation.StageRequest{Stage: evaluation.ReviewInitial})
	must(t, err)
	sess, err := r.Service.RemoveMember(ctx, r.Actor(r.Host), id, gone.ID, "擅离评标工位超过规定时间")
	must(t, err)
	before := ledgerSize(t, r.Env)
	_, err = r.Service.SaveMarks(ctx, r.as(gone), id, sec, evaluation.SaveMarksRequest{Stage: evaluation.ReviewInitial, Marks: r.verdicts(nil)[:1]})
	if code := kaiping.CodeOf(err); code != "session.member_replaced" && code != "session.member_left" {
		t.Fatalf("the removed member saves marks: %v, want session.member_replaced or session.member_left", err)
	}
	if got := ledgerSize(t, r.Env); got != before {
		t.Fatalf("a refused save wrote %d ledger entries", got-before)
	}
	view, err := r.Service.ReviewOf(ctx, r.as(r.chair), id, sec, false)
	must(t, err)
	if view.Progress[evaluation.ReviewInitial] != 0 {
		t.Errorf("the removed member's submission still counts: progress %v", view.Progress)
	}
	if slices.Contains(view.Awaiting, gone.Name) {
		t.Errorf("the review waits for the removed member %s: %v", gone.Name, view.Awaiting)
	}
	// Nobody sitting has submitted: the review waits for all of them, the replacement included.
	if len(view.Awaiting) != len(sitting(sess)) || len(sitting(sess)) != len(members) {
		t.Errorf("awaiting %v, want all %d sitting members (the replacement in the removed member's place)", view.Awaiting, len(sitting(sess)))
	}
}
