package evaltest_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/identity/certsign"
	"github.com/kaiping/kaiping/internal/evaltest"
)

// inquiryScene is the session scene in review: every member ready, the first sitting member
// chair, and two bidders with certified logins whose bids were opened in BD1 (a third bidder
// registered but has no opened bid).
type inquiryScene struct {
	*sessionScene
	sess          evaluation.Session
	chair, member evaluation.SessionMember
	jia, yi, bing evaltest.Signer
	section       kaiping.ID
}

func mustInquiryScene(tb testing.TB) *inquiryScene {
	tb.Helper()
	ctx := context.Background()
	s := &inquiryScene{sessionScene: mustSessionScene(tb)}
	sess := s.mustSession(tb)
	for _, m := range sess.Members {
		sess = s.ready(tb, sess, m)
	}
	s.chair, s.member = sitting(sess)[0], sitting(sess)[1]
	var err error
	for _, m := range sitting(sess) {
		sess, err = s.Service.Vote(ctx, s.Actor(s.logins[m.ID].Principal), sess.ID, s.chair.ID)
		must(tb, err)
	}
	s.sess, err = s.Service.StartReview(ctx, s.Actor(s.Host), sess.ID)
	must(tb, err)
	s.section = s.tender.Sections[0].ID
	s.jia = s.CertifiedPrincipal(tb, "甲投标有限公司", "甲投标有限公司", kaiping.RoleBidder)
	s.yi = s.CertifiedPrincipal(tb, "乙投标有限公司", "乙投标有限公司", kaiping.RoleBidder)
	s.bing = s.CertifiedPrincipal(tb, "丙投标有限公司", "丙投标有限公司", kaiping.RoleBidder)
	s.Service.ReadBidsFrom(evaltest.OpenedList{s.section: {
		{ID: kaiping.NewID(), Section: s.section, Bidder: s.jia.ID, BidderName: s.jia.Name, Kind: "technical"},
		{ID: kaiping.NewID(), Section: s.section, Bidder: s.yi.ID, BidderName: s.yi.Name, Kind: "technical"},
	}})
	return s
}

// as is the actor of member m.
func (s *inquiryScene) as(m evaluation.SessionMember) kaiping.Actor {
	return s.Actor(s.logins[m.ID].Principal)
}

// request is a clarification to bidder due in an hour.
func (s *inquiryScene) request(bidder evaltest.Signer, kind evaluation.InquiryKind) evaluation.InquiryRequest {
	r := evaluation.InquiryRequest{Section: s.section, Bidder: bidder.ID, Kind: kind,
		Question: "请说明投标文件第 35 页施工组织设计中塔吊数量与第 12 页不一致的原因。", Deadline: s.Clock.Now().Add(time.Hour)}
	if kind == evaluation.InquiryCorrection {
		r.Question = "投标函大写金额为壹仟贰佰叁拾肆万元整，小写金额为 12,340,000.00 元，按大写金额优先修正为 12,340,000.00 元。"
		r.CorrectedPrice = 1234000000
	}
	return r
}

func (s *inquiryScene) mustSend(tb testing.TB, svc *evaluation.Service, bidder evaltest.Signer, kind evaluation.InquiryKind) evaluation.Inquiry {
	tb.Helper()
	q, err := svc.SendInquiry(context.Background(), s.as(s.chair), s.sess.ID, s.request(bidder, kind))
	must(tb, err)
	return q
}

// answer is bidder's answer to q, signed with its key.
func answer(tb testing.TB, bidder evaltest.Signer, q kaiping.ID, text string, d evaluation.InquiryDecision) evaluation.AnswerRequest {
	tb.Helper()
	sig, err := certsign.Sign(bidder.Key, evaluation.InquiryAnswerMessage(q, evaluation.TextDigest(text), d))
	must(tb, err)
	return evaluation.AnswerRequest{Text: text, Decision: d, Certificate: bidder.Fingerprint, Signature: sig}
}

// inquiryState is the stored state of one inquiry, what a refusal must leave as it was.
func (s *inquiryScene) inquiryState(tb testing.TB, id kaiping.ID) string {
	tb.Helper()
	q, err := s.Store.Inquiry(context.Background(), id)
	must(tb, err)
	b, err := json.Marshal(q)
	must(tb, err)
	return string(b)
}

// unchanged fails unless the ledger, the session's version and the inquiries are as before.
func (s *inquiryScene) unchanged(tb testing.TB, run func() error) error {
	tb.Helper()
	ctx := context.Background()
	snapshot := func() (int, int64, string) {
		sess, err := s.Store.Session(ctx, s.sess.ID)
		must(tb, err)
		qs, err := s.Store.SessionInquiries(ctx, s.sess.ID)
		must(tb, err)
		b, _ := json.Marshal(qs)
		return ledgerSize(tb, s.Env), sess.Version, string(b)
	}
	l0, v0, q0 := snapshot()
	err := run()
	l1, v1, q1 := snapshot()
	if l1 != l0 || v1 != v0 || q1 != q0 {
		tb.Errorf("a refusal (%v) changed something: ledger %d → %d, session version %d → %d, inquiries changed %v", err, l0, l1, v0, v1, q0 != q1)
	}
	return err
}

// TestInquiryKinds: the chair sends a clarification, an arithmetic correction and a below-cost
// request; each step is one ledger entry and one event for the group. The bidders list their
// own requests only, from "评标委员会" with no member named, and answer them signed: 甲 answers
// the clarification and the below-cost request and confirms its correction, 乙 refuses its
// correction. The review reads the outcomes; the report's minutes name no member.
func TestInquiryKinds(t *testing.T) {
	s := mustInquiryScene(t)
	ctx := context.Background()
	svc := s.Service

	before := ledgerSize(t, s.Env)
	clar := s.mustSend(t, svc, s.jia, evaluation.InquiryClarification)
	corr := s.mustSend(t, svc, s.jia, evaluation.InquiryCorrection)
	below := s.mustSend(t, svc, s.jia, evaluation.InquiryBelowCost)
	refused := s.mustSend(t, svc, s.yi, evaluation.InquiryCorrection)
	if got := ledgerSize(t, s.Env) - before; got != 4 {
		t.Errorf("4 requests sent wrote %d ledger entries", got)
	}
	for _, q := range []evaluation.Inquiry{clar, corr, below, refused} {
		if q.State != evaluation.InquirySent || q.SentAt == nil || q.AskedBy != s.chair.ID || q.Group != "G1" {
			t.Errorf("sent %s: state %s, sent at %v, asked by %s in %s", q.Kind, q.State, q.SentAt, q.AskedBy, q.Group)
		}
	}
	if corr.CorrectedPrice != 1234000000 || corr.BidderName != s.jia.Name || corr.SectionCode != "BD1" {
		t.Errorf("correction %+v", corr)
	}

	// 甲 sees its three requests, not 乙's, with nothing that names who asked.
	mine, err := svc.MyInquiries(ctx, s.jia.ID)
	must(t, err)
	if len(mine) != 3 {
		t.Fatalf("甲 lists %d requests, want 3", len(mine))
	}
	raw, _ := json.Marshal(mine)
	for _, m := range s.sess.Members {
		for _, leak := range []string{string(m.ID), m.Name, string(m.Principal)} {
			if leak != "" && strings.Contains(string(raw), leak) {
				t.Errorf("the bidder's view names a member (%q): %s", leak, raw)
			}
		}
	}
	for _, leak := range []string{"asked_by", "G1", s.sess.Groups[0].Name, refused.Question + "x"} {
		if strings.Contains(string(raw), leak) {
			t.Errorf("the bidder's view holds %q", leak)
		}
	}
	for _, q := range mine {
		if q.From != "评标委员会" || q.State != evaluation.InquirySent {
			t.Errorf("甲's request from %q in state %s", q.From, q.State)
		}
	}

	// The answers, each signed.
	s.Clock.Advance(10 * time.Minute)
	steps := []struct {
		who  evaltest.Signer
		q    evaluation.Inquiry
		text string
		d    evaluation.InquiryDecision
		want evaluation.InquiryState
	}{
		{s.jia, clar, "第 12 页为笔误，以第 35 页的 2 台塔吊为准，不改变投标实质内容。", evaluation.DecisionAnswer, evaluation.InquiryAnswered},
		{s.jia, corr, "确认按大写金额修正。", evaluation.DecisionConfirm, evaluation.InquiryAnswered},
		{s.jia, below, "报价依据企业定额，附自有设备清单与近三年同类工程结算资料。", evaluation.DecisionAnswer, evaluation.InquiryAnswered},
		{s.yi, refused, "", evaluation.DecisionRefuse, evaluation.InquiryRefused},
	}
	for _, st := range steps {
		n := ledgerSize(t, s.Env)
		got, err := svc.AnswerInquiry(ctx, s.Actor(st.who.Principal), st.q.ID, answer(t, st.who, st.q.ID, st.text, st.d))
		must(t, err)
		if got.State != st.want || got.Answer == nil || got.Answer.Text != st.text || got.Answer.Digest != evaluation.TextDigest(st.text) {
			t.Errorf("%s answered: %+v", st.q.Kind, got)
		}
		if ledgerSize(t, s.Env) != n+1 {
			t.Errorf("an answer wrote %d ledger entries", ledgerSize(t, s.Env)-n)
		}
	}

	// The review's outcomes, per section.
	outs, err := svc.InquiryOutcomes(ctx, s.sess.ID, s.section)
	must(t, err)
	want := map[kaiping.ID]string{clar.ID: "answered", corr.ID: "answered", below.ID: "answered", refused.ID: "refused"}
	if len(outs) != 4 {
		t.Fatalf("%d outcomes", len(outs))
	}
	for _, o := range outs {
		if o.State != want[o.Inquiry] || o.Answered == nil {
			t.Errorf("outcome %+v, want state %s", o, want[o.Inquiry])
		}
		if (o.Kind == "correction") != (o.CorrectedPrice == 1234000000) {
			t.Errorf("outcome %+v: corrected price", o)
		}
	}
	other, err := svc.InquiryOutcomes(ctx, s.sess.ID, kaiping.NewID())
	must(t, err)
	if len(other) != 0 {
		t.Errorf("another section has %d outcomes", len(other))
	}

	// The report's minutes: question, answer, times, bidder; no member.
	minutes, err := svc.InquiryMinutes(ctx, s.sess.ID)
	must(t, err)
	if len(minutes) != 4 {
		t.Fatalf("%d minutes", len(minutes))
	}
	for _, q := range minutes {
		if q.AskedBy != "" || q.BidderName == "" || q.Answer == nil || q.SentAt == nil || q.Question == "" {
			t.Errorf("minute %+v", q)
		}
	}

	// The group and the overseers read the events; venue staff do not.
	kinds := func(r evaluation.SessionReader) []string {
		evs, err := svc.SessionEvents(ctx, s.sess.ID, 0, r, 1000)
		must(t, err)
		var out []string
		for _, e := range evs {
			if strings.HasPrefix(e.Type, "inquiry.") {
				out = append(out, e.Type)
			}
		}
		return out
	}
	all := []string{"inquiry.sent", "inquiry.sent", "inquiry.sent", "inquiry.sent",
		"inquiry.answered", "inquiry.answered", "inquiry.answered", "inquiry.answered"}
	if got := kinds(evaluation.SessionReader{Member: s.member.ID, Group: "G1"}); !slices.Equal(got, all) {
		t.Errorf("a member of the group reads %v", got)
	}
	if got := kinds(evaluation.SessionReader{Overseer: true}); !slices.Equal(got, all) {
		t.Errorf("the overseers read %v", got)
	}
	if got := kinds(evaluation.SessionReader{Member: s.member.ID, Group: "G2"}); len(got) != 0 {
		t.Errorf("another group reads %v", got)
	}
	if got := kinds(evaluation.SessionReader{Venues: []kaiping.ID{s.kf.ID, s.zz.ID, s.pds.ID}}); len(got) != 0 {
		t.Errorf("venue staff read %v", got)
	}
}

// TestInquiryRefusals: every refused request or answer, with its code, leaves the ledger, the
// session and the inquiries as they were.
func TestInquiryRefusals(t *testing.T) {
	s := mustInquiryScene(t)
	ctx := context.Background()
	svc := s.Service
	clar := s.mustSend(t, svc, s.jia, evaluation.InquiryClarification)
	corr := s.mustSend(t, svc, s.jia, evaluation.InquiryCorrection)
	now := s.Clock.Now()
	text := "已按要求说明。"
	send := func(m evaluation.SessionMember, edit func(*evaluation.InquiryRequest)) func() error {
		return func() error {
			r := s.request(s.jia, evaluation.InquiryClarification)
			edit(&r)
			_, err := svc.SendInquiry(ctx, s.as(m), s.sess.ID, r)
			return err
		}
	}
	answerAs := func(who evaltest.Signer, q kaiping.ID, req evaluation.AnswerRequest) func() error {
		return func() error {
			_, err := svc.AnswerInquiry(ctx, s.Actor(who.Principal), q, req)
			return err
		}
	}
	other := answer(t, s.yi, clar.ID, text, evaluation.DecisionAnswer)
	other.Certificate = s.jia.Fingerprint // 乙's key, 甲's certificate
	wrongDecision := answer(t, s.jia, corr.ID, "确认", evaluation.DecisionConfirm)
	wrongDecision.Decision = evaluation.DecisionRefuse
	stranger := s.stranger(t)
	for _, tc := range []struct {
		name string
		run  func() error
		kind kaiping.Kind
		code string
	}{
		{"empty question", send(s.chair, func(r *evaluation.InquiryRequest) { r.Question = "  \n " }), kaiping.KindInvalid, "inquiry.question"},
		{"unknown kind", send(s.chair, func(r *evaluation.InquiryRequest) { r.Kind = "hint" }), kaiping.KindInvalid, "inquiry.kind"},
		{"correction without a price", send(s.chair, func(r *evaluation.InquiryRequest) { r.Kind = evaluation.InquiryCorrection }), kaiping.KindInvalid, "inquiry.corrected_price"},
		{"deadline in the past", send(s.chair, func(r *evaluation.InquiryRequest) { r.Deadline = now.Add(-time.Minute) }), kaiping.KindInvalid, "inquiry.deadline_past"},
		{"deadline now", send(s.chair, func(r *evaluation.InquiryRequest) { r.Deadline = now }), kaiping.KindInvalid, "inquiry.deadline_past"},
		{"deadline after the session", send(s.chair, func(r *evaluation.InquiryRequest) { r.Deadline = s.sess.Window.End.Add(time.Second) }), kaiping.KindInvalid, "inquiry.deadline_after_window"},
		{"a member who is not the chair", send(s.member, func(*evaluation.InquiryRequest) {}), kaiping.KindForbidden, "inquiry.not_chair"},
		{"a bidder with no opened bid", send(s.chair, func(r *evaluation.InquiryRequest) { r.Bidder = s.bing.ID }), kaiping.KindNotFound, "inquiry.bidder"},
		{"a section the group does not evaluate", send(s.chair, func(r *evaluation.InquiryRequest) { r.Section = kaiping.NewID() }), kaiping.KindNotFound, "inquiry.section"},
		{"someone off the committee", func() error {
			_, err := svc.SendInquiry(ctx, s.Actor(stranger.Principal), s.sess.ID, s.request(s.jia, evaluation.InquiryClarification))
			return err
		}, kaiping.KindForbidden, "session.not_member"},
		{"another bidder answers", answerAs(s.yi, clar.ID, answer(t, s.yi, clar.ID, text, evaluation.DecisionAnswer)), kaiping.KindNotFound, "inquiry.not_found"},
		{"an unknown inquiry", answerAs(s.jia, kaiping.NewID(), answer(t, s.jia, clar.ID, text, evaluation.DecisionAnswer)), kaiping.KindNotFound, "inquiry.not_found"},
		{"a signature by another key", answerAs(s.jia, clar.ID, other), kaiping.KindInvalid, "inquiry.bad_signature"},
		{"a signature of another text", answerAs(s.jia, clar.ID, func() evaluation.AnswerRequest {
			r := answer(t, s.jia, clar.ID, text, evaluation.DecisionAnswer)
			r.Text += "（补充）"
			return r
		}()), kaiping.KindInvalid, "inquiry.bad_signature"},
		{"a signature of another inquiry", answerAs(s.jia, corr.ID, func() evaluation.AnswerRequest {
			r := answer(t, s.jia, clar.ID, "确认", evaluation.DecisionConfirm)
			return r
		}()), kaiping.KindInvalid, "inquiry.bad_signature"},
		{"a signature of the other decision", answerAs(s.jia, corr.ID, wrongDecision), kaiping.KindInvalid, "inquiry.bad_signature"},
		{"a certificate not registered to the bidder", answerAs(s.jia, clar.ID, func() evaluation.AnswerRequest {
			r := answer(t, s.jia, clar.ID, text, evaluation.DecisionAnswer)
			r.Certificate = s.yi.Fingerprint
			return r
		}()), kaiping.KindForbidden, "session.certificate"},
		{"an empty answer", answerAs(s.jia, clar.ID, answer(t, s.jia, clar.ID, " ", evaluation.DecisionAnswer)), kaiping.KindInvalid, "inquiry.answer_text"},
		{"a correction answered without a decision", answerAs(s.jia, corr.ID, answer(t, s.jia, corr.ID, "好", evaluation.DecisionAnswer)), kaiping.KindInvalid, "inquiry.decision"},
		{"a clarification confirmed", answerAs(s.jia, clar.ID, answer(t, s.jia, clar.ID, "好", evaluation.DecisionConfirm)), kaiping.KindInvalid, "inquiry.decision"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, s.unchanged(t, tc.run), tc.kind, tc.code)
		})
	}

	// Answered once: not again.
	_, err := svc.AnswerInquiry(ctx, s.Actor(s.jia.Principal), clar.ID, answer(t, s.jia, clar.ID, text, evaluation.DecisionAnswer))
	must(t, err)
	wantCode(t, s.unchanged(t, answerAs(s.jia, clar.ID, answer(t, s.jia, clar.ID, "再说一次", evaluation.DecisionAnswer))),
		kaiping.KindConflict, "inquiry.answered")

	// Past the deadline: nothing changes, the correction shows expired (refused for the review).
	s.Clock.Set(corr.Deadline)
	wantCode(t, s.unchanged(t, answerAs(s.jia, corr.ID, answer(t, s.jia, corr.ID, "确认", evaluation.DecisionConfirm))),
		kaiping.KindTooLate, "inquiry.deadline_passed")
	outs, err := svc.InquiryOutcomes(ctx, s.sess.ID, s.section)
	must(t, err)
	for _, o := range outs {
		if o.Inquiry == corr.ID && (o.State != "expired" || o.Answered != nil) {
			t.Errorf("the unanswered correction past its deadline: %+v", o)
		}
	}
	mine, err := svc.MyInquiries(ctx, s.jia.ID)
	must(t, err)
	for _, q := range mine {
		if q.ID == corr.ID && q.State != evaluation.InquiryExpired {
			t.Errorf("the bidder sees the correction %s", q.State)
		}
	}

	// Once the session is no longer in review (here voided), the chair sends nothing more,
	// and the bidders' answers are no longer taken.
	open := s.mustSend(t, svc, s.yi, evaluation.InquiryBelowCost)
	_, err = svc.Void(ctx, s.Actor(s.Host), s.sess.ID, evaluation.ReasonRequest{Reason: "评标委员会无法继续评审"})
	must(t, err)
	wantCode(t, s.unchanged(t, answerAs(s.yi, open.ID, answer(t, s.yi, open.ID, "说明如下。", evaluation.DecisionAnswer))),
		kaiping.KindConflict, "inquiry.state")
	wantCode(t, s.unchanged(t, send(s.chair, func(r *evaluation.InquiryRequest) { r.Deadline = s.Clock.Now().Add(time.Hour) })),
		kaiping.KindConflict, "inquiry.state")
}

// TestInquiryApproval: where the centre requires it, a request waits for a supervisor of the
// tender: the bidder neither sees nor can answer it until approved; a refusal (with its
// reason) means it never goes out. A supervisor of another tender is refused by the route.
func TestInquiryApproval(t *testing.T) {
	s := mustInquiryScene(t)
	ctx := context.Background()
	cfg := evaluation.DefaultConfig
	cfg.InquiryApproval = true
	svc := evaluation.NewService(s.Store, s.Notices, s.Clock, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	svc.ReadBidsFrom(evaltest.OpenedList{s.section: {{ID: kaiping.NewID(), Section: s.section, Bidder: s.jia.ID, BidderName: s.jia.Name}}})
	a := mustAPI(t, s.scene)

	q := s.mustSend(t, svc, s.jia, evaluation.InquiryClarification)
	no := s.mustSend(t, svc, s.jia, evaluation.InquiryBelowCost)
	late := s.mustSend(t, svc, s.jia, evaluation.InquiryCorrection)
	if q.State != evaluation.InquiryPending || q.SentAt != nil {
		t.Fatalf("with approval required the request is %s", q.State)
	}
	mine, err := svc.MyInquiries(ctx, s.jia.ID)
	must(t, err)
	if len(mine) != 0 {
		t.Errorf("the bidder sees %d requests not yet approved", len(mine))
	}
	wantCode(t, s.unchanged(t, func() error {
		_, err := svc.AnswerInquiry(ctx, s.Actor(s.jia.Principal), q.ID, answer(t, s.jia, q.ID, "说明", evaluation.DecisionAnswer))
		return err
	}), kaiping.KindNotFound, "inquiry.not_found")
	outs, err := svc.InquiryOutcomes(ctx, s.sess.ID, s.section)
	must(t, err)
	if len(outs) != 3 || outs[0].State != "pending" {
		t.Errorf("outcomes before approval %+v", outs)
	}

	// A supervisor of another tender is refused at the route; so is a refusal without reason.
	other := s.Principal(t, "另一项目监督员", "某市住房和城乡建设局", kaiping.RoleSupervisor)
	otherTender := s.Tender(t, "KF-2026-099", "开封市第二中学")
	s.Assign(t, otherTender.ID, other, kaiping.DutySupervisor)
	err = a.as(other).Do(ctx, http.MethodPost, "/api/v1/inquiries/"+string(q.ID)+"/approve", nil, nil)
	if !hasCode(err, http.StatusForbidden, "tender.not_assigned") {
		t.Errorf("a supervisor of another tender approves: %v", err)
	}
	err = a.as(s.Supervisor).Do(ctx, http.MethodPost, "/api/v1/inquiries/"+string(no.ID)+"/refuse", evaluation.InquiryReviewRequest{}, nil)
	if !hasCode(err, http.StatusBadRequest, "inquiry.reason") {
		t.Errorf("a refusal without reason: %v", err)
	}
	if got := s.inquiryState(t, q.ID); !strings.Contains(got, `"state":"pending"`) || strings.Contains(got, `"review"`) {
		t.Errorf("after the refused attempts the request is %s", got)
	}

	// The tender's supervisor approves one (it goes out) and refuses another.
	var approved evaluation.Inquiry
	must(t, a.as(s.Supervisor).Do(ctx, http.MethodPost, "/api/v1/inquiries/"+string(q.ID)+"/approve", nil, &approved))
	if approved.State != evaluation.InquirySent || approved.SentAt == nil || approved.Review == nil || approved.Review.By != s.Supervisor.ID {
		t.Errorf("approved: %+v", approved)
	}
	var refused evaluation.Inquiry
	must(t, a.as(s.Supervisor).Do(ctx, http.MethodPost, "/api/v1/inquiries/"+string(no.ID)+"/refuse",
		evaluation.InquiryReviewRequest{Reason: "问题带有引导性，请重新表述"}, &refused))
	if refused.State != evaluation.InquiryWithdrawn || refused.SentAt != nil || refused.Review.Reason == "" {
		t.Errorf("refused: %+v", refused)
	}
	err = a.as(s.Supervisor).Do(ctx, http.MethodPost, "/api/v1/inquiries/"+string(q.ID)+"/approve", nil, nil)
	if !hasCode(err, http.StatusConflict, "inquiry.not_pending") {
		t.Errorf("approved twice: %v", err)
	}
	mine, err = svc.MyInquiries(ctx, s.jia.ID)
	must(t, err)
	if len(mine) != 1 || mine[0].ID != q.ID {
		t.Errorf("the bidder sees %+v, want the approved request only", mine)
	}
	_, err = svc.AnswerInquiry(ctx, s.Actor(s.jia.Principal), q.ID, answer(t, s.jia, q.ID, "说明如下。", evaluation.DecisionAnswer))
	must(t, err)

	// Approved after its deadline: refused, nothing changes, and it never went out.
	s.Clock.Set(late.Deadline)
	wantCode(t, s.unchanged(t, func() error { _, err := svc.ApproveInquiry(ctx, s.Actor(s.Supervisor), late.ID); return err }),
		kaiping.KindTooLate, "inquiry.deadline_passed")
	outs, err = svc.InquiryOutcomes(ctx, s.sess.ID, s.section)
	must(t, err)
	states := map[kaiping.ID]string{}
	for _, o := range outs {
		states[o.Inquiry] = o.State
	}
	if states[q.ID] != "answered" || states[no.ID] != "withdrawn" || states[late.ID] != "withdrawn" {
		t.Errorf("outcomes %v", states)
	}

	// The events: requested, approved, refused by the supervisor, answered.
	evs, err := svc.SessionEvents(ctx, s.sess.ID, 0, evaluation.SessionReader{Member: s.member.ID, Group: "G1"}, 1000)
	must(t, err)
	var got []string
	for _, e := range evs {
		if strings.HasPrefix(e.Type, "inquiry.") {
			got = append(got, e.Type)
		}
	}
	if !slices.Equal(got, []string{"inquiry.requested", "inquiry.requested", "inquiry.requested", "inquiry.approved",
		"inquiry.refused_by_supervisor", "inquiry.answered"}) {
		t.Errorf("events %v", got)
	}
}

// TestInquiryRoutes: a bidder has no route to start a clarification (the committee may not
// accept one it did not ask for); answering another bidder's request answers as if it did
// not exist; the bidder's list names no member; the committee's list is its group's.
func TestInquiryRoutes(t *testing.T) {
	s := mustInquiryScene(t)
	ctx := context.Background()
	a := mustAPI(t, s.scene)
	q := s.mustSend(t, s.Service, s.jia, evaluation.InquiryClarification)
	path := "/api/v1/expert/sessions/" + string(s.sess.ID) + "/inquiries"

	err := a.as(s.jia.Principal).Do(ctx, http.MethodPost, path, s.request(s.jia, evaluation.InquiryClarification), nil)
	if !hasCode(err, http.StatusForbidden, "auth.role_forbidden") {
		t.Errorf("a bidder starts a clarification: %v", err)
	}
	err = a.as(s.yi.Principal).Do(ctx, http.MethodPost, "/api/v1/bidder/inquiries/"+string(q.ID)+"/answer",
		answer(t, s.yi, q.ID, "我来回答", evaluation.DecisionAnswer), nil)
	if !hasCode(err, http.StatusNotFound, "inquiry.not_found") {
		t.Errorf("another bidder answers: %v", err)
	}
	err = a.as(s.yi.Principal).Do(ctx, http.MethodPost, "/api/v1/bidder/inquiries/"+string(kaiping.NewID())+"/answer",
		answer(t, s.yi, q.ID, "我来回答", evaluation.DecisionAnswer), nil)
	if !hasCode(err, http.StatusNotFound, "inquiry.not_found") {
		t.Errorf("an unknown inquiry: %v", err)
	}
	if got := s.inquiryState(t, q.ID); !strings.Contains(got, `"state":"sent"`) || strings.Contains(got, `"answer"`) {
		t.Errorf("after the refused answers: %s", got)
	}

	// The chair sends through the route; a member lists the group's requests.
	var sent evaluation.Inquiry
	must(t, a.as(s.logins[s.chair.ID].Principal).Do(ctx, http.MethodPost, path, s.request(s.yi, evaluation.InquiryBelowCost), &sent))
	var list struct{ Inquiries []evaluation.Inquiry }
	must(t, a.as(s.logins[s.member.ID].Principal).Do(ctx, http.MethodGet, path, nil, &list))
	if len(list.Inquiries) != 2 || list.Inquiries[1].ID != sent.ID {
		t.Errorf("the group lists %+v", list.Inquiries)
	}
	err = a.as(s.stranger(t).Principal).Do(ctx, http.MethodGet, path, nil, nil)
	if !hasCode(err, http.StatusForbidden, "session.not_member") {
		t.Errorf("an expert off the committee lists: %v", err)
	}
	must(t, a.as(s.Supervisor).Do(ctx, http.MethodGet, "/api/v1/sessions/"+string(s.sess.ID)+"/inquiries", nil, &list))
	if len(list.Inquiries) != 2 {
		t.Errorf("the supervisor lists %d", len(list.Inquiries))
	}

	// The members read the group's events through their own route; the venue staff do not.
	var evs struct{ Events []evaluation.SessionEvent }
	must(t, a.as(s.logins[s.member.ID].Principal).Do(ctx, http.MethodGet, "/api/v1/expert/sessions/"+string(s.sess.ID)+"/events", nil, &evs))
	if n := countType(evs.Events, evaluation.ActionInquirySent); n != 2 {
		t.Errorf("a member reads %d inquiry.sent events through the route, want 2", n)
	}
	must(t, a.as(s.staff[s.kf.ID]).Do(ctx, http.MethodGet, "/api/v1/venue/sessions/"+string(s.sess.ID)+"/events", nil, &evs))
	if n := countType(evs.Events, evaluation.ActionInquirySent); n != 0 || len(evs.Events) == 0 {
		t.Errorf("the host venue's staff read %d inquiry events of %d", n, len(evs.Events))
	}

	// A member who left (and was replaced) reads no more of them.
	_, err = s.Service.RemoveMember(ctx, s.Actor(s.Host), s.sess.ID, s.member.ID, "擅离职守超过宽限时间")
	must(t, err)
	_, err = s.Service.GroupInquiries(ctx, s.logins[s.member.ID].ID, s.sess.ID)
	wantCode(t, err, kaiping.KindForbidden, "session.member_replaced")

	// The bidder's list, as it travels: no member, no chair.
	status, body := a.get(t, s.jia.Principal, "/api/v1/bidder/inquiries")
	if status != http.StatusOK || !strings.Contains(string(body), string(q.ID)) || !strings.Contains(string(body), "评标委员会") {
		t.Fatalf("the bidder's list: %d %s", status, body)
	}
	for _, m := range s.sess.Members {
		if strings.Contains(string(body), string(m.ID)) || strings.Contains(string(body), m.Name) {
			t.Errorf("the bidder's list names member %s: %s", m.Name, body)
		}
	}
	if strings.Contains(string(body), "asked_by") || strings.Contains(string(body), string(sent.ID)) {
		t.Errorf("the bidder's list holds who asked or another bidder's request: %s", body)
	}
}

func countType(evs []evaluation.SessionEvent, typ string) int {
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}
