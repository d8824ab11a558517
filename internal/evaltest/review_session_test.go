package evaltest_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
)

// TestComputeSession: every section of the session is computed from its stored marks as the
// chair's view computes it, and a section that cannot be yet says why instead.
func TestComputeSession(t *testing.T) {
	r := mustReviewScene(t)
	ctx := context.Background()
	id, sec := r.sess.ID, r.section
	members := sitting(r.sess)
	outcome := func() evaluation.SectionOutcome {
		t.Helper()
		outs, err := r.Service.ComputeSession(ctx, id)
		must(t, err)
		var n int
		for _, g := range r.sess.Groups {
			n += len(g.Sections)
		}
		if len(outs) != n {
			t.Fatalf("%d outcomes for %d sections", len(outs), n)
		}
		for _, o := range outs {
			if o.Section == sec {
				return o
			}
			if o.Outcome != nil || o.Pending == "" {
				t.Fatalf("section %s, never reviewed, has outcome %v pending %q", o.Section, o.Outcome, o.Pending)
			}
		}
		t.Fatalf("no outcome for section %s", sec)
		return evaluation.SectionOutcome{}
	}
	if o := outcome(); o.Outcome != nil || !strings.Contains(o.Pending, "初步评审尚未结束") || o.Group != r.sess.Groups[0].ID {
		t.Fatalf("before any mark: %+v", o)
	}

	for _, m := range members {
		_, err := r.Service.SaveMarks(ctx, r.as(m), id, sec, evaluation.SaveMarksRequest{Stage: evaluation.ReviewInitial, Marks: r.verdicts(nil)})
		must(t, err)
		_, err = r.Service.SubmitMarks(ctx, r.as(m), id, sec, evaluation.StageRequest{Stage: evaluation.ReviewInitial})
		must(t, err)
	}
	_, err := r.Service.ConcludeInitial(ctx, r.as(r.chair), id, sec)
	must(t, err)
	var bidders []string
	for _, b := range r.bids {
		bidders = append(bidders, string(b.Bidder))
	}
	for i, m := range members {
		marks := scores(1500+int64(i)*100, r.bids[0].Bidder, r.bids[1].Bidder, r.bids[2].Bidder)
		if i == 1 {
			marks[1].Value = 700 // an objective item scored differently: a hard warning
		}
		_, err := r.Service.SaveMarks(ctx, r.as(m), id, sec, evaluation.SaveMarksRequest{Stage: evaluation.ReviewDetailed, Marks: marks})
		must(t, err)
		if i == len(members)-1 {
			// Saved, not submitted: a draft never counts.
			if o := outcome(); o.Outcome != nil || !strings.Contains(o.Pending, m.Name) {
				t.Fatalf("with %s's sheet not submitted: %+v", m.Name, o)
			}
		}
		_, err = r.Service.SubmitMarks(ctx, r.as(m), id, sec, evaluation.StageRequest{Stage: evaluation.ReviewDetailed})
		must(t, err)
	}

	o := outcome()
	view, err := r.Service.ReviewOf(ctx, r.as(r.chair), id, sec, false)
	must(t, err)
	if o.Outcome == nil || view.Outcome == nil {
		t.Fatalf("computed %+v, the chair sees %+v", o, view.Outcome)
	}
	if !reflect.DeepEqual(*o.Outcome, *view.Outcome) {
		t.Fatalf("ComputeSession gives\n%+v\nthe chair's view\n%+v", *o.Outcome, *view.Outcome)
	}
	if len(o.Outcome.Result.Bids) != len(bidders) || o.Outcome.Result.Bids[0].Rank != 1 || len(o.Outcome.Warnings) == 0 {
		t.Fatalf("outcome %+v: want the three bids ranked and the objective item's warning", o.Outcome)
	}

	// What is not a section's pending state is an error of the whole call.
	_, err = r.Service.ComputeSession(ctx, kaiping.NewID())
	wantCode(t, err, kaiping.KindNotFound, "session.not_found")
	r.Service.ReviewRecordsFrom(nil)
	outs, err := r.Service.ComputeSession(ctx, id)
	wantCode(t, err, kaiping.KindUnavailable, "review.records_unavailable")
	if outs != nil {
		t.Fatalf("with an error, outcomes %+v", outs)
	}
}
