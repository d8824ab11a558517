package demo

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/reviewer"
	"github.com/kaiping/kaiping/clients/web"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/evaluation/scoring"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/certsign"
	"github.com/kaiping/kaiping/internal/sim"
)

// demoMethod is the opening demo tender's evaluation method (综合评估法): three initial-review
// items, two subjective criteria and an objective one, and the low-price base for the price
// score; three candidates.
func demoMethod() *scoring.Method {
	return &scoring.Method{Kind: scoring.KindComprehensive,
		Review: []scoring.ReviewItem{{Code: "form", Name: "投标函签字盖章", Stage: scoring.StageForm},
			{Code: "licence", Name: "施工总承包资质", Stage: scoring.StageQualification},
			{Code: "period", Name: "工期响应", Stage: scoring.StageResponsiveness}},
		Criteria: []scoring.Group{{Code: "tech", Name: "技术部分", Items: []scoring.Item{
			{Code: "plan", Name: "施工组织设计", Max: 3000},
			{Code: "team", Name: "项目管理机构", Max: 1000},
			{Code: "record", Name: "类似工程业绩", Max: 1000, Objective: true}}}},
		Price:      &scoring.PriceRule{Rule: scoring.PriceLowBase, Max: 5000},
		Candidates: 3}
}

// demoReview takes the session on from the start of review to a signed report and the
// publication of the candidates, each step by who takes it: the host enters the ceiling;
// every member judges and scores bid by bid (one member's objective score differs, the
// chair hands the sheet back and it is corrected); the chair asks one bidder a written
// clarification, which the bidder answers and signs; the chair settles the warnings and
// summarises; every member signs the report (one with a dissent); the host closes the session
// and publishes the candidates.
func demoReview(ctx context.Context, base string, o *demoOpened, c *demoCommittee, sess evaluation.Session, say func(string, ...any)) error {
	mt := c.meeting
	host := c.host.Client
	sec := sess.Groups[0].Sections[0]
	id := string(sess.ID)
	members := sitting(sess)
	chairID := sess.Groups[0].Chair
	var chair evaluation.SessionMember
	for _, m := range members {
		if m.ID == chairID {
			chair = m
		}
	}
	client := func(m evaluation.SessionMember) *sim.Party { return mt.members[m.Principal] }
	rp := "/api/v1/expert/sessions/" + id + "/sections/" + string(sec.ID) + "/review"
	chairDo := func(path string, in, out any) error {
		return client(chair).Client.Do(ctx, http.MethodPost, rp+path, in, out)
	}

	if err := host.Do(ctx, http.MethodPut, "/api/v1/sessions/"+id+"/sections/"+string(sec.ID)+"/review/facts",
		evaluation.FactsRequest{Ceiling: 340_000_000}, nil); err != nil {
		return fmt.Errorf("enter the ceiling: %w", err)
	}
	say("主持人录入最高投标限价 3,400,000.00 元（招标文件载明）")

	// 初步评审: one member finds a bidder's licence wanting; a majority passes it.
	for i, m := range members {
		var marks []evaluation.Mark
		for j, b := range o.bidders {
			for _, item := range []string{"form", "licence", "period"} {
				mk := evaluation.Mark{Bidder: b.ID, Item: item, Value: 1}
				if i == 0 && j == 2 && item == "licence" {
					mk.Value, mk.Reason = 0, "资质证书副本扫描件模糊，无法辨认有效期"
				}
				marks = append(marks, mk)
			}
		}
		if err := mt.marks(ctx, client(m), rp, evaluation.ReviewInitial, marks); err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
	}
	if err := chairDo("/conclude-initial", nil, nil); err != nil {
		return fmt.Errorf("conclude the initial review: %w", err)
	}
	say("初步评审：%d 名成员逐项判定 %d 份投标的形式、资格、响应性并提交；%s 对 %s 的资质判不合格（写明理由），未过半数，组长结束初步评审，%d 份投标进入详细评审",
		len(members), len(o.bidders), members[0].Name, o.bidders[2].Name, len(o.bidders))

	// 澄清: the chair asks in writing; the bidder answers and signs; it never learns who asked.
	asked := o.bidders[3]
	var q evaluation.Inquiry
	if err := client(chair).Client.Do(ctx, http.MethodPost, "/api/v1/expert/sessions/"+id+"/inquiries", evaluation.InquiryRequest{
		Section: sec.ID, Bidder: asked.ID, Kind: evaluation.InquiryClarification, Deadline: time.Now().Add(30 * time.Minute),
		Question: "请澄清投标文件第 12 页施工进度计划中照明安装工期（45 日历天）与第 30 页横道图（60 日历天）不一致之处。",
	}, &q); err != nil {
		return fmt.Errorf("the chair asks a clarification: %w", err)
	}
	text := "以第 12 页所述 45 日历天为准，第 30 页横道图系排版时误用旧版，特此澄清，不改变投标文件的实质内容。"
	sig, err := certsign.Sign(asked.Cert.Key, evaluation.InquiryAnswerMessage(q.ID, evaluation.TextDigest(text), evaluation.DecisionAnswer))
	if err != nil {
		return err
	}
	if err := asked.Client.Do(ctx, http.MethodPost, "/api/v1/bidder/inquiries/"+string(q.ID)+"/answer", evaluation.AnswerRequest{
		Text: text, Decision: evaluation.DecisionAnswer, Certificate: identity.Fingerprint(asked.Cert.Cert.Raw), Signature: sig}, nil); err != nil {
		return fmt.Errorf("%s answers: %w", asked.Name, err)
	}
	say("澄清：组长代表评标委员会向 %s 发出书面澄清（投标人看不到提问的评委）；%s 在期限内书面答复并以数字证书签名", asked.Name, asked.Name)

	// 详细评审: each member scores every bid; one gives a different objective score.
	odd := members[1]
	score := func(m evaluation.SessionMember, i int, fixed bool) []evaluation.Mark {
		var marks []evaluation.Mark
		for j, b := range o.bidders {
			record := int64(800)
			if m.ID == odd.ID && j == 0 && !fixed {
				record = 600
			}
			page := 12 + j
			marks = append(marks,
				evaluation.Mark{Bidder: b.ID, Item: "plan", Value: 2200 + int64((i*37+j*53)%500), Page: &page},
				evaluation.Mark{Bidder: b.ID, Item: "team", Value: 700 + int64((i*11+j*29)%200)},
				evaluation.Mark{Bidder: b.ID, Item: "record", Value: record})
		}
		return marks
	}
	for i, m := range members {
		if err := mt.marks(ctx, client(m), rp, evaluation.ReviewDetailed, score(m, i, false)); err != nil {
			return fmt.Errorf("%s scores: %w", m.Name, err)
		}
	}
	var view evaluation.ReviewView
	if err := client(chair).Client.Do(ctx, http.MethodGet, rp, nil, &view); err != nil {
		return err
	}
	hard, soft := countWarnings(view)
	say("详细评审：%d 名成员逐份逐项打分（评分可引用投标文件页码）并提交；汇总前提示 %d 项须纠正的问题、%d 项须书面说明的提示", len(members), hard, soft)
	if hard > 0 {
		oi := 0
		for i, m := range members {
			if m.ID == odd.ID {
				oi = i
			}
		}
		if err := chairDo("/sheets/reopen", evaluation.ReopenSheetRequest{Member: odd.ID, Stage: evaluation.ReviewDetailed,
			Reason: "客观分“类似工程业绩”与其他成员不一致，请核对"}, nil); err != nil {
			return fmt.Errorf("hand the sheet back: %w", err)
		}
		if err := mt.marks(ctx, client(odd), rp, evaluation.ReviewDetailed, score(odd, oi, true)); err != nil {
			return fmt.Errorf("%s corrects: %w", odd.Name, err)
		}
		say("  客观分不一致：组长将 %s 的评分表退回，%s 核对后更正并重新提交", odd.Name, odd.Name)
	}
	if err := client(chair).Client.Do(ctx, http.MethodGet, rp, nil, &view); err != nil {
		return err
	}
	if view.Outcome == nil {
		return fmt.Errorf("no outcome to summarise: %s", view.Pending)
	}
	for _, w := range view.Outcome.Warnings {
		if w.Hard {
			return fmt.Errorf("a hard warning is still open: %s", w.Message)
		}
		if w.Note == nil {
			if err := chairDo("/notes", evaluation.NoteRequest{Key: w.Key, Text: "评标委员会已逐项核实，评分依据充分"}, nil); err != nil {
				return fmt.Errorf("note a warning: %w", err)
			}
			say("  提示：%s —— 评标委员会书面说明", w.Message)
		}
	}
	var rev evaluation.Review
	if err := chairDo("/summary", nil, &rev); err != nil {
		return fmt.Errorf("summarise: %w", err)
	}
	say("组长汇总：排名与中标候选人由平台按招标文件的评标办法计算（可由审计日志复算）")
	names := map[string]string{}
	for _, b := range o.bidders {
		names[string(b.ID)] = b.Name
	}
	for i, cand := range rev.Summary.Result.Candidates {
		for _, bo := range rev.Summary.Result.Bids {
			if bo.Bidder == cand {
				say("  第 %d 名中标候选人 %s：总分 %.2f（价格分 %.2f）", i+1, names[cand], float64(bo.Total)/100, float64(bo.PriceScore)/100)
			}
		}
	}

	// 签署评标报告.
	sp := "/api/v1/sessions/" + id
	if err := host.Do(ctx, http.MethodPost, sp+"/signing", nil, nil); err != nil {
		return fmt.Errorf("start signing: %w", err)
	}
	var stored evaluation.StoredReport
	if err := host.Do(ctx, http.MethodPost, sp+"/report", nil, &stored); err != nil {
		return fmt.Errorf("build the report: %w", err)
	}
	say("主持人生成评标报告（十部分及签字页，JSON 正本摘要 %.16s…，中文 PDF）", stored.Digest)
	pdfs, sm2s := 0, 0
	for i, m := range members {
		dissent := ""
		if i == len(members)-1 {
			dissent = "本人对第三名的施工组织设计评分持保留意见，认为其进度计划风险评估不足"
		}
		inPDF, err := signReport(ctx, client(m), sess.ID, dissent)
		if err != nil {
			return fmt.Errorf("%s signs the report: %w", m.Name, err)
		}
		if inPDF {
			pdfs++
		} else {
			sm2s++
		}
	}
	say("  %d 名成员以本人证书签署报告摘要：%d 份签名嵌入 PDF（RSA/ECDSA，pdfsig 可验证），%d 份 SM2 签名为报告旁的 CMS 分离签名；一名成员书面说明不同意见",
		len(members), pdfs, sm2s)
	if err := host.Do(ctx, http.MethodPost, sp+"/close", nil, nil); err != nil {
		return fmt.Errorf("close the session: %w", err)
	}
	say("主持人结束评标会议：评标报告、签名与 PDF 以 15 年合规锁定归档，全部记入审计日志")

	var pubs struct{ Publications []evaluation.StaffPublication }
	if err := host.Do(ctx, http.MethodPost, sp+"/publications", evaluation.PublishRequest{Ends: time.Now().Add(73 * time.Hour)}, &pubs); err != nil {
		return fmt.Errorf("publish the candidates: %w", err)
	}
	// The period starts when the server takes it: an hour more than the minimum 3 days keeps
	// the request's own travel from making it short.
	say("主持人发布中标候选人公示（公示期不少于 3 日，投标人可在公示期内提出异议）")
	say("")
	say("评审与报告页面 / review, report and publication:")
	say("  评审与打分（组长 %s） %s", chair.Name, web.LoginLink(base, "session/review/?id="+id, client(chair).Client.Token))
	say("  澄清（投标人 %s）      %s", asked.Name, web.LoginLink(base, "inquiry/bidder.html", asked.Client.Token))
	for _, p := range pubs.Publications {
		say("  中标候选人公示（无需登录） %s/public/publication.html?id=%s", base, p.ID)
	}
	say("  评标复核 verify        go run ./cmd/kaiping evaluation verify %s --config <配置文件>", id)
	return nil
}

// marks saves and submits a member's marks of one stage.
func (mt *demoMeeting) marks(ctx context.Context, p *sim.Party, rp string, stage evaluation.ReviewStage, marks []evaluation.Mark) error {
	if err := p.Client.Do(ctx, http.MethodPut, rp+"/marks", evaluation.SaveMarksRequest{Stage: stage, Marks: marks}, nil); err != nil {
		return err
	}
	return p.Client.Do(ctx, http.MethodPost, rp+"/submissions", evaluation.StageRequest{Stage: stage}, nil)
}

func countWarnings(v evaluation.ReviewView) (hard, soft int) {
	if v.Outcome == nil {
		return 0, 0
	}
	for _, w := range v.Outcome.Warnings {
		if w.Hard {
			hard++
		} else {
			soft++
		}
	}
	return hard, soft
}

// signReport has member p sign the report with the member's tool (clients/reviewer): its
// digest with their certificate, and the PDF (RSA, ECDSA: true) or a detached CMS (SM2:
// false).
func signReport(ctx context.Context, p *sim.Party, session kaiping.ID, dissent string) (bool, error) {
	s, err := reviewer.SignReport(ctx, p.Client, p.Cert.Key, p.Cert.Cert, session, dissent)
	return !s.CMS, err
}
