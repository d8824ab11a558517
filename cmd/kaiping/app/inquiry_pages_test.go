package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/web"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/identity/devpki"
)

// listedBids stands in for what the opening decrypted: the page world's tender had no bids
// (its opening failed), and the inquiries need only who has an opened bid in which section.
// TestOpenedBids reads real ones.
type listedBids map[kaiping.ID][]evaluation.OpenedEnvelope

func (l listedBids) Envelopes(_ context.Context, section kaiping.ID) ([]evaluation.OpenedEnvelope, error) {
	return l[section], nil
}

func (l listedBids) Open(context.Context, kaiping.Actor, kaiping.ID) (evaluation.OpenedEnvelope, io.ReadCloser, error) {
	return evaluation.OpenedEnvelope{}, nil, errors.New("the inquiry pages read no bid")
}

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
	ctx := context.Background()
	w := &inquiryWorld{sessionWorld: mustSessionWorld(t), chair: "KF-02"}
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
	w.Evaluation.ReadBidsFrom(listedBids{section: {{ID: kaiping.NewID(), Section: section, Bidder: w.bidderID,
		BidderName: "甲路桥工程有限公司", Kind: "technical"}}})
	return w
}

// TestInquiryBidderPage: the chair sends a clarification; the bidder's page lists it, from
// "评标委员会" with no member named, and the bidder answers it there, signed in the browser
// with its ECDSA key; the committee's page shows the answer.
func TestInquiryBidderPage(t *testing.T) {
	w := mustInquiryWorld(t)
	b := mustBrowser(t)
	ctx := context.Background()
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
	pg.waitText(card+" pre.message", "KAIPING-INQUIRY-ANSWER-V1", string(q.ID), evaluation.AnswerDigest(answer), "answer")
	key, crt := keyFiles(t, w.bidder)
	pg.upload(card+" input.cert-file", crt)
	pg.upload(card+" input.key-file", key)
	pg.click(card + " button.submit")
	pg.waitText(card, "已答复", "已签名", answer)

	var list struct{ Inquiries []evaluation.Inquiry }
	if err := w.memberClient(t, "ZZ-01").Do(ctx, http.MethodGet, w.sessionAPI+"/inquiries", nil, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Inquiries) != 1 || list.Inquiries[0].State != evaluation.InquiryAnswered || list.Inquiries[0].Answer.Text != answer {
		t.Fatalf("after answering on the page the committee reads %+v", list.Inquiries)
	}

	committee := b.open(t, web.LoginLink(w.base, "inquiry/committee.html?session="+string(w.sess.ID), w.memberClient(t, "ZZ-01").Token))
	committee.waitText("#list", "甲路桥工程有限公司", "已答复", answer)
	if committee.count("#send-card:not([hidden])") != 0 {
		t.Error("a member who is not the chair sees the form to send")
	}
}
