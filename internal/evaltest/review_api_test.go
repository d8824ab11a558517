package evaltest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
)

// TestReviewReportRoutesRefuseOutsiders drives the review and report routes over HTTP as
// people who have no business there: a host and a supervisor not assigned to the tender are
// stopped at the route (tender.not_assigned), an expert who is not on the committee is
// refused as no member (session.not_member). Each refusal of a ledgered step leaves exactly
// one refusal entry and nothing else changes.
func TestReviewReportRoutesRefuseOutsiders(t *testing.T) {
	r := mustReviewScene(t)
	a := mustAPI(t, r.scene)
	ctx := context.Background()
	otherHost := a.as(r.Principal(t, "另一主持人", "某市公共资源交易中心", kaiping.RoleHost))
	otherSup := a.as(r.Principal(t, "另一监督人", "某市公共资源交易中心", kaiping.RoleSupervisor))
	stranger := a.as(r.stranger(t).Principal)
	staff := "/api/v1/sessions/" + string(r.sess.ID)
	expert := "/api/v1/expert/sessions/" + string(r.sess.ID)
	review := "/sections/" + string(r.section) + "/review"
	marks := evaluation.SaveMarksRequest{Stage: evaluation.ReviewInitial, Marks: r.verdicts(nil)}

	before := ledgerSize(t, r.Env)
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"unassigned host reads the review", otherHost.Do(ctx, http.MethodGet, staff+review, nil, nil), 403, "tender.not_assigned"},
		{"unassigned supervisor reads the review", otherSup.Do(ctx, http.MethodGet, staff+review, nil, nil), 403, "tender.not_assigned"},
		{"unassigned host enters facts", otherHost.Do(ctx, http.MethodPut, staff+review+"/facts", evaluation.FactsRequest{}, nil), 403, "tender.not_assigned"},
		{"unassigned host reads the report", otherHost.Do(ctx, http.MethodGet, staff+"/report", nil, nil), 403, "tender.not_assigned"},
		{"unassigned supervisor reads the report PDF", otherSup.Do(ctx, http.MethodGet, staff+"/report/pdf", nil, nil), 403, "tender.not_assigned"},
		{"unassigned host builds the report", otherHost.Do(ctx, http.MethodPost, staff+"/report", nil, nil), 403, "tender.not_assigned"},
		{"unassigned host records a refusal", otherHost.Do(ctx, http.MethodPost, staff+"/report/refusals", evaluation.RefusalRequest{}, nil), 403, "tender.not_assigned"},
		{"stranger reads the review", stranger.Do(ctx, http.MethodGet, expert+review, nil, nil), 403, "session.not_member"},
		{"stranger saves marks", stranger.Do(ctx, http.MethodPut, expert+review+"/marks", marks, nil), 403, "session.not_member"},
		{"stranger concludes", stranger.Do(ctx, http.MethodPost, expert+review+"/conclude-initial", nil, nil), 403, "session.not_member"},
		{"stranger reads the report", stranger.Do(ctx, http.MethodGet, expert+"/report", nil, nil), 403, "session.not_member"},
		{"stranger signs the report", stranger.Do(ctx, http.MethodPost, expert+"/report/signatures", evaluation.SignReportRequest{}, nil), 403, "session.not_member"},
	} {
		if !hasCode(tc.err, tc.status, tc.code) {
			t.Errorf("%s: %v, want %d %s", tc.name, tc.err, tc.status, tc.code)
		}
	}
	// Five of the routes above are ledgered (facts, build, refusals, conclude, signatures):
	// the refusal log records one entry for each; the others record nothing.
	if got := ledgerSize(t, r.Env) - before; got != 5 {
		t.Errorf("the refusals wrote %d ledger entries, want 5 refusal entries", got)
	}
	if m, err := r.Store.Marks(ctx, r.sess.ID, r.section); err != nil || len(m) != 0 {
		t.Errorf("after the refusals the section has %d marks (%v)", len(m), err)
	}
}
