package evaltest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/identity/certsign"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/pdfdoc"
	"github.com/kaiping/kaiping/pdfdoc/pdfsign"
	"github.com/kaiping/kaiping/storage/blob"
)

// reportArchive keeps the report's files in MinIO under the compliance lock, as the app does.
type reportArchive struct {
	store  *blob.Store
	bucket string
}

func (a reportArchive) Archive(ctx context.Context, key string, body []byte, contentType string, at time.Time) (evaluation.ArchivedFile, error) {
	_, err := a.store.Put(ctx, a.bucket, key, bytes.NewReader(body), int64(len(body)),
		blob.PutOptions{ContentType: contentType, Retention: blob.Period{Years: 15}.From(at)})
	sum := sha256.Sum256(body)
	return evaluation.ArchivedFile{Key: key, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(body))}, err
}

// mustSummarized takes the review through to the chair's summary: everyone passes every bid,
// scores them alike, and the committee accepts C's explanation of its price.
func (r *reviewScene) mustSummarized(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	id, sec := r.sess.ID, r.section
	members := sitting(r.sess)
	for _, m := range members {
		_, err := r.Service.SaveMarks(ctx, r.as(m), id, sec, evaluation.SaveMarksRequest{Stage: evaluation.ReviewInitial, Marks: r.verdicts(nil)})
		must(tb, err)
		_, err = r.Service.SubmitMarks(ctx, r.as(m), id, sec, evaluation.StageRequest{Stage: evaluation.ReviewInitial})
		must(tb, err)
	}
	_, err := r.Service.ConcludeInitial(ctx, r.as(r.chair), id, sec)
	must(tb, err)
	all := []kaiping.ID{r.bids[0].Bidder, r.bids[1].Bidder, r.bids[2].Bidder}
	for i, m := range members {
		_, err := r.Service.SaveMarks(ctx, r.as(m), id, sec, evaluation.SaveMarksRequest{Stage: evaluation.ReviewDetailed, Marks: scores(2000+int64(i%3)*100, all...)})
		must(tb, err)
		_, err = r.Service.SubmitMarks(ctx, r.as(m), id, sec, evaluation.StageRequest{Stage: evaluation.ReviewDetailed})
		must(tb, err)
	}
	_, err = r.Service.Decide(ctx, r.as(r.chair), id, sec, evaluation.DecisionRequest{Kind: evaluation.DecisionCostExplained,
		Bidder: r.bids[2].Bidder, Text: "丙公司书面说明了其成本构成，评标委员会认为合理"})
	must(tb, err)
	view, err := r.Service.ReviewOf(ctx, r.as(r.chair), id, sec, false)
	must(tb, err)
	for _, w := range view.Outcome.Warnings {
		if w.Note == nil {
			_, err = r.Service.Note(ctx, r.as(r.chair), id, sec, evaluation.NoteRequest{Key: w.Key, Text: "评标委员会已核实"})
			must(tb, err)
		}
	}
	_, err = r.Service.Summarize(ctx, r.as(r.chair), id, sec)
	must(tb, err)
}

// sign has member m sign the report's digest and its PDF, with a dissent if given.
func (r *reviewScene) sign(tb testing.TB, m evaluation.SessionMember, digest, dissent string) (evaluation.ReportSignature, error) {
	tb.Helper()
	ctx := context.Background()
	login := r.logins[m.ID]
	sig, err := certsign.Sign(login.Key, evaluation.ReportMessage(r.sess.ID, m.ID, digest, dissent))
	must(tb, err)
	prep, err := r.Service.PDFSigningFor(ctx, r.as(m), r.sess.ID)
	must(tb, err)
	der, err := r.Store.PrincipalCertificate(ctx, login.ID, login.Fingerprint)
	must(tb, err)
	cert, err := x509.ParseCertificate(der)
	must(tb, err)
	cms, err := pdfsign.SignDigest(prep.Digest, login.Key, cert, prep.Time)
	must(tb, err)
	return r.Service.SignReport(ctx, r.as(m), r.sess.ID, evaluation.SignReportRequest{Digest: digest, Certificate: login.Fingerprint,
		Signature: sig, Dissent: dissent, PDFSignature: cms, PDFRevision: prep.Revision, PDFTime: prep.Time})
}

func TestReport(t *testing.T) {
	r := mustReviewScene(t)
	ctx := context.Background()
	fonts, err := pdfdoc.LoadFonts(pdfdoc.DefaultCJKFont, pdfdoc.DefaultLatinFont)
	must(t, err)
	m := devenv.MinIOServer(t)
	store, err := blob.New(blob.Config{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey})
	must(t, err)
	bucket := devenv.BucketName(t)
	must(t, store.EnsureBucket(ctx, bucket))
	papers := evaluation.Papers{Fonts: fonts}
	r.Service.ReportWith(papers, reportArchive{store, bucket})
	r.mustSummarized(t)
	id := r.sess.ID
	host := r.Actor(r.Host)

	_, err = r.Service.BuildReport(ctx, host, id)
	wantCode(t, err, kaiping.KindConflict, "session.state")
	_, err = r.Service.StartSigning(ctx, host, id)
	must(t, err)
	members := sitting(r.sess)
	_, err = r.Service.SignReport(ctx, r.as(members[0]), id, evaluation.SignReportRequest{})
	wantCode(t, err, kaiping.KindForbidden, "session.certificate")
	rep, err := r.Service.BuildReport(ctx, host, id)
	must(t, err)
	if !strings.HasPrefix(string(rep.PDF), "%PDF") || rep.Digest == "" {
		t.Fatalf("built report: digest %q, PDF %d bytes", rep.Digest, len(rep.PDF))
	}

	// Bad signatures change nothing.
	before := ledgerSize(t, r.Env)
	_, err = r.sign(t, members[0], strings.Repeat("0", 64), "")
	wantCode(t, err, kaiping.KindConflict, "report.changed")
	login := r.logins[members[0].ID]
	bad, err := certsign.Sign(login.Key, evaluation.ReportMessage(id, members[1].ID, rep.Digest, ""))
	must(t, err)
	_, err = r.Service.SignReport(ctx, r.as(members[0]), id, evaluation.SignReportRequest{Digest: rep.Digest, Certificate: login.Fingerprint, Signature: bad})
	wantCode(t, err, kaiping.KindInvalid, "report.bad_signature")
	good, err := certsign.Sign(login.Key, evaluation.ReportMessage(id, members[0].ID, rep.Digest, ""))
	must(t, err)
	_, err = r.Service.SignReport(ctx, r.as(members[0]), id, evaluation.SignReportRequest{Digest: rep.Digest, Certificate: login.Fingerprint, Signature: good})
	wantCode(t, err, kaiping.KindInvalid, "report.pdf_required")
	if got := ledgerSize(t, r.Env); got != before {
		t.Fatalf("refused signatures wrote %d ledger entries", got-before)
	}

	// Members sign in turn, one with a dissent; a stale PDF revision is refused.
	stale, err := r.Service.PDFSigningFor(ctx, r.as(members[1]), id)
	must(t, err)
	for i, m := range members[:len(members)-1] {
		dissent := ""
		if i == 1 {
			dissent = "本人认为乙公司的资质问题应当允许补正，不同意其初步评审结论"
		}
		if _, err := r.sign(t, m, rep.Digest, dissent); err != nil {
			t.Fatalf("member %d signs: %v", i, err)
		}
		if i == 0 {
			_, err = r.Service.PDFSigningFor(ctx, r.as(m), id)
			wantCode(t, err, kaiping.KindConflict, "report.signed_twice")
		}
	}
	sig, err := certsign.Sign(r.logins[members[1].ID].Key, evaluation.ReportMessage(id, members[1].ID, rep.Digest, ""))
	must(t, err)
	_, err = r.Service.SignReport(ctx, r.as(members[1]), id, evaluation.SignReportRequest{Digest: rep.Digest,
		Certificate: r.logins[members[1].ID].Fingerprint, Signature: sig, PDFSignature: []byte{1}, PDFRevision: stale.Revision, PDFTime: stale.Time})
	wantCode(t, err, kaiping.KindConflict, "report.signed_twice")

	// The last member refuses to sign: closing waits until the host records it.
	last := members[len(members)-1]
	_, err = r.Service.Close(ctx, host, id)
	wantCode(t, err, kaiping.KindConflict, "report.unsigned")
	_, err = r.Service.RecordRefusal(ctx, host, id, evaluation.RefusalRequest{Member: last.ID, Note: "该评委拒绝签字且未说明理由"})
	must(t, err)
	sess, err := r.Service.Close(ctx, host, id)
	must(t, err)
	if sess.State != evaluation.SessionClosed {
		t.Fatalf("state %s after close", sess.State)
	}

	// Anyone can check it: every section recomputed from the ledger, every signature.
	rec, err := r.Service.ReportRecord(ctx, id)
	must(t, err)
	check, err := evaluation.CheckReport(rec, papers)
	must(t, err)
	if check.Sections != 1 || check.Signatures != len(members)-1 || check.PDFSignatures != len(members)-1 || check.Marks == 0 {
		t.Fatalf("check %+v, want 1 section and %d signatures", check, len(members)-1)
	}
	if rec.Report.Archive == nil || len(rec.Report.Archive.Objects) < 3 {
		t.Fatalf("archive %+v", rec.Report.Archive)
	}
	// The standard verifier accepts every member's PDF signature.
	path := filepath.Join(t.TempDir(), "report.pdf")
	must(t, os.WriteFile(path, rec.Report.PDF, 0o600))
	out, _ := exec.Command("pdfsig", "-nocert", path).CombinedOutput()
	if n := strings.Count(string(out), "Signature is Valid."); n != len(members)-1 {
		t.Fatalf("pdfsig finds %d valid signatures, want %d:\n%s", n, len(members)-1, out)
	}

	// A changed report, or a signature over another digest, is named.
	tampered := rec
	tampered.Report.Body = bytes.Replace(rec.Report.Body, []byte(`"rank":1`), []byte(`"rank":2`), 1)
	_, err = evaluation.CheckReport(tampered, papers)
	wantCode(t, err, kaiping.KindInvalid, "verify.report_digest")
	tampered = rec
	tampered.Signatures = append([]evaluation.ReportSignature(nil), rec.Signatures...)
	tampered.Signatures[0].Digest = strings.Repeat("a", 64)
	_, err = evaluation.CheckReport(tampered, papers)
	wantCode(t, err, kaiping.KindInvalid, "verify.signature_digest")
}
