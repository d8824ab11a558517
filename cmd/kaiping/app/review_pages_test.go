package app

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/web"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/evaluation/scoring"
)

// TestReviewPages drives the review in headless Chromium on one session whose bids were opened
// for real: the host enters the ceiling on the console; ZZ-02 judges the bids on the review
// page, saved as they go, is refused an incomplete submission in Chinese, submits, then scores
// the valid bids item by item (a score above the maximum refused with the server's message)
// with the bid open at the cited page; the chair's panel shows who has not submitted,
// concludes the initial review, shows the hard warnings in red and refuses the summary, hands
// a sheet back, rejects a bid on an Art 51 ground, accepts a below-cost explanation, notes the
// soft warnings, summarizes and shows the candidates, which the supervisor's view shows too.
// The other members act through the API.
func TestReviewPages(t *testing.T) {
	began := time.Now()
	rw := mustReviewWorld(t)
	t.Logf("review world built in %v", time.Since(began).Round(time.Millisecond))
	b := mustBrowser(t)
	ctx := context.Background()
	id := string(rw.sess.ID)
	a, bb, c := rw.bidders["甲公司"], rw.bidders["乙公司"], rw.bidders["丙公司"]
	initial, detailed := evaluation.ReviewInitial, evaluation.ReviewDetailed

	t.Run("the host enters the ceiling in 元 on the console", func(t *testing.T) {
		console := b.open(t, web.LoginLink(rw.base, "session/console/?id="+id, rw.host.Token))
		sec := `#reviews .review-section[data-section="` + string(rw.section) + `"]`
		console.waitText(sec, "BD1", "初步评审", "0 / 5 人", "未录入")
		console.set(sec+" input.facts-ceiling", "1,200,000.50")
		console.click(sec + " button.facts-save")
		console.waitText("#reviews-msg", "已保存 BD1 的评审数据")
		console.waitText(sec, "1,200,000.50 元")
		if v := rw.view(t, "ZZ-02"); v.Review.Ceiling != 120_000_050 {
			t.Fatalf("the ceiling entered as 1,200,000.50 元 is %d fen", v.Review.Ceiling)
		}
	})

	seat := b.open(t, web.LoginLink(rw.base, "session/?id="+id, rw.memberClient(t, "ZZ-02").Token))
	seat.waitText("#summary", "评审中", "进入评审与打分")
	if hrefs := seat.attrs("#review-link", "href"); len(hrefs) != 1 || !strings.Contains(hrefs[0], "/session/review/?id="+id) {
		t.Fatalf("the seat's review link is %v", hrefs)
	}

	pg := b.open(t, web.LoginLink(rw.base, "session/review/?id="+id, rw.memberClient(t, "ZZ-02").Token))
	pg.live()
	pg.waitCount("#initial tbody tr", 3)
	pg.waitText("#review-facts", "综合评估法", "初步评审", "0 / 5 人", "1,200,000.50 元")
	cell := func(bidder kaiping.ID, item string) string {
		return `#initial td[data-bidder="` + string(bidder) + `"][data-item="` + item + `"]`
	}

	t.Run("a member's verdicts are saved as they go; an incomplete sheet is refused in Chinese", func(t *testing.T) {
		pg.click(cell(a, "form") + ` input[value="1"]`)
		pg.waitText("#save-state", "已保存")
		// A fail waits for its reason, then saves with it.
		pg.click(cell(bb, "licence") + ` input[value="0"]`)
		pg.waitText("#save-state", "判定不合格须填写理由")
		pg.set(cell(bb, "licence")+" input.reason", "资质证书已过期")
		pg.waitText("#save-state", "已保存")
		v := rw.view(t, "ZZ-02")
		if len(v.Marks) != 2 || !slices.ContainsFunc(v.Marks, func(m evaluation.Mark) bool {
			return m.Bidder == bb && m.Item == "licence" && m.Value == 0 && m.Reason == "资质证书已过期"
		}) {
			t.Fatalf("after two verdicts on the page the member's marks are %+v", v.Marks)
		}

		pg.click("#submit")
		pg.confirmDialog("不能再修改")
		msg := pg.waitText("#submit-msg", "尚有 4 项未给出初步评审结论，不能提交")
		if codes := pg.attrs("#submit-msg .error", "data-code"); len(codes) != 1 || codes[0] != "review.incomplete" || strings.Contains(msg, "review.") {
			t.Errorf("the refusal %q has codes %v: review.incomplete belongs in the tooltip only", msg, codes)
		}
		if v := rw.view(t, "ZZ-02"); len(v.Submitted) != 0 {
			t.Fatalf("a refused submission left %v submitted", v.Submitted)
		}

		for _, x := range []struct {
			bidder kaiping.ID
			item   string
		}{{a, "licence"}, {bb, "form"}, {c, "form"}, {c, "licence"}} {
			pg.click(cell(x.bidder, x.item) + ` input[value="1"]`)
		}
		pg.waitText("#save-state", "已保存")
		pg.click("#submit")
		pg.confirmDialog("不能再修改")
		pg.waitText("#submit-msg", "已提交初步评审结果")
		pg.waitText("#sheet", "您已提交初步评审结论")
		if n := pg.count("#initial input:not([disabled])"); n != 0 {
			t.Errorf("after submitting, %d inputs of the grid are still editable", n)
		}
		if v := rw.view(t, "ZZ-02"); !slices.Equal(v.Submitted, []evaluation.ReviewStage{initial}) || len(v.Marks) != 6 {
			t.Fatalf("after submitting on the page: submitted %v, %d marks", v.Submitted, len(v.Marks))
		}
	})

	// 乙 fails its licence with three of five: it is not valid.
	rw.mustMark(t, "KF-01", initial, rw.verdicts("乙公司"))
	rw.mustMark(t, "KF-02", initial, rw.verdicts("乙公司"))
	chair := b.open(t, web.LoginLink(rw.base, "session/review/?id="+id, rw.memberClient(t, reviewChair).Token))
	chair.live()

	t.Run("the chair sees who has not submitted and concludes once all have", func(t *testing.T) {
		chair.waitText("#awaiting", "尚未提交", "张伟", "杨帆")
		chair.click("#conclude")
		chair.confirmDialog("不能撤回")
		chair.waitText("#chair-msg", "尚有评委未提交初步评审结论")
		if v := rw.view(t, reviewChair); v.Review.Stage != initial {
			t.Fatalf("a refused conclusion left the stage %s", v.Review.Stage)
		}
		rw.mustMark(t, reviewChair, initial, rw.verdicts())
		rw.mustMark(t, "LY-01", initial, rw.verdicts())
		chair.click("#refresh")
		chair.waitText("#awaiting", "全部成员已提交初步评审结果")
		chair.click("#conclude")
		chair.confirmDialog("不能撤回")
		chair.waitText("#chair-msg", "初步评审已结束")
		if v := rw.view(t, reviewChair); v.Review.Stage != detailed {
			t.Fatalf("after concluding on the page the stage is %s", v.Review.Stage)
		}
	})

	sheet := func(bidder kaiping.ID, item string) string {
		return `.bid-sheet[data-bidder="` + string(bidder) + `"] tr[data-item="` + item + `"]`
	}
	t.Run("the member scores the valid bids item by item with the bid open at the cited page", func(t *testing.T) {
		// The member's page follows the conclusion live: 乙 is greyed out and not scorable.
		pg.waitCount(".bid-tab", 3)
		pg.waitCount(".bid-tab.invalid", 1)
		if got := pg.attrs(".bid-tab.invalid", "data-bidder"); got[0] != string(bb) {
			t.Fatalf("the greyed bid is %v, want 乙", got)
		}
		if n := pg.count(`.bid-sheet[data-bidder="` + string(bb) + `"] input.score`); n != 0 {
			t.Fatalf("乙, not valid, has %d score fields", n)
		}
		pg.waitText(sheet(a, "record"), "类似业绩", "客观分", "10")
		pg.waitText(sheet(a, "plan"), "施工方案", "主观分", "30")
		pg.click(`.bid-tab[data-bidder="` + string(a) + `"]`)
		pg.waitText("#reader-bidder", "甲公司")
		// A score above the item's maximum: the server's refusal shows in Chinese, its code
		// in the tooltip, and nothing is stored.
		pg.set(sheet(a, "plan")+" input.score", "35")
		msg := pg.waitText("#save-state", "保存失败", "甲公司 的评分项“施工方案”分值须在 0 至 30 分之间")
		if titles := pg.attrs("#save-state", "title"); len(titles) != 1 || titles[0] != "错误代码：review.out_of_range" || strings.Contains(msg, "review.") {
			t.Errorf("the refused save shows %q with tooltip %v", msg, titles)
		}
		if v := rw.view(t, "ZZ-02"); slices.ContainsFunc(v.Marks, func(m evaluation.Mark) bool { return m.Item == "plan" }) {
			t.Fatalf("a refused score was stored: %+v", v.Marks)
		}
		pg.set(sheet(a, "plan")+" input.score", "25.5")
		pg.set(sheet(a, "plan")+" input.page", "3")
		waitAttr(t, pg, "#bid-frame", "src", "#page=3")
		pg.set(sheet(a, "record")+" input.score", "8")
		pg.click(`.bid-tab[data-bidder="` + string(c) + `"]`)
		pg.waitText("#reader-bidder", "丙公司")
		pg.set(sheet(c, "plan")+" input.score", "24")
		pg.set(sheet(c, "record")+" input.score", "8")
		pg.waitText("#save-state", "已保存")
		pg.click("#submit")
		pg.confirmDialog("不能再修改")
		pg.waitText("#submit-msg", "已提交详细评审结果")
		v := rw.view(t, "ZZ-02")
		var got []evaluation.Mark
		for _, m := range v.Marks {
			if m.Item == "plan" || m.Item == "record" {
				got = append(got, m)
			}
		}
		if len(got) != 4 || !slices.ContainsFunc(got, func(m evaluation.Mark) bool {
			return m.Bidder == a && m.Item == "plan" && m.Value == 2550 && m.Page != nil && *m.Page == 3
		}) || !slices.Contains(v.Submitted, detailed) {
			t.Fatalf("after scoring on the page: %+v, submitted %v", got, v.Submitted)
		}
	})

	// The others score; LY-01 gives 甲's objective item a different score.
	for _, code := range []string{"KF-01", "KF-02", reviewChair, "LY-01"} {
		marks := rw.scores(2400, 800, "甲公司", "丙公司")
		if code == "LY-01" {
			marks[1].Value = 600
		}
		rw.mustMark(t, code, detailed, marks)
	}

	t.Run("the chair's panel shows the hard warnings, and after the fixes summarizes and shows the candidates", func(t *testing.T) {
		chair.click("#refresh")
		chair.waitCount("#warnings li.warning.hard", 2)
		hard := chair.attrs("#warnings li.warning.hard", "data-code")
		slices.Sort(hard)
		if !slices.Equal(hard, []string{evaluation.CodeBelowCostUndecided, scoring.CodeObjectiveDiffers}) {
			t.Fatalf("hard warnings %v", hard)
		}
		chair.waitText("#warnings", "须纠正")
		chair.click("#summarize")
		chair.confirmDialog("汇总")
		chair.waitText("#chair-msg", "以下问题须先纠正，才能汇总")
		if v := rw.view(t, reviewChair); v.Review.Summary != nil {
			t.Fatal("a refused summary was recorded")
		}

		// The odd sheet goes back; its member fixes it.
		chair.set("#handback-member", string(rw.byCode["LY-01"].ID))
		chair.set("#handback-stage", "detailed")
		chair.set("#handback-reason", "客观分与其他成员不一致")
		chair.click("#handback-submit")
		chair.waitText("#handback-msg", "已退回 杨帆 的评审表（详细评审）")
		rw.mustMark(t, "LY-01", detailed, []evaluation.Mark{{Bidder: a, Item: "record", Value: 800}})

		// decide enters the committee's decision of kind on bidder in the chair's form.
		decide := func(bidder kaiping.ID, kind, text, dialog string) {
			chair.set("#decision-bidder", string(bidder))
			chair.set("#decision-kind", kind)
			chair.set("#decision-text", text)
			chair.click("#decision-submit")
			chair.confirmDialog(dialog)
		}
		// A 否决 needs its Art 51 ground: refused without, recorded with one chosen from the list.
		decide(bb, evaluation.DecisionReject, "资质证书已过期", "否决投标")
		chair.waitText("#decision-msg", "否决投标须选择《招标投标法实施条例》第五十一条规定的情形之一")
		if v := rw.view(t, reviewChair); len(v.Review.Decisions) != 0 {
			t.Fatalf("a refused 否决 was recorded: %+v", v.Review.Decisions)
		}
		chair.set("#decision-reason", "qualification")
		chair.click("#decision-submit")
		chair.confirmDialog("否决投标")
		chair.waitText("#decisions", "乙公司", "否决投标", "条例第五十一条：投标人不符合国家或者招标文件规定的资格条件")

		// The committee accepts 丙's written explanation of its price.
		decide(c, evaluation.DecisionCostExplained, "丙公司书面说明其自有设备与材料库存，评标委员会认为说明合理", "接受低于成本的书面说明")
		chair.waitText("#decision-msg", "已记录：丙公司")
		chair.waitText("#decisions", "丙公司", "接受低于成本的书面说明")
		chair.click("#refresh")
		chair.waitCount("#warnings li.warning.hard", 0)

		// Each soft warning left gets the committee's note.
		for n := chair.count("#warnings li.warning.soft .note-text"); n > 0; n-- {
			chair.set("#warnings li.warning.soft .note-text", "评标委员会已核实")
			chair.click("#warnings li.warning.soft .note-submit")
			chair.waitCount("#warnings li.warning.soft .note-text", n-1)
		}
		chair.click("#summarize")
		chair.confirmDialog("汇总")
		chair.waitText("#chair-msg", "已汇总")
		chair.waitText("#result-title", "汇总结果")
		chair.waitCount("#result-table tr.candidate", 2)
		chair.waitText(`#result-table tr[data-bidder="`+string(c)+`"]`, "丙公司", "600,000.00", "第一中标候选人")
		chair.waitText(`#result-table tr[data-bidder="`+string(a)+`"]`, "甲公司", "第二中标候选人")
		chair.waitText(`#result-table tr[data-bidder="`+string(bb)+`"]`, "已否决")
		v := rw.view(t, reviewChair)
		if v.Review.Summary == nil || !slices.Equal(v.Review.Summary.Result.Candidates, []string{string(c), string(a)}) {
			t.Fatalf("after summarizing on the page: %+v", v.Review.Summary)
		}
		pg.waitText("#result-title", "汇总结果")

		// The supervisor's view follows, read only.
		watch := b.open(t, web.LoginLink(rw.base, "session/watch/?id="+id, rw.supervisor.Token))
		watch.waitText("#reviews", "BD1", "已汇总", "丙公司、甲公司", "1,200,000.50 元")
		if n := watch.count("#reviews button, #reviews input"); n != 0 {
			t.Errorf("the supervisor's view of the reviews offers %d controls", n)
		}
	})

	var sess evaluation.Session
	if err := rw.host.Do(ctx, http.MethodGet, "/api/v1/sessions/"+id, nil, &sess); err != nil || sess.State != evaluation.SessionInReview {
		t.Fatalf("the session after the review: %s %v", sess.State, err)
	}
	t.Logf("TestReviewPages ran in %v", time.Since(began).Round(time.Millisecond))
}

// waitAttr waits until attribute name of the element matching sel contains want.
func waitAttr(tb testing.TB, p *page, sel, name, want string) {
	tb.Helper()
	deadline := time.Now().Add(pageTimeout)
	for {
		got := p.attrs(sel, name)
		if len(got) == 1 && strings.Contains(got[0], want) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("waited %v for %s's %s to contain %q; it is %v", pageTimeout, sel, name, want, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
