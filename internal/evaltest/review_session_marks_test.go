package evaltest_test

import (
	"cmp"
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
)

// TestSessionMarks: the session's marks in one read are the stored marks of the members who
// submitted their stage, with the IDs in their canonical form and without reason or page;
// a draft stays in the database until its member submits.
func TestSessionMarks(t *testing.T) {
	r := mustReviewScene(t)
	ctx := context.Background()
	id, sec := r.sess.ID, r.section
	members := sitting(r.sess)
	fail := map[kaiping.ID]bool{r.bids[0].Bidder: true} // a verdict with a reason
	sortMarks := func(ms []evaluation.MemberMark) {
		slices.SortFunc(ms, func(a, b evaluation.MemberMark) int {
			return cmp.Or(cmp.Compare(a.Member, b.Member), cmp.Compare(a.Bidder, b.Bidder), cmp.Compare(a.Item, b.Item))
		})
	}
	// want is the stored marks of the members in submitted, as SessionMarks gives them.
	want := func(submitted []evaluation.SessionMember) []evaluation.MemberMark {
		stored, err := r.Store.Marks(ctx, id, sec)
		must(t, err)
		var out []evaluation.MemberMark
		for _, m := range stored {
			if slices.ContainsFunc(submitted, func(s evaluation.SessionMember) bool { return s.ID == m.Member }) {
				m.Reason, m.Page = "", nil
				out = append(out, m)
			}
		}
		sortMarks(out)
		return out
	}
	check := func(submitted []evaluation.SessionMember) {
		t.Helper()
		got, err := r.Store.SessionMarks(ctx, id)
		must(t, err)
		w := want(submitted)
		if len(w) == 0 {
			if len(got) != 0 {
				t.Fatalf("nothing submitted, SessionMarks gives %v", got)
			}
			return
		}
		if len(got) != 1 {
			t.Fatalf("marks of %d sections, want of %s only", len(got), sec)
		}
		ms := got[sec]
		sortMarks(ms)
		if !reflect.DeepEqual(ms, w) {
			t.Fatalf("SessionMarks gives\n%+v\nwant\n%+v", ms, w)
		}
	}

	for i, m := range members {
		_, err := r.Service.SaveMarks(ctx, r.as(m), id, sec, evaluation.SaveMarksRequest{Stage: evaluation.ReviewInitial, Marks: r.verdicts(fail)})
		must(t, err)
		check(members[:i]) // saved, not submitted: a draft
		_, err = r.Service.SubmitMarks(ctx, r.as(m), id, sec, evaluation.StageRequest{Stage: evaluation.ReviewInitial})
		must(t, err)
		check(members[:i+1])
	}
	if got := want(members); len(got) != len(members)*len(r.bids)*2 || got[0].Member == "" || !got[0].Member.Valid() || !got[0].Bidder.Valid() {
		t.Fatalf("the marks compared: %+v", got)
	}

	_, err := r.Store.SessionMarks(ctx, "not-a-session")
	wantCode(t, err, kaiping.KindNotFound, "session.not_found")
	got, err := r.Store.SessionMarks(ctx, kaiping.NewID())
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("an unknown session has marks %v", got)
	}
}
