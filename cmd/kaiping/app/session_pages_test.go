package app

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/web"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/identity/devpki"
)

// live waits until the page follows the session's events: the first poll is done, so the
// page no longer moves under the pointer.
func (p *page) live() {
	p.tb.Helper()
	p.waitText("#live", "实时更新中")
}

// confirmDialog clicks the confirmation dialog's confirm button once it shows want.
func (p *page) confirmDialog(want ...string) {
	p.tb.Helper()
	p.waitText("#confirm-dialog", want...)
	p.click("#confirm-dialog .dialog-ok")
	p.waitCount("#confirm-dialog", 0)
}

// TestSessionPages drives the evaluation session's pages in headless Chromium on one session
// built through the API: the host opens check-in on the console and watches the stages
// change live; the Zhengzhou venue staff confirm ZZ-02 at the seat; ZZ-02 signs the pledge in
// the page with their own ECDSA key, declares no conflict and votes; the host suspends and
// resumes; the supervisor's view shows the timeline.
func TestSessionPages(t *testing.T) {
	w := mustSessionWorld(t)
	b := mustBrowser(t)
	ctx := context.Background()
	id := string(w.sess.ID)
	zz02 := w.byCode["ZZ-02"]

	console := b.open(t, web.LoginLink(w.base, "session/console/?id="+id, w.host.Token))
	console.waitText("#facts", w.tender.Code, "待开始", "北京时间")
	console.live()
	console.waitCount("#seats tbody tr", 5)
	console.waitCount(`#seats tbody tr[data-stage="arrived"]`, 5)
	console.waitText("#seats", "王建国", "郑州市公共资源交易中心", "主场", "副场")

	t.Run("host opens check-in behind a dialog saying what it does", func(t *testing.T) {
		console.click("#step-checkin")
		console.waitText("#confirm-dialog", "开始签到", "不能撤回")
		// Cancelling changes nothing.
		console.click("#confirm-dialog .dialog-cancel")
		console.waitCount("#confirm-dialog", 0)
		if s := w.mustSession(t); s.State != evaluation.SessionScheduled {
			t.Fatalf("after cancelling the session is %s", s.State)
		}
		console.click("#step-checkin")
		console.confirmDialog("不能撤回")
		console.waitText("#facts", "签到中")
		console.waitText("#events", "开始签到")
		if s := w.mustSession(t); s.State != evaluation.SessionCheckingIn {
			t.Fatalf("after check-in on the console the session is %s", s.State)
		}
	})

	t.Run("venue staff confirm a member at the seat, and the console sees it live", func(t *testing.T) {
		pg := b.open(t, web.LoginLink(w.base, "session/venue/", w.staff.Token))
		pg.waitText("#sessions", w.tender.Code, "签到中", "2 个")
		pg.click("#sessions a.enter")
		pg.live()
		pg.waitCount("#seats tbody tr", 2)
		row := `#seats tr[data-member="` + string(zz02.ID) + `"]`
		text := pg.waitText(row, "刘洋", "ZZ-02", "郑州大学", "410105********1256", zz02.SeatCode, "待核验身份")
		if strings.Contains(text, sessionIDNumber) {
			t.Errorf("the venue page shows the whole ID number:\n%s", text)
		}
		if seats := pg.text("#seats"); strings.Contains(seats, "王建国") || strings.Contains(seats, "杨帆") {
			t.Errorf("Zhengzhou staff see another venue's seats:\n%s", seats)
		}
		pg.click(row + " button.seat-confirm")
		pg.confirmDialog("已当面核对身份证件", "410105********1256")
		pg.waitText(row, "已核验，待签署承诺书")
		pg.waitText("#seats-msg", "已核验 刘洋")
		console.waitCount(`#seats tbody tr[data-stage="confirmed"]`, 1)
		console.waitText("#events", "核验了 刘洋 的身份")
	})

	t.Run("expert signs the pledge in the page, declares no conflict and votes", func(t *testing.T) {
		pg := b.open(t, web.LoginLink(w.base, "session/?id="+id, w.memberClient(t, "ZZ-02").Token))
		pg.live()
		pg.waitText("#summary", w.tender.Code, "签到中", "第一评标小组", "郑州市公共资源交易中心", "副场")
		pg.waitText("#checkin", "身份已于", "北京时间")
		pg.waitText("#pledge-text", "评标专家承诺书")
		pg.waitText("#bids", "完成身份核验、承诺和回避声明后")

		// Keys the browser cannot use are refused here, and nothing is pledged: an SM2 key,
		// and an ECDSA key that is not the certificate's.
		sm2Key, _ := keyFiles(t, w.certs["KF-01"])
		_, crt := keyFiles(t, w.certs["ZZ-02"])
		pg.upload("#pledge-key", sm2Key)
		pg.upload("#pledge-cert", crt)
		pg.click("#pledge-sign")
		pg.waitText("#pledge-msg", "浏览器只能使用 ECDSA P-256 私钥签名")
		other, err := w.setup.CA.Issue(devpki.ECDSA, "他人", "测试单位", w.clock.Now().Add(-1e9), w.clock.Now().AddDate(1, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		otherKey, _ := keyFiles(t, other)
		pg.upload("#pledge-key", otherKey)
		pg.click("#pledge-sign")
		pg.waitText("#pledge-msg", "私钥与证书不匹配")
		if m := memberOf(t, w.mustSession(t), zz02.ID); m.Pledge != nil {
			t.Fatalf("a refused signature pledged: %+v", m.Pledge)
		}

		key, _ := keyFiles(t, w.certs["ZZ-02"])
		pg.upload("#pledge-key", key)
		pg.click("#pledge-sign")
		pg.waitText("#pledge", "您已于", "签署评标承诺书")
		m := memberOf(t, w.mustSession(t), zz02.ID)
		if m.Pledge == nil || m.Pledge.Digest != evaluation.PledgeDigest() {
			t.Fatalf("after signing on the page the member's pledge is %+v", m.Pledge)
		}
		if text := pg.text("main"); strings.Contains(text, evaluation.PledgeDigest()) || strings.Contains(text, m.Pledge.Certificate) {
			t.Errorf("the seat page shows a digest or fingerprint to the expert")
		}

		// Declaring a conflict asks first, saying it takes the member off at once;
		// cancelling declares nothing.
		pg.click("#declare-conflict")
		pg.set("#declare-reason", "本人配偶在投标人处任职")
		pg.click("#declare-submit")
		pg.waitText("#confirm-dialog", "立即退出本次评标委员会", "不能撤回", "本人配偶在投标人处任职")
		pg.click("#confirm-dialog .dialog-cancel")
		pg.waitCount("#confirm-dialog", 0)
		if m := memberOf(t, w.mustSession(t), zz02.ID); m.Declared != nil {
			t.Fatalf("a cancelled declaration was recorded: %+v", m.Declared)
		}
		pg.click("#declare-none")
		pg.click("#declare-submit")
		pg.waitText("#declare", "声明无须回避")
		console.waitCount(`#seats tbody tr[data-stage="declared"]`, 1)

		// The reader: the tender had no bids, so its opening failed (流标) and there is nothing
		// to read; the page says so in Chinese, with the code only in the tooltip.
		msg := pg.waitText("#bids-msg", "流标", "没有可供评审的投标文件")
		if codes := pg.attrs("#bids-msg .error", "data-code"); len(codes) != 1 || codes[0] != "reading.opening_failed" ||
			strings.Contains(msg, "reading.") {
			t.Errorf("the reader's error %q has codes %v: the code belongs in the tooltip only", msg, codes)
		}

		// The others get ready through the API; the page's candidates follow live.
		for _, code := range []string{"KF-01", "KF-02", "ZZ-01", "LY-01"} {
			w.mustReady(t, code)
		}
		pg.waitCount("#vote input[name=candidate]", 5)
		chair := w.byCode["ZZ-01"]
		pg.click(`#vote input[value="` + string(chair.ID) + `"]`)
		pg.click("#vote-submit")
		pg.waitText("#vote", "您已在第 1 轮推选 张伟")
		for _, code := range []string{"KF-01", "KF-02", "ZZ-01", "LY-01"} {
			if err := w.memberClient(t, code).Do(ctx, http.MethodPost, "/api/v1/expert/sessions/"+id+"/chair-votes",
				evaluation.VoteRequest{Candidate: chair.ID}, nil); err != nil {
				t.Fatalf("%s votes: %v", code, err)
			}
		}
		pg.waitText("#vote", "本组组长：张伟")
		pg.waitText("#events", "推选 张伟 为组长")
		console.waitText("#groups", "张伟")
		console.waitCount(`#seats tbody tr[data-stage="declared"]`, 5)
		if s := w.mustSession(t); s.Groups[0].Chair != chair.ID {
			t.Fatalf("chair %s, want %s", s.Groups[0].Chair, chair.ID)
		}
	})

	t.Run("host suspends with a reason and resumes; the countdown runs to the limit", func(t *testing.T) {
		console.click("#step-suspend")
		// The reason is required: the dialog says so and stays.
		console.click("#confirm-dialog .dialog-ok")
		console.waitText("#confirm-dialog", "请填写暂停原因")
		console.set("#dialog-reason", "洛阳分会场网络中断")
		console.confirmDialog("暂停原因")
		console.waitText("#facts", "已暂停", "洛阳分会场网络中断", "须于", "剩余")
		s := w.mustSession(t)
		if s.State != evaluation.SessionSuspended || s.Suspension == nil || s.Suspension.Reason != "洛阳分会场网络中断" {
			t.Fatalf("after suspending on the console: %s %+v", s.State, s.Suspension)
		}
		console.click("#step-resume")
		console.confirmDialog("恢复")
		console.waitText("#facts", "签到中")
		console.waitText("#events", "评标会议恢复")
		if n := console.count("#suspension-countdown"); n != 0 {
			t.Errorf("after resuming the countdown is still shown")
		}
	})

	t.Run("host sends a message to one seat, which sees it and the others do not", func(t *testing.T) {
		to := w.byCode["ZZ-02"]
		console.set("#message-to", string(to.ID))
		console.set("#message-text", "请检查摄像头角度")
		console.click("#message-send")
		console.waitText("#message-msg", "已发送给该工位")
		seat := b.open(t, web.LoginLink(w.base, "session/?id="+id, w.memberClient(t, "ZZ-02").Token))
		seat.live()
		seat.waitText("#events", "主持人给您的消息：请检查摄像头角度")
		evs := struct{ Events []evaluation.SessionEvent }{}
		if err := w.memberClient(t, "LY-01").Do(ctx, http.MethodGet, "/api/v1/expert/sessions/"+id+"/events", nil, &evs); err != nil {
			t.Fatal(err)
		}
		for _, e := range evs.Events {
			if e.Type == evaluation.ActionSessionMemberMessage {
				t.Fatal("another member reads a message sent to ZZ-02")
			}
		}
	})

	t.Run("supervisor's view shows the timeline and the seats, read only", func(t *testing.T) {
		pg := b.open(t, web.LoginLink(w.base, "session/watch/?id="+id, w.supervisor.Token))
		pg.live()
		pg.waitCount("#seats tbody tr", 5)
		pg.waitText("#events", "开始签到", "核验了 刘洋 的身份", "刘洋 签署了评标承诺书", "刘洋 声明与投标人无利害关系",
			"第 1 轮推选组长：刘洋 已投票", "推选 张伟 为组长", "评标会议暂停：洛阳分会场网络中断", "评标会议恢复")
		pg.waitText("#reads", "尚无人查阅投标文件")
		if n := pg.count("main button:not(.video-start)"); n != 0 {
			t.Errorf("the supervisor's view offers %d buttons", n)
		}
		if text := pg.text("main"); strings.Contains(text, string(zz02.ID)) || strings.Contains(text, "session.") {
			t.Errorf("the supervisor's view shows raw IDs or codes:\n%s", text)
		}
	})
}

// memberOf is the member id of s.
func memberOf(tb testing.TB, s evaluation.Session, id kaiping.ID) evaluation.SessionMember {
	tb.Helper()
	for _, m := range s.Members {
		if m.ID == id {
			return m
		}
	}
	tb.Fatalf("no member %v", id)
	return evaluation.SessionMember{}
}
