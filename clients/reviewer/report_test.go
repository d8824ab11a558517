package reviewer

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/identity/devpki"
)

// TestSignReportRefusesAReportThatIsNotItsDigest: a server that serves canonical bytes other
// than those its digest names (a report changed under the member) gets no signature: the
// client refuses before signing, and posts nothing. (Signing against the real server:
// TestReportSigningPage in cmd/kaiping/app.)
func TestSignReportRefusesAReportThatIsNotItsDigest(t *testing.T) {
	ca, err := devpki.NewCA(devpki.ECDSA, "测试 CA", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(devpki.ECDSA, "王评委", "某设计院", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	session, member := kaiping.NewID(), kaiping.NewID()
	body, digest, err := evaluation.Report{Format: evaluation.ReportFormat, Session: session, TenderCode: "KP-1"}.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sp := "/api/v1/expert/sessions/" + string(session)
		switch {
		case r.Method == http.MethodPost:
			posts.Add(1)
			w.WriteHeader(http.StatusCreated)
		case r.URL.Path == sp:
			_ = json.NewEncoder(w).Encode(evaluation.MemberSessionView{Me: evaluation.SessionMember{ID: member}})
		case r.URL.Path == sp+"/report":
			_ = json.NewEncoder(w).Encode(evaluation.ReportView{Digest: digest, Report: body, HasPDF: true})
		case r.URL.Path == sp+"/report/canonical":
			_, _ = w.Write(bytes.Replace(body, []byte("KP-1"), []byte("KP-2"), 1))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	_, err = SignReport(context.Background(), apiclient.New(srv.URL), cert.Key, cert.Cert, session, "")
	if err == nil || !strings.Contains(err.Error(), "不予签署") {
		t.Fatalf("signing a report whose bytes are not its digest: %v", err)
	}
	if n := posts.Load(); n != 0 {
		t.Fatalf("the client posted %d times after refusing", n)
	}
}

// TestPrintSigned: what the command prints says what was signed: the report's candidates, its
// digest, the stance, and the PDF signature or the SM2 CMS, in Beijing time.
func TestPrintSigned(t *testing.T) {
	at := time.Date(2026, 6, 1, 1, 30, 0, 0, time.UTC)
	rep := evaluation.Report{TenderCode: "KP-1", TenderTitle: "某工程", Tenderer: "某单位", Sections: []evaluation.ReportSection{{
		Code: "BD1", Name: "一标段", Candidates: []evaluation.ReportCandidate{{Rank: 1, Name: "丙公司", Price: 60000050}}}}}
	for _, c := range []struct {
		name string
		s    Signed
		want []string
	}{
		{"PDF", Signed{Digest: "ab12", Report: rep, Signature: evaluation.ReportSignature{Kind: evaluation.SignatureSigned, PDFRevision: 2, At: at}},
			[]string{"KP-1 某工程", "第1名 丙公司（600000.50 元）", "ab12", "签字同意", "2026-06-01 09:30:00 北京时间", "PDF 第 2 版"}},
		{"SM2 with a dissent", Signed{Digest: "cd34", Report: rep, CMS: true, Signature: evaluation.ReportSignature{Kind: evaluation.SignatureDissent, Dissent: "不同意", At: at}},
			[]string{"书面说明不同意见", "CMS 分离签名", "不同意见：不同意"}},
		{"no PDF", Signed{Digest: "ef56", Report: rep, Signature: evaluation.ReportSignature{Kind: evaluation.SignatureSigned, At: at}},
			[]string{"仅签署了报告摘要"}},
	} {
		var b strings.Builder
		PrintSigned(&b, c.s)
		for _, w := range c.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: the output lacks %q:\n%s", c.name, w, b.String())
			}
		}
	}
}
