package app

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"net/http"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/certsign"
	"github.com/kaiping/kaiping/internal/evaltest"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
	"github.com/kaiping/kaiping/pdfdoc/cms"
	"github.com/kaiping/kaiping/pdfdoc/pdfsign"
)

// reviewPrices are the bid prices (元) of the review world's bidders: 甲 and 乙 close, 丙 far
// below (the computation flags it as possibly below cost).
var reviewPrices = map[string]string{"甲公司": "1000000.00", "乙公司": "980000.00", "丙公司": "600000.00"}

// reviewWorld is the session world in review: its tender (综合评估法, evaltest.ReviewMethod)
// was opened for real, three bidders each handing in a price and a technical PDF, the record
// is published, and the committee has checked in, chosen ZZ-01 as chair and started the
// review of BD1.
type reviewWorld struct {
	*sessionWorld
	hall    *hallWorld // the opening: its host publishes the candidates
	section kaiping.ID
	bidders map[string]kaiping.ID // by name
}

// reviewChair is the expert code of the chair the review world elects.
const reviewChair = "ZZ-01"

func mustReviewWorld(t *testing.T) *reviewWorld {
	t.Helper()
	return mustReviewWorldWith(t, nil)
}

// mustReviewWorldWith is mustReviewWorld with beforeSeal, when not nil, run once 甲乙丙 handed
// in their bids and before the bids are sealed (to have other bids in other sections).
func mustReviewWorldWith(t *testing.T, beforeSeal func(hall *hallWorld)) *reviewWorld {
	t.Helper()
	ctx := context.Background()
	ta := mustApp(t)
	hall := mustHallWorldIn(t, ta, 3, func(_ *submissionWorld, tender *opening.Tender) {
		tender.Code, tender.Tenderer, tender.Method = "KP-EVAL-REVIEW-1", evalTenderer, evaltest.ReviewMethod()
	})
	rw := &reviewWorld{hall: hall, section: hall.section.ID, bidders: map[string]kaiping.ID{}}
	for _, b := range hall.bidders {
		hall.mustSubmit(t, b, seal.Summary, summaryJSON(reviewPrices[b.name], 300))
		hall.mustSubmit(t, b, seal.Technical, technicalPDF(len(rw.bidders)+1, 5))
		rw.bidders[b.name] = b.id
	}
	if beforeSeal != nil {
		beforeSeal(hall)
	}
	hall.sealNow(t)
	hall.mustMove(t, opening.HallCheckingIn, 0)
	hall.mustPublishAll(t)

	rw.sessionWorld = mustSessionWorldOn(t, mustEvalWorldFor(t, ta, &hall.tender))
	w := rw.sessionWorld
	base := "/api/v1/sessions/" + string(w.sess.ID)
	if err := w.host.Do(ctx, http.MethodPost, base+"/checkin", nil, nil); err != nil {
		t.Fatalf("open check-in: %v", err)
	}
	for _, code := range reviewCodes {
		w.mustReady(t, code)
	}
	for _, code := range reviewCodes {
		if err := w.memberClient(t, code).Do(ctx, http.MethodPost, "/api/v1/expert/sessions/"+string(w.sess.ID)+"/chair-votes",
			evaluation.VoteRequest{Candidate: w.byCode[reviewChair].ID}, nil); err != nil {
			t.Fatalf("%s votes: %v", code, err)
		}
	}
	if err := w.host.Do(ctx, http.MethodPost, base+"/review", nil, nil); err != nil {
		t.Fatalf("start the review: %v", err)
	}
	return rw
}

// reviewPath is the member's review route of the world's section, with rest appended.
func (rw *reviewWorld) reviewPath(rest string) string {
	return "/api/v1/expert/sessions/" + string(rw.sess.ID) + "/sections/" + string(rw.section) + "/review" + rest
}

// view reads the section's review as member code sees it.
func (rw *reviewWorld) view(tb testing.TB, code string) evaluation.ReviewView {
	tb.Helper()
	var v evaluation.ReviewView
	if err := rw.memberClient(tb, code).Do(context.Background(), http.MethodGet, rw.reviewPath(""), nil, &v); err != nil {
		tb.Fatalf("%s reads the review: %v", code, err)
	}
	return v
}

// mustMark saves member code's marks of stage and submits them, through the API.
func (rw *reviewWorld) mustMark(tb testing.TB, code string, stage evaluation.ReviewStage, marks []evaluation.Mark) {
	tb.Helper()
	ctx := context.Background()
	c := rw.memberClient(tb, code)
	if err := c.Do(ctx, http.MethodPut, rw.reviewPath("/marks"), evaluation.SaveMarksRequest{Stage: stage, Marks: marks}, nil); err != nil {
		tb.Fatalf("%s saves %s marks: %v", code, stage, err)
	}
	if err := c.Do(ctx, http.MethodPost, rw.reviewPath("/submissions"), evaluation.StageRequest{Stage: stage}, nil); err != nil {
		tb.Fatalf("%s submits %s: %v", code, stage, err)
	}
}

// verdicts are the initial-review marks passing everything except the licence of the
// bidders named in fail.
func (rw *reviewWorld) verdicts(fail ...string) []evaluation.Mark {
	var out []evaluation.Mark
	for _, name := range hallBidderNames[:3] {
		for _, item := range []string{"form", "licence"} {
			mk := evaluation.Mark{Bidder: rw.bidders[name], Item: item, Value: 1}
			for _, f := range fail {
				if f == name && item == "licence" {
					mk.Value, mk.Reason = 0, "资质证书已过期"
				}
			}
			out = append(out, mk)
		}
	}
	return out
}

// scores are the detailed marks of the named bidders: plan as given, record (objective) as
// given.
func (rw *reviewWorld) scores(plan, record int64, names ...string) []evaluation.Mark {
	var out []evaluation.Mark
	for _, name := range names {
		out = append(out, evaluation.Mark{Bidder: rw.bidders[name], Item: "plan", Value: plan},
			evaluation.Mark{Bidder: rw.bidders[name], Item: "record", Value: record})
	}
	return out
}

// reviewCodes are the review world's sitting members, by expert code.
var reviewCodes = []string{"KF-01", "KF-02", "ZZ-01", "ZZ-02", "LY-01"}

// mustSummarized takes the review world's section through the review to the chair's
// summary over the API: every member passes every bid and submits, the chair concludes the
// initial review, every member scores every bid (plan 2000 to 2200, record 800) and
// submits, the chair accepts 丙's explanation of its price and notes every other warning,
// then summarizes.
func (rw *reviewWorld) mustSummarized(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	for _, code := range reviewCodes {
		rw.mustMark(tb, code, evaluation.ReviewInitial, rw.verdicts())
	}
	chair := rw.memberClient(tb, reviewChair)
	if err := chair.Do(ctx, http.MethodPost, rw.reviewPath("/conclude-initial"), nil, nil); err != nil {
		tb.Fatalf("the chair concludes the initial review: %v", err)
	}
	for i, code := range reviewCodes {
		rw.mustMark(tb, code, evaluation.ReviewDetailed, rw.scores(2000+int64(i%3)*100, 800, hallBidderNames[:3]...))
	}
	if err := chair.Do(ctx, http.MethodPost, rw.reviewPath("/decisions"), evaluation.DecisionRequest{Kind: evaluation.DecisionCostExplained,
		Bidder: rw.bidders["丙公司"], Text: "丙公司书面说明了其成本构成，评标委员会认为合理"}, nil); err != nil {
		tb.Fatalf("the chair accepts 丙's explanation: %v", err)
	}
	v := rw.view(tb, reviewChair)
	if v.Outcome == nil {
		tb.Fatalf("no outcome after every member submitted: %s", v.Pending)
	}
	for _, w := range v.Outcome.Warnings {
		if w.Note != nil {
			continue
		}
		if err := chair.Do(ctx, http.MethodPost, rw.reviewPath("/notes"), evaluation.NoteRequest{Key: w.Key, Text: "评标委员会已核实"}, nil); err != nil {
			tb.Fatalf("the chair notes warning %s: %v", w.Key, err)
		}
	}
	if err := chair.Do(ctx, http.MethodPost, rw.reviewPath("/summary"), nil, nil); err != nil {
		tb.Fatalf("the chair summarizes: %v", err)
	}
}

// mustSigned takes the summarized review world to a report every member signed: the host
// starts the signing and builds the report, then each member signs it over the API.
func (rw *reviewWorld) mustSigned(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	base := "/api/v1/sessions/" + string(rw.sess.ID)
	if err := rw.host.Do(ctx, http.MethodPost, base+"/signing", nil, nil); err != nil {
		tb.Fatalf("start the signing: %v", err)
	}
	if err := rw.host.Do(ctx, http.MethodPost, base+"/report", nil, nil); err != nil {
		tb.Fatalf("build the report: %v", err)
	}
	for _, code := range reviewCodes {
		rw.mustSign(tb, code)
	}
}

// mustClosed drives the review world from the review to the closed session: summarized,
// signed by every member, closed by the host.
func (rw *reviewWorld) mustClosed(tb testing.TB) {
	tb.Helper()
	rw.mustSummarized(tb)
	rw.mustSigned(tb)
	if err := rw.host.Do(context.Background(), http.MethodPost, "/api/v1/sessions/"+string(rw.sess.ID)+"/close", nil, nil); err != nil {
		tb.Fatalf("close the session: %v", err)
	}
}

// mustSign has member code sign the report as their client does: the report's digest with
// their key, and the PDF's prepared digest (RSA, ECDSA) or, for an SM2 key, a detached CMS
// over the report's canonical bytes.
func (rw *reviewWorld) mustSign(tb testing.TB, code string) {
	tb.Helper()
	ctx := context.Background()
	c := rw.memberClient(tb, code)
	path := "/api/v1/expert/sessions/" + string(rw.sess.ID) + "/report"
	var rv evaluation.ReportView
	if err := c.Do(ctx, http.MethodGet, path, nil, &rv); err != nil {
		tb.Fatalf("%s reads the report: %v", code, err)
	}
	issued := rw.certs[code]
	sig, err := certsign.Sign(issued.Key, evaluation.ReportMessage(rw.sess.ID, rw.byCode[code].ID, rv.Digest, ""))
	if err != nil {
		tb.Fatal(err)
	}
	req := evaluation.SignReportRequest{Digest: rv.Digest, Certificate: identity.Fingerprint(issued.Cert.Raw), Signature: sig}
	if pub, ok := issued.Cert.PublicKey.(*ecdsa.PublicKey); ok && pub.Curve == sm2.P256() {
		if req.CMS, err = cms.SignDetached(rv.Report, issued.Key, issued.Cert); err != nil {
			tb.Fatal(err)
		}
	} else {
		var prep evaluation.PDFSigning
		if err := c.Do(ctx, http.MethodGet, path+"/pdf-signing", nil, &prep); err != nil {
			tb.Fatalf("%s prepares the PDF signature: %v", code, err)
		}
		cert, err := x509.ParseCertificate(issued.Cert.Raw)
		if err != nil {
			tb.Fatal(err)
		}
		if req.PDFSignature, err = pdfsign.SignDigest(prep.Digest, issued.Key, cert, prep.Time); err != nil {
			tb.Fatal(err)
		}
		req.PDFRevision, req.PDFTime = prep.Revision, prep.Time
	}
	if err := c.Do(ctx, http.MethodPost, path+"/signatures", req, nil); err != nil {
		tb.Fatalf("%s signs the report: %v", code, err)
	}
}

// technicalPDF is a technical bid as a PDF viewer shows it: pages pages, each saying whose bid
// and which page it is, so a page cited in a score can be seen to open.
func technicalPDF(bidder, pages int) []byte {
	var b bytes.Buffer
	var offsets []int
	obj := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	b.WriteString("%PDF-1.4\n")
	kids := ""
	for i := range pages {
		kids += fmt.Sprintf("%d 0 R ", 4+2*i)
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, pages))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i := range pages {
		text := fmt.Sprintf("BT /F1 24 Tf 72 760 Td (Technical bid %d - page %d) Tj ET", bidder, i+1)
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i))
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(text), text))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}
