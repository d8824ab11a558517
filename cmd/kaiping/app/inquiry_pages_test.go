package app

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/web"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/identity/certsign"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/internal/evaltest"
)

// inquiryWorld is the session world in review, KF-02 chair, with a bidder (an ECDSA login)
// whose bid was opened in BD1.
type inquiryWorld struct {
	*sessionWorld
	bidder     *devpki.Issued
	bidderID   kaiping.ID
	chair      string // the chair's expert code
	sessionAPI string
}

func mustInquiryWorld(t *testing.T) *inquiryWorld {
	t.Helper()
	return mustInquiryWorldOn(t, mustSessionWorld(t))
}

// mustInquiryWorldOn builds the inquiry world on sw.
func mustInquiryWorldOn(t *testing.T, sw *sessionWorld) *inquiryWorld {
	t.Helper()
	ctx := context.Background()
	w := &inquiryWorld{sessionWorld: sw, chair: "KF-02"}
	id := string(w.sess.ID)
	w.sessionAPI = "/api/v1/expert/sessions/" + id
	if err := w.host.Do(ctx, http.MethodPost, "/api/v1/sessions/"+id+"/checkin", nil, nil); err != nil {
		t.Fatal(err)
	}
	for code := range w.byCode {
		w.mustReady(t, code)
	}
	for code := range w.byCode {
		if err := w.memberClient(t, code).Do(ctx, http.MethodPost, w.sessionAPI+"/chair-votes",
			evaluation.VoteRequest{Candidate: w.byCode[w.chair].ID}, nil); err != nil {
			t.Fatalf("%s votes: %v", code, err)
		}
	}
	if err := w.host.Do(ctx, http.MethodPost, "/api/v1/sessions/"+id+"/review", nil, nil); err != nil {
		t.Fatal(err)
	}
	w.bidder = w.mustRegister(t, w.admin, devpki.ECDSA, "甲路桥工程有限公司", kaiping.RoleBidder)
	w.bidderID = principalID(t, w.mustLogin(t, w.bidder))
	section := w.tender.Sections[0].ID
	w.Evaluation.ReadBidsFrom(evaltest.OpenedList{section: {{ID: kaiping.NewID(), Section: section, Bidder: w.bidderID,
		BidderName: "甲路桥工程有限公司", Kind: "technical"}}})
	return w
}

// TestInquiryBidderPage: the chair sends an arithmetic correction on the committee's page and
// a clarification through the API; the bidder's page lists both, from "评标委员会" with no
// member named, and the bidder answers there: the clarification signed in the browser with
// its ECDSA key, the correction confirmed with a signature made elsewhere and pasted (as
// `kaiping inquiry sign` prints it). The committee's page shows the answers to every member.
func TestInquiryBidderPage(t *testing.T) {
	w := mustInquiryWorld(t)
	b := mustBrowser(t)
	ctx := context.Background()

	chair := b.open(t, web.LoginLink(w.base, "inquiry/committee.html?session="+string(w.sess.ID), w.memberClient(t, w.chair).Token))
	chair.waitText("#summary", w.tender.Code, "组长")
	chair.waitText("#inq-bidder", "甲路桥工程有限公司")
	chair.set("#inq-kind", "correction")
	chair.set("#inq-question", "投标函大写金额与小写金额不一致，以大写金额为准。")
	chair.set("#inq-price", "12,340,000.50")
	chair.set("#inq-deadline", w.clock.Now().Add(time.Hour).In(time.FixedZone("CST", 8*3600)).Format("2006-01-02T15:04"))
	chair.click("#inq-send")
	chair.waitText("#send-msg", "已发出")
	chair.waitText("#list", "算术错误修正确认", "12,340,000.50 元", "待答复")
	var list struct{ Inquiries []evaluation.Inquiry }
	if err := w.memberClient(t, w.chair).Do(ctx, http.MethodGet, w.sessionAPI+"/inquiries", nil, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Inquiries) != 1 || list.Inquiries[0].CorrectedPrice != 1234000050 || list.Inquiries[0].Kind != evaluation.InquiryCorrection {
		t.Fatalf("the chair's page sent %+v", list.Inquiries)
	}
	corr := list.Inquiries[0]

	var q evaluation.Inquiry
	if err := w.memberClient(t, w.chair).Do(ctx, http.MethodPost, w.sessionAPI+"/inquiries", evaluation.InquiryRequest{
		Section: w.tender.Sections[0].ID, Bidder: w.bidderID, Kind: evaluation.InquiryClarification,
		Question: "请说明项目经理的注册证书编号与附件中的不一致之处。", Deadline: w.clock.Now().Add(time.Hour)}, &q); err != nil {
		t.Fatal(err)
	}

	pg := b.open(t, web.LoginLink(w.base, "inquiry/bidder.html", w.mustLogin(t, w.bidder).Token))
	card := `section.inquiry[data-inquiry="` + string(q.ID) + `"]`
	text := pg.waitText(card, "澄清、说明或补正", "评标委员会", "项目经理的注册证书编号", "待答复", "北京时间", w.tender.Code)
	for _, m := range w.sess.Members {
		if strings.Contains(text, m.Name) {
			t.Errorf("the bidder's page names member %s:\n%s", m.Name, text)
		}
	}
	answer := "证书编号以附件为准，投标函中为笔误，不改变投标实质内容。"
	pg.set(card+" textarea.answer-text", answer)
	pg.waitText(card+" pre.message", "KAIPING-INQUIRY-ANSWER-V1", string(q.ID), evaluation.TextDigest(answer), "answer")
	key, crt := keyFiles(t, w.bidder)
	pg.upload(card+" input.cert-file", crt)
	pg.upload(card+" input.key-file", key)
	pg.click(card + " button.submit")
	pg.waitText(card, "已答复", "已签名", answer)

	// The correction, confirmed with a pasted signature.
	card = `section.inquiry[data-inquiry="` + string(corr.ID) + `"]`
	pg.waitText(card, "算术错误修正确认", "12,340,000.50 元", "待答复")
	confirm := "同意按大写金额修正。"
	pg.set(card+" textarea.answer-text", confirm)
	pg.click(card + ` input[value="confirm"]`)
	pg.waitText(card+" pre.message", evaluation.TextDigest(confirm), "confirm")
	sig, err := certsign.Sign(w.bidder.Key, evaluation.InquiryAnswerMessage(corr.ID, evaluation.TextDigest(confirm), evaluation.DecisionConfirm))
	if err != nil {
		t.Fatal(err)
	}
	pg.upload(card+" input.cert-file", crt)
	pg.set(card+" textarea.signature", base64.StdEncoding.EncodeToString(sig))
	pg.click(card + " button.submit")
	pg.waitText(card, "已答复", "确认修正", confirm)

	if err := w.memberClient(t, "ZZ-01").Do(ctx, http.MethodGet, w.sessionAPI+"/inquiries", nil, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Inquiries) != 2 || list.Inquiries[1].State != evaluation.InquiryAnswered || list.Inquiries[1].Answer.Text != answer ||
		list.Inquiries[0].State != evaluation.InquiryAnswered || list.Inquiries[0].Answer.Decision != evaluation.DecisionConfirm {
		t.Fatalf("after answering on the page the committee reads %+v", list.Inquiries)
	}

	committee := b.open(t, web.LoginLink(w.base, "inquiry/committee.html?session="+string(w.sess.ID), w.memberClient(t, "ZZ-01").Token))
	committee.waitText("#list", "甲路桥工程有限公司", "已答复", answer, confirm, "确认修正")
	if committee.count("#send-card:not([hidden])") != 0 {
		t.Error("a member who is not the chair sees the form to send")
	}
	watch := b.open(t, web.LoginLink(w.base, "inquiry/committee.html?session="+string(w.sess.ID), w.supervisor.Token))
	watch.waitText("#summary", "监督人员")
	watch.waitText("#list", "甲路桥工程有限公司", answer, confirm)
	if watch.count("#send-card:not([hidden])") != 0 || watch.count("button.approve") != 0 {
		t.Error("the supervisor sees a form to send, or approves what went out without approval")
	}
}

// TestInquiryApprovalPage: on a centre that has a supervisor approve each request
// (evaluation.inquiry_approval), the tender's supervisor approves one request on the panel and
// refuses another with the reason; only the approved one reaches the bidder.
func TestInquiryApprovalPage(t *testing.T) {
	ta := mustAppWith(t, func(c *Config) { c.Evaluation.InquiryApproval = true })
	w := mustInquiryWorldOn(t, mustSessionWorldOn(t, mustEvalWorldOn(t, ta)))
	b := mustBrowser(t)
	ctx := context.Background()
	send := func(kind evaluation.InquiryKind, question string) evaluation.Inquiry {
		var q evaluation.Inquiry
		if err := w.memberClient(t, w.chair).Do(ctx, http.MethodPost, w.sessionAPI+"/inquiries", evaluation.InquiryRequest{
			Section: w.tender.Sections[0].ID, Bidder: w.bidderID, Kind: kind, Question: question,
			Deadline: w.clock.Now().Add(time.Hour)}, &q); err != nil {
			t.Fatal(err)
		}
		if q.State != evaluation.InquiryPending {
			t.Fatalf("with approval required the request is %s", q.State)
		}
		return q
	}
	ok := send(evaluation.InquiryClarification, "请说明投标保证金缴纳凭证的日期。")
	no := send(evaluation.InquiryBelowCost, "你公司报价明显偏低，是否会偷工减料？")

	pg := b.open(t, web.LoginLink(w.base, "inquiry/committee.html?session="+string(w.sess.ID), w.supervisor.Token))
	okCard := `section.inquiry[data-inquiry="` + string(ok.ID) + `"]`
	noCard := `section.inquiry[data-inquiry="` + string(no.ID) + `"]`
	pg.waitText(okCard, "待监督人员审核", "投标保证金")
	pg.click(okCard + " button.approve")
	pg.waitText(okCard, "待答复", "监督人员同意发出")
	pg.set(noCard+" input.reason", "问题带有倾向性，请组长重新表述")
	pg.click(noCard + " button.refuse")
	pg.waitText(noCard, "未发出", "问题带有倾向性")

	var mine evaluation.MyInquiriesView
	if err := w.mustLogin(t, w.bidder).Do(ctx, http.MethodGet, "/api/v1/bidder/inquiries", nil, &mine); err != nil {
		t.Fatal(err)
	}
	if len(mine.Inquiries) != 1 || mine.Inquiries[0].ID != ok.ID || mine.Inquiries[0].State != evaluation.InquirySent {
		t.Fatalf("the bidder reads %+v, want the approved request only", mine.Inquiries)
	}
	seat := b.open(t, web.LoginLink(w.base, "inquiry/committee.html?session="+string(w.sess.ID), w.memberClient(t, "ZZ-01").Token))
	seat.waitText(noCard, "未发出", "监督人员未同意发出：问题带有倾向性")
}
