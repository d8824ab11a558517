package app

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/reviewer"
	"github.com/kaiping/kaiping/clients/web"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/identity/devpki"
)

// mustSigningWorld takes the review world through BD1's review over the API to signing with
// the report built: everyone passes every bid and scores them alike, the committee accepts
// 丙's explanation of its low price and notes the soft warnings, the chair summarizes, and
// the host starts signing. The report is not built yet.
func mustSigningWorld(t *testing.T) *reviewWorld {
	t.Helper()
	ctx := context.Background()
	rw := mustReviewWorld(t)
	codes := []string{"KF-01", "KF-02", "ZZ-01", "ZZ-02", "LY-01"}
	for _, code := range codes {
		rw.mustMark(t, code, evaluation.ReviewInitial, rw.verdicts())
	}
	chair := rw.memberClient(t, reviewChair)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("conclude the initial review", chair.Do(ctx, http.MethodPost, rw.reviewPath("/conclude-initial"), nil, nil))
	for i, code := range codes {
		rw.mustMark(t, code, evaluation.ReviewDetailed, rw.scores(2000+int64(i%3)*200, 800, "甲公司", "乙公司", "丙公司"))
	}
	must("accept 丙's explanation", chair.Do(ctx, http.MethodPost, rw.reviewPath("/decisions"), evaluation.DecisionRequest{
		Kind: evaluation.DecisionCostExplained, Bidder: rw.bidders["丙公司"], Text: "丙公司书面说明其自有设备与材料库存，评标委员会认为说明合理"}, nil))
	v := rw.view(t, reviewChair)
	for _, w := range v.Outcome.Warnings {
		if w.Hard {
			t.Fatalf("a hard warning is left before the summary: %+v", w)
		}
		if w.Note == nil {
			must("note "+w.Code, chair.Do(ctx, http.MethodPost, rw.reviewPath("/notes"), evaluation.NoteRequest{Key: w.Key, Text: "评标委员会已核实：" + w.Message}, nil))
		}
	}
	must("summarize", chair.Do(ctx, http.MethodPost, rw.reviewPath("/summary"), nil, nil))
	sp := "/api/v1/sessions/" + string(rw.sess.ID)
	must("start signing", rw.host.Do(ctx, http.MethodPost, sp+"/signing", nil, nil))
	return rw
}

// signAs has member code sign the report with the member's tool (clients/reviewer), with their
// key and certificate.
func (rw *reviewWorld) signAs(tb testing.TB, code, dissent string) (reviewer.Signed, error) {
	tb.Helper()
	cert := rw.certs[code]
	return reviewer.SignReport(context.Background(), rw.memberClient(tb, code), cert.Key, cert.Cert, rw.sess.ID, dissent)
}

// TestReportSigningPage drives the report page in headless Chromium on a session whose report
// was built from a real review: a member's page shows the report section by section (basics,
// committee, the comparison table with ranks and candidates, the warnings with the
// committee's notes), its digest, the PDF link and every member unsigned, and the exact
// command to sign with the dissent typed into it; the seat page and the host console link to
// it. A non-member is refused. Members sign through clients/reviewer (an SM2 member with a
// CMS, ECDSA members on the PDF, one with a dissent), and the page shows them signed as the
// signatures arrive; the host records a refusal on the console behind a dialog naming who
// has not signed, and the page shows it.
func TestReportSigningPage(t *testing.T) {
	began := time.Now()
	rw := mustSigningWorld(t)
	t.Logf("signing world built in %v", time.Since(began).Round(time.Millisecond))
	b := mustBrowser(t)
	id := string(rw.sess.ID)
	ctx := context.Background()
	a, bb, c := rw.bidders["甲公司"], rw.bidders["乙公司"], rw.bidders["丙公司"]
	names := map[string]string{}
	for code, m := range rw.byCode {
		names[code] = m.Name
	}

	pg := b.open(t, web.LoginLink(rw.base, "session/report/?id="+id, rw.memberClient(t, "ZZ-02").Token))
	pg.live()
	pg.waitText("#not-built", "评标报告尚未生成")
	console := b.open(t, web.LoginLink(rw.base, "session/console/?id="+id, rw.host.Token))
	console.live()
	var rep evaluation.ReportView
	t.Run("the host builds the report on the console and the member's page shows it", func(t *testing.T) {
		console.waitText("#report-desk", "评标报告尚未生成")
		console.click("#report-build")
		console.confirmDialog("生成评标报告", "十部分")
		console.waitText("#report-msg", "已生成评标报告，摘要")
		if err := rw.host.Do(ctx, http.MethodGet, "/api/v1/sessions/"+id+"/report", nil, &rep); err != nil || !strings.Contains(console.text("#report-msg"), rep.Digest) {
			t.Fatalf("the console says %q; the report's digest is %s (%v)", console.text("#report-msg"), rep.Digest, err)
		}
		pg.waitCount("#not-built", 0)
	})
	t.Run("the member's page shows the report, its digest, the PDF and who has not signed", func(t *testing.T) {
		if got := pg.text("#digest"); got != rep.Digest {
			t.Fatalf("the page shows digest %q, the report's is %s", got, rep.Digest)
		}
		pg.waitText("#basics", "KP-EVAL-REVIEW-1", "综合评估法", "北京时间")
		pg.waitCount("#committee-table tbody tr", 5)
		pg.waitText("#committee-table", names[reviewChair]+"（组长）")
		sec := `.report-section[data-section="` + string(rw.section) + `"]`
		pg.waitText(sec, "BD1", "1,000,000.00", "980,000.00", "600,000.00")
		pg.waitCount(sec+" table.comparison tbody tr", 3)
		pg.waitCount(sec+" table.comparison tr.candidate", 2)
		pg.waitText(sec+` table.comparison tr[data-bidder="`+string(c)+`"]`, "丙公司", "第一中标候选人")
		for _, bidder := range []kaiping.ID{a, bb, c} {
			if pg.count(sec+` table.comparison tr[data-bidder="`+string(bidder)+`"]`) != 1 {
				t.Errorf("bidder %s has no row in the comparison table", bidder)
			}
		}
		pg.waitText(sec+" .decisions", "丙公司", "接受低于成本的书面说明")
		pg.waitText(sec+" ul.warnings", "提示：", "评标委员会说明：评标委员会已核实")
		pg.waitText(sec+` table.comparison tr[data-bidder="`+string(c)+`"] td:first-child`, "1")
		pg.waitText("#clarifications", "未向投标人发出")
		if paths := pg.attrs("#pdf-link", "data-path"); len(paths) != 1 || !strings.HasSuffix(paths[0], "/sessions/"+id+"/report/pdf") {
			t.Errorf("the PDF link reads %v", paths)
		}
		pg.waitText("#pdf-link", "尚无电子签名")
		pg.waitCount(`#signers-table tr[data-kind="unsigned"]`, 5)
		pg.waitText("#unsigned-names", names["KF-01"], names["ZZ-02"], names["LY-01"])
	})

	t.Run("the member is given the exact command, with the dissent typed into it", func(t *testing.T) {
		want := "kaiping evaluation sign --server " + rw.base + " --session " + id + " --cert 您的证书.pem --key 您的私钥.pem"
		if got := strings.TrimSpace(pg.text("#sign-command")); got != want {
			t.Fatalf("the command reads\n%s\nwant\n%s", got, want)
		}
		pg.waitText("#no-agent", "浏览器无法使用您的私钥")
		pg.set("#dissent", "对丙公司的报价说明有保留意见，认为其'材料库存'不足以支撑")
		pg.waitText("#sign-command", want+` --dissent '对丙公司的报价说明有保留意见，认为其'\''材料库存'\''不足以支撑'`)
	})

	t.Run("the seat page and the host console link to the report", func(t *testing.T) {
		seat := b.open(t, web.LoginLink(rw.base, "session/?id="+id, rw.memberClient(t, "ZZ-02").Token))
		seat.waitText("#report-link", "查阅并签署评标报告")
		if hrefs := seat.attrs("#report-link", "href"); len(hrefs) != 1 || hrefs[0] != "/session/report/?id="+id {
			t.Errorf("the seat's report link is %v", hrefs)
		}
	})
	console.waitText("#report-desk", rep.Digest, names["KF-01"], names["LY-01"])
	if hrefs := console.attrs("#report-page-link", "href"); len(hrefs) != 1 || hrefs[0] != "/session/report/?id="+id {
		t.Errorf("the console's report link is %v", hrefs)
	}
	if console.count("#report-build") != 1 {
		t.Error("the console offers no way to build the report again before anyone signed")
	}

	t.Run("a principal who sits on no committee is refused", func(t *testing.T) {
		stranger := rw.mustRegister(t, rw.admin, devpki.ECDSA, "另一位专家", kaiping.RoleExpert)
		_, err := reviewer.SignReport(context.Background(), rw.mustLogin(t, stranger), stranger.Key, stranger.Cert, rw.sess.ID, "")
		var ae *apiclient.Error
		if !errors.As(err, &ae) || ae.Code != "session.not_member" {
			t.Fatalf("a stranger signs: %v, want session.not_member", err)
		}
		pg.waitCount(`#signers-table tr[data-kind="unsigned"]`, 5)
	})

	t.Run("signatures arrive on the page as members sign", func(t *testing.T) {
		kf, err := rw.signAs(t, "KF-01", "")
		if err != nil || !kf.CMS || kf.Signature.PDFRevision != 0 || kf.Signature.Kind != evaluation.SignatureSigned {
			t.Fatalf("KF-01 (SM2) signs: %+v, %v", kf.Signature, err)
		}
		pg.waitText(`#signers-table tr[data-member="`+string(rw.byCode["KF-01"].ID)+`"]`, "已签字同意", "SM2 分离签名")
		zz, err := rw.signAs(t, reviewChair, "")
		if err != nil || zz.CMS || zz.Signature.PDFRevision != 1 || zz.Digest != rep.Digest {
			t.Fatalf("the chair (ECDSA) signs: %+v, %v", zz.Signature, err)
		}
		if len(zz.Report.Sections) != 1 || len(zz.Report.Sections[0].Candidates) != 2 {
			t.Errorf("the report the chair signed has sections %+v", zz.Report.Sections)
		}
		dissent := "本人认为丙公司的成本说明依据不足，不同意将其列为第一中标候选人"
		ly, err := rw.signAs(t, "LY-01", "  "+dissent+"\n")
		if err != nil || ly.Signature.Kind != evaluation.SignatureDissent || ly.Signature.Dissent != dissent || ly.Signature.PDFRevision != 2 {
			t.Fatalf("LY-01 signs with a dissent: %+v, %v", ly.Signature, err)
		}
		if _, err := rw.signAs(t, "LY-01", ""); err == nil {
			t.Error("LY-01 signed twice")
		}
		row := func(code string) string { return `#signers-table tr[data-member="` + string(rw.byCode[code].ID) + `"]` }
		pg.waitText(row(reviewChair), "已签字同意", "PDF 电子签名（第 1 个）")
		pg.waitText(row("LY-01"), "书面说明不同意见", dissent)
		pg.waitCount(`#signers-table tr[data-kind="unsigned"]`, 2)
		pg.waitText("#pdf-link", "已含 2 名成员的电子签名")
		console.waitText("#report-unsigned", names["KF-02"], names["ZZ-02"])
		if console.count("#report-build") != 0 {
			t.Error("the console offers to build the report again after members signed")
		}
	})

	t.Run("the host records a refusal behind a dialog naming who has not signed", func(t *testing.T) {
		console.waitCount("#refusal-member option", 2)
		console.set("#refusal-member", string(rw.byCode["KF-02"].ID))
		console.click("#refusal-submit")
		console.confirmDialog("尚未签署的成员", names["KF-02"], names["ZZ-02"])
		// The server wants the refusal's circumstances: refused without them, nothing recorded.
		console.waitText("#report-msg", "须写明拒签的经过")
		var v evaluation.ReportView
		if err := rw.host.Do(ctx, http.MethodGet, "/api/v1/sessions/"+id+"/report", nil, &v); err != nil || len(v.Signatures) != 3 {
			t.Fatalf("after a refused refusal the report has %d signatures (%v), want the 3 members'", len(v.Signatures), err)
		}
		console.set("#refusal-note", "经主持人两次提示，该成员拒绝签字且未说明理由")
		console.click("#refusal-submit")
		console.confirmDialog("记录 " + names["KF-02"] + " 拒签")
		console.waitText("#report-msg", "已记录 "+names["KF-02"]+" 拒签")
		pg.waitText(`#signers-table tr[data-member="`+string(rw.byCode["KF-02"].ID)+`"]`, "拒绝签字且未说明理由", "经主持人两次提示")
		pg.waitCount(`#signers-table tr[data-kind="unsigned"]`, 1)
		if got := pg.text("#unsigned-names"); got != names["ZZ-02"] {
			t.Errorf("unsigned after the refusal: %q, want %s", got, names["ZZ-02"])
		}
		console.waitText("#report-unsigned", names["ZZ-02"])
	})

	t.Run("the member's own signature replaces the command", func(t *testing.T) {
		if _, err := rw.signAs(t, "ZZ-02", ""); err != nil {
			t.Fatal(err)
		}
		pg.waitText("#my-signature", "您已于", "已签字同意")
		pg.waitText("#all-signed", "全体在席成员均已签署")
		if pg.count("#sign-command") != 0 {
			t.Error("the command is still offered after the member signed")
		}
	})
	t.Logf("TestReportSigningPage ran in %v", time.Since(began).Round(time.Millisecond))
}
