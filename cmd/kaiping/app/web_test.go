package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/web"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/notice"
	"github.com/kaiping/kaiping/opening"
)

// evalTenderer is the tenderer of the page test's tender; one expert of the pool works for it.
const evalTenderer = "开封市城市建设投资有限公司"

// evalPool is the page test's pool: for quotas A01×3 and A10×2 exactly five experts are
// eligible, in three cities, so every draw is the same committee; KF-03 works for the
// tenderer and ZZ-03 is suspended, so both step aside.
const evalPool = `专家编号,姓名,手机,工作单位,职称,评标专业,所在城市,纬度,经度,状态
KF-01,王建国,13903780001,开封市建筑设计研究院有限公司,正高级工程师,A0101,开封市,,,正常
KF-02,李秀英,13903780002,开封宋都工程造价咨询有限公司,一级造价工程师,A1001,开封市,,,正常
KF-03,赵志强,13903780003,` + evalTenderer + `,高级工程师,A0101,开封市,,,正常
ZZ-01,张伟,13903710001,河南省建筑设计研究院有限公司,高级工程师,A0102,郑州市,,,正常
ZZ-02,刘洋,13903710002,郑州大学,教授,A1002,郑州市,,,正常
ZZ-03,陈静,13903710003,河南省第一建筑工程集团有限责任公司,高级工程师,A1001,郑州市,,,暂停
LY-01,杨帆,13903790001,洛阳理工学院,教授,A0105,洛阳市,,,正常
`

// evalWorld is a running app with the pool, three venues, a tender and the people who use
// the evaluation pages, all created through the API.
type evalWorld struct {
	*testApp
	admin, host *apiclient.Client
	expert      *apiclient.Client // ZZ-01's login
	staff       *apiclient.Client // staff of the Zhengzhou venue
	lateCert    *devpki.Issued    // KF-01's certificate, to log in after the deadline
	tender      opening.Tender
	experts     map[string]evaluation.Expert // by code
	venues      map[string]evaluation.Venue  // by city code
	sessionDay  string                       // the day the host page proposes, Beijing time
}

func mustEvalWorld(t *testing.T) *evalWorld {
	t.Helper()
	return mustEvalWorldOn(t, mustApp(t))
}

// mustEvalWorldOn is mustEvalWorld on the app ta.
func mustEvalWorldOn(t *testing.T, ta *testApp) *evalWorld {
	t.Helper()
	return mustEvalWorldFor(t, ta, nil)
}

// mustEvalWorldFor is mustEvalWorld on the app ta for the tender given, whose deadline has
// passed (one whose bids were opened), or for a new tender without bids when nil.
func mustEvalWorldFor(t *testing.T, ta *testApp, given *opening.Tender) *evalWorld {
	t.Helper()
	ctx := context.Background()
	w := &evalWorld{testApp: ta, experts: map[string]evaluation.Expert{}, venues: map[string]evaluation.Venue{}}
	w.admin = w.mustLogin(t, w.setup.Admin)
	if status, body := postCSV(t, w.base+"/api/v1/experts/import", w.admin.Token, evalPool); status != http.StatusCreated {
		t.Fatalf("import the pool: %d %s", status, body)
	}
	var list struct{ Experts []evaluation.Expert }
	if err := w.admin.Do(ctx, http.MethodGet, "/api/v1/experts", nil, &list); err != nil {
		t.Fatal(err)
	}
	for _, e := range list.Experts {
		w.experts[e.Code] = e
	}
	for _, v := range []evaluation.Venue{
		{Code: "410200-001", Name: "开封市公共资源交易中心", City: "410200", Address: "开封市龙亭区东京大道 1 号", Lat: 34.7990, Lon: 114.3100, CanHost: true},
		{Code: "410100-001", Name: "郑州市公共资源交易中心", City: "410100", Address: "郑州市郑东新区商务外环路 1 号", Lat: 34.7600, Lon: 113.7300},
		{Code: "410300-001", Name: "洛阳市公共资源交易中心", City: "410300", Address: "洛阳市洛龙区开元大道 1 号", Lat: 34.6200, Lon: 112.4500},
	} {
		var got evaluation.Venue
		if err := w.admin.Do(ctx, http.MethodPost, "/api/v1/venues", v, &got); err != nil {
			t.Fatalf("venue %s: %v", v.Code, err)
		}
		for i := 1; i <= 3; i++ {
			if err := w.admin.Do(ctx, http.MethodPost, "/api/v1/venues/"+string(got.ID)+"/seats",
				evaluation.Seat{Code: fmt.Sprintf("A%02d", i), Equipment: []string{"camera", "id_reader"}}, nil); err != nil {
				t.Fatal(err)
			}
		}
		w.venues[v.City] = got
	}

	w.host = w.mustLogin(t, w.mustRegister(t, w.admin, devpki.SM2, "评标主持人", kaiping.RoleHost))
	// The deadline passes before the draw: what the draw excluded may name potential
	// bidders, so nobody sees it before the deadline (招标投标法 Art. 22).
	if given != nil {
		w.tender = *given
	} else {
		tender := demoTender(w.clock.Now().Add(2 * time.Minute))
		tender.Code, tender.Tenderer = "KP-EVAL-WEB-1", evalTenderer
		if err := w.host.Do(ctx, http.MethodPost, "/api/v1/tenders", tender, &w.tender); err != nil {
			t.Fatal(err)
		}
	}
	w.mustAssign(t, w.tender.ID, principalID(t, w.host), kaiping.DutyEvaluationHost)
	w.clock.Advance(3 * time.Minute)
	w.expert = w.mustLogin(t, w.mustRegister(t, w.admin, devpki.SM2, "张伟", kaiping.RoleExpert))
	w.mustLink(t, "ZZ-01", w.expert)
	w.lateCert = w.mustRegister(t, w.admin, devpki.SM2, "王建国", kaiping.RoleExpert)
	w.mustLink(t, "KF-01", w.mustLogin(t, w.lateCert))
	w.staff = w.mustLogin(t, w.mustRegister(t, w.admin, devpki.SM2, "郑州场地管理员", kaiping.RoleVenueStaff))
	if err := w.admin.Do(ctx, http.MethodPost, "/api/v1/venues/"+string(w.venues["410100"].ID)+"/staff",
		evaluation.StaffRequest{Principal: principalID(t, w.staff)}, nil); err != nil {
		t.Fatal(err)
	}
	// The host page proposes tomorrow (server time, Beijing), 09:00 to 17:00.
	w.sessionDay = w.clock.Now().Add(24 * time.Hour).In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	return w
}

func principalID(tb testing.TB, c *apiclient.Client) kaiping.ID {
	tb.Helper()
	var me kaiping.Principal
	if err := c.Do(context.Background(), http.MethodGet, "/api/v1/me", nil, &me); err != nil {
		tb.Fatal(err)
	}
	return me.ID
}

// mustLink links the expert with code to the login of c, as an admin does.
func (w *evalWorld) mustLink(tb testing.TB, code string, c *apiclient.Client) {
	tb.Helper()
	e := w.experts[code]
	e.Principal = principalID(tb, c)
	if err := w.admin.Do(context.Background(), http.MethodPut, "/api/v1/experts/"+string(e.ID), e, nil); err != nil {
		tb.Fatalf("link %s: %v", code, err)
	}
}

func postCSV(tb testing.TB, url, token, body string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestEvaluationPages drives the evaluation pages in headless Chromium as their users do and
// checks what each of them sees, against the API's own answers.
func TestEvaluationPages(t *testing.T) {
	w := mustEvalWorld(t)
	b := mustBrowser(t)
	ctx := context.Background()

	t.Run("without a session a page asks to log in and shows no data", func(t *testing.T) {
		for _, p := range []string{"", "evaluation/host.html?tender=" + string(w.tender.ID), "evaluation/admin.html", "evaluation/expert.html", "evaluation/venue.html"} {
			pg := b.open(t, w.base+"/"+p)
			pg.waitText("main", "请先登录")
			if n := pg.count("main table"); n != 0 {
				t.Errorf("%s without a session shows %d tables", p, n)
			}
			if text := pg.text("main"); strings.Contains(text, w.tender.Code) || strings.Contains(text, "KF-01") {
				t.Errorf("%s without a session shows data:\n%s", p, text)
			}
			pg.waitText("#server-time", "服务器时间 20")
		}
	})

	t.Run("the start page lists every role's entry, the hall among them, and every page has the icon", func(t *testing.T) {
		pg := b.open(t, w.base+"/")
		pg.waitText("#roles", "投标人", "主持人", "监督人员", "评标专家", "场地工作人员", "系统管理员", "公众", "开标大厅")
		links := pg.attrs("#roles a", "href")
		for _, want := range []string{"/hall/bidder.html", "/hall/host.html", "/evaluation/host.html", "/evaluation/expert.html",
			"/evaluation/venue.html", "/evaluation/admin.html", "/session/", "/session/venue/", "/session/watch/", "/public/"} {
			if !slices.Contains(links, want) {
				t.Errorf("the start page does not link %s; it links %v", want, links)
			}
		}
		for _, p := range []string{"", "hall/host.html", "evaluation/expert.html", "public/"} {
			pg := b.open(t, w.base+"/"+p)
			icons := pg.attrs(`link[rel="icon"]`, "href")
			if len(icons) != 1 || icons[0] != "/assets/favicon.svg" {
				t.Errorf("%s links the icons %v", p, icons)
			}
		}
		resp, err := http.Get(w.base + "/assets/favicon.svg")
		if err != nil {
			t.Fatal(err)
		}
		icon, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(string(icon), "<svg") {
			t.Errorf("the icon answers %d %s: %.80s", resp.StatusCode, resp.Header.Get("Content-Type"), icon)
		}
	})

	t.Run("admin sees the pool and every bad row of a refused import", func(t *testing.T) {
		pg := b.open(t, web.LoginLink(w.base, "evaluation/admin.html", w.admin.Token))
		var href, stored string
		pg.eval(`location.href`, &href)
		pg.eval(`sessionStorage.getItem("kaiping.session")`, &stored)
		if strings.Contains(href, "token") || stored != w.admin.Token {
			t.Errorf("after login the address is %s and the tab keeps %q: the token must move from the address to sessionStorage", href, stored)
		}
		pg.waitText("#who", "交易中心系统管理员")
		pg.waitText("#experts", "KF-01", "王建国", "洛阳市", "暂停")
		pg.waitCount("#experts tbody tr", 7)
		pg.waitText("#venues", "410200-001", "可作主场", "410300-001")

		bad := filepath.Join(t.TempDir(), "bad.csv")
		csv := "专家编号,姓名,工作单位,评标专业,所在城市\nHN-9001,孙磊,某单位,Z9999,郑州市\nHN-9002,钱芳,某单位,A0101,火星市\nHN-9003,周敏,某单位,A0101,郑州市\n"
		if err := os.WriteFile(bad, []byte(csv), 0o600); err != nil {
			t.Fatal(err)
		}
		pg.upload("#import-file", bad)
		pg.click("#import-run")
		msg := pg.waitText("#import-msg", "expert.import_rows", "未导入任何专家", "Z9999", "火星市")
		pg.waitCount("#import-msg tbody tr", 2)
		if !strings.Contains(msg, "2") || !strings.Contains(msg, "3") {
			t.Errorf("the row numbers of the bad rows are not shown:\n%s", msg)
		}
		var list struct{ Experts []evaluation.Expert }
		if err := w.admin.Do(ctx, http.MethodGet, "/api/v1/experts", nil, &list); err != nil || len(list.Experts) != 7 {
			t.Fatalf("after a refused import the pool has %d experts (%v), want 7", len(list.Experts), err)
		}
	})

	var drawID kaiping.ID
	t.Run("host requests a draw, sees the committee, dispatches it to seats in three cities and moves one", func(t *testing.T) {
		pg := b.open(t, web.LoginLink(w.base, "evaluation/host.html?tender="+string(w.tender.ID), w.host.Token))
		pg.waitText("#request", "提交抽取")
		pg.waitText("#tender-list tr.selected", "KP-EVAL-WEB-1", evalTenderer)
		var start string
		pg.eval(`document.querySelector("#session-start").value`, &start)
		if start != w.sessionDay+"T09:00" {
			t.Errorf("the page proposes a session from %q, want tomorrow %sT09:00 by server time", start, w.sessionDay)
		}
		pg.set("#outside-share", "40")
		pg.set("#quotas .quota:nth-child(1) .quota-specialty", "A01")
		pg.set("#quotas .quota:nth-child(1) .quota-count", "3")
		pg.click("#quota-add")
		pg.set("#quotas .quota:nth-child(2) .quota-specialty", "A10")
		pg.set("#quotas .quota:nth-child(2) .quota-count", "2")

		// An even committee: the page shows the API's code and Chinese message, nothing is drawn.
		pg.set("#committee-size", "6")
		pg.click("#draw-submit")
		pg.waitText("#request-msg", "draw.committee_size", "单数", "当前为 6 人")
		var draws struct{ Draws []evaluation.Draw }
		if err := w.host.Do(ctx, http.MethodGet, "/api/v1/draws?tender="+string(w.tender.ID), nil, &draws); err != nil || len(draws.Draws) != 0 {
			t.Fatalf("after a refused request the tender has draws %+v (%v)", draws.Draws, err)
		}

		pg.set("#committee-size", "5")
		pg.click("#draw-submit")
		pg.waitText("#request-msg", "已提交抽取")
		pg.waitCount("#members tbody tr", 5)
		members := pg.waitText("#members", "KF-01", "KF-02", "ZZ-01", "ZZ-02", "LY-01", "待应答", "剩余")
		for _, excluded := range []string{"KF-03", "ZZ-03"} {
			if strings.Contains(members, excluded) {
				t.Errorf("the committee shows %s, who had to step aside:\n%s", excluded, members)
			}
		}
		pg.waitText("#exclusions", "共 2 名", "任职于招标人", "评标资格暂停")
		if err := w.host.Do(ctx, http.MethodGet, "/api/v1/draws?tender="+string(w.tender.ID), nil, &draws); err != nil || len(draws.Draws) != 1 {
			t.Fatalf("draws %+v (%v)", draws.Draws, err)
		}
		d := draws.Draws[0]
		drawID = d.ID
		// Seeds, digests and the verification command wait, folded, on the 核验 panel.
		facts := pg.waitText("#draw-facts", "已抽取", "至少 2 人", "开封市", "核验")
		for _, folded := range []string{d.Commitment, d.Seed, d.SnapshotDigest, "kaiping draw verify"} {
			if strings.Contains(facts, folded) {
				t.Errorf("the draw's facts show %q outside the closed 核验 panel:\n%s", folded, facts)
			}
		}
		pg.click("#draw-verify summary")
		checks := pg.waitText("#draw-verify", d.Commitment, d.Seed, d.SnapshotDigest)
		if d.Status != evaluation.DrawDrawn || d.Seed == "" || !strings.Contains(checks, "kaiping draw verify "+string(d.ID)) {
			t.Errorf("draw %+v; the 核验 panel says:\n%s", d, checks)
		}

		pg.click("#dispatch-run")
		pg.waitText("#dispatch-msg", "已分派 5 个工位")
		pg.waitCount("#assignments tbody tr", 5)
		table := pg.waitText("#assignments", "主场", "副场", "开封市公共资源交易中心", "郑州市公共资源交易中心", "洛阳市公共资源交易中心")
		cities := pg.attrs("#assignments tbody tr", "data-city")
		slices.Sort(cities)
		if want := []string{"410100", "410100", "410200", "410200", "410300"}; !slices.Equal(cities, want) {
			t.Errorf("seats by city %v, want %v:\n%s", cities, want, table)
		}
		var as struct{ Assignments []evaluation.SeatAssignment }
		if err := w.host.Do(ctx, http.MethodGet, "/api/v1/draws/"+string(d.ID)+"/assignments", nil, &as); err != nil || len(as.Assignments) != 5 {
			t.Fatalf("assignments %v (%v)", as.Assignments, err)
		}
		for _, a := range as.Assignments {
			if !strings.Contains(table, a.VenueCode) || !strings.Contains(table, a.SeatCode) {
				t.Errorf("the table lacks %s %s", a.VenueCode, a.SeatCode)
			}
		}
		// The map: one marker per venue in use, each with its number of experts.
		pg.waitCount("#map svg.map g.marker", 3)
		counts := pg.attrs("#map svg.map g.marker", "data-count")
		slices.Sort(counts)
		if want := []string{"1", "2", "2"}; !slices.Equal(counts, want) {
			t.Errorf("map markers count %v experts, want %v", counts, want)
		}
		if n := pg.count("#map svg.map circle.venue.host:not(.idle)"); n != 1 {
			t.Errorf("the map shows %d host venues in use, want 1", n)
		}

		// The host moves the Luoyang expert to Zhengzhou, with the reason.
		pg.set("#override-expert", string(w.experts["LY-01"].ID))
		pg.set("#override-venue", string(w.venues["410100"].ID))
		pg.set("#override-reason", "专家当日在郑州参加会议")
		pg.click("#override button[type=submit]")
		pg.waitText("#dispatch-msg", "已调整到 410100-001", "审计日志")
		pg.waitText(`#assignments tr[data-expert="`+string(w.experts["LY-01"].ID)+`"]`, "郑州市公共资源交易中心", "专家当日在郑州参加会议")
		pg.waitCount("#map svg.map g.marker", 2)
		if counts := pg.attrs(`#map svg.map g.marker[data-city="410100"]`, "data-count"); !slices.Equal(counts, []string{"3"}) {
			t.Errorf("after the move the Zhengzhou marker counts %v experts, want 3", counts)
		}

		// Publishing asks first and names the experts who have not answered; cancelling sends
		// nothing. Confirmed, the server refuses (no award result recorded yet): the page shows
		// the Chinese message, the code only on a detail line.
		pg.click("#publish")
		ask := pg.waitText("#confirm-dialog", "公示评标专家名单", "尚未应答的专家（5）", "KF-01", "LY-01", "不可撤销")
		if strings.Contains(ask, "所有抽取的专家均已应答") {
			t.Errorf("the dialog says everyone answered:\n%s", ask)
		}
		pg.click("#confirm-dialog .dialog-cancel")
		pg.waitCount("#confirm-dialog", 0)
		if msg := pg.text("#dispatch-msg"); strings.Contains(msg, "公示") || strings.Contains(msg, "draw.") {
			t.Errorf("a cancelled publication sent a request: %q", msg)
		}
		pg.click("#publish")
		pg.waitCount("#confirm-dialog[open]", 1)
		pg.click("#confirm-dialog .dialog-ok")
		pg.waitText("#dispatch-msg .error .message", "中标结果确定前")
		if msg := pg.text("#dispatch-msg .error .message"); strings.Contains(msg, "draw.") {
			t.Errorf("the error's message line shows its code: %q", msg)
		}
		pg.waitText("#dispatch-msg .error .detail", "错误代码", "draw.result_not_recorded")
		var after struct{ Draws []evaluation.Draw }
		if err := w.host.Do(ctx, http.MethodGet, "/api/v1/draws?tender="+string(w.tender.ID), nil, &after); err != nil || len(after.Draws) != 1 || after.Draws[0].PublishedAt != nil {
			t.Errorf("after a refused publication the draws are %+v (%v)", after.Draws, err)
		}
	})
	if drawID == "" {
		t.Fatal("no draw to continue with")
	}

	t.Run("expert sees the seat and accepts before the deadline", func(t *testing.T) {
		pg := b.open(t, web.LoginLink(w.base, "evaluation/expert.html", w.expert.Token))
		pg.waitText("#draws", w.tender.Code, "待应答", "剩余", "郑州市", "郑州市公共资源交易中心", "工位 A0", "商务外环路")
		pg.waitText("#profile", "ZZ-01", "张伟")
		// The draw and the seat reached the expert's inbox, in the header of the page.
		var in notice.Inbox
		if err := w.expert.Do(ctx, http.MethodGet, "/api/v1/inbox", nil, &in); err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, n := range in.Notices {
			kinds[n.Kind]++
		}
		if in.Unread != len(in.Notices) || kinds[evaluation.NoticeDrawn] != 1 || kinds[evaluation.NoticeAssigned] != 1 {
			t.Errorf("the expert's inbox: %d unread, kinds %v", in.Unread, kinds)
		}
		pg.waitText(".inbox-count", strconv.Itoa(in.Unread))
		pg.click(".inbox-button")
		pg.waitText("#inbox-list", "评标抽取通知", "评标工位与签到通知", "北京时间", "张伟专家")
		pg.click("#inbox-list li.unread button")
		pg.waitText(".inbox-count", strconv.Itoa(in.Unread-1))
		pg.click("#draws button.accept")
		pg.waitText("#draws-msg", "已确认参加")
		pg.waitText("#draws", "已确认参加")
		if n := pg.count("#draws button.accept"); n != 0 {
			t.Errorf("after accepting the page still offers %d accept buttons", n)
		}
		var ms struct{ Members []evaluation.Member }
		if err := w.host.Do(ctx, http.MethodGet, "/api/v1/draws/"+string(drawID)+"/members", nil, &ms); err != nil {
			t.Fatal(err)
		}
		for _, m := range ms.Members {
			if m.ExpertCode == "ZZ-01" && m.State != evaluation.MemberAccepted {
				t.Errorf("ZZ-01 is %s after accepting on the page", m.State)
			}
		}
	})

	t.Run("host sees the answer after reloading from the same tab", func(t *testing.T) {
		pg := b.open(t, web.LoginLink(w.base, "evaluation/host.html?draw="+string(drawID), w.host.Token))
		pg.waitCount("#members tbody tr", 5)
		pg.waitCount(`#members tbody tr[data-state="accepted"]`, 1)
		pg.reload()
		pg.waitCount(`#members tbody tr[data-state="accepted"]`, 1)
		pg.waitText("#who", "评标主持人")
	})

	t.Run("venue staff see the day's seats at their venue", func(t *testing.T) {
		pg := b.open(t, web.LoginLink(w.base, "evaluation/venue.html?date="+w.sessionDay, w.staff.Token))
		text := pg.waitText("#bookings", "共 3 个工位预订", "张伟", "ZZ-01", "刘洋", "杨帆", "410100-001")
		if strings.Contains(text, "开封") || strings.Contains(text, "KF-01") {
			t.Errorf("Zhengzhou staff see another venue's bookings:\n%s", text)
		}
		// The host's page in the same tab: the role is checked before anything is shown.
		pg.run(chromedp.Navigate(w.base + "/evaluation/host.html?draw=" + string(drawID)))
		pg.waitText("main", "当前身份无权使用本页面", "主持人")
		if n := pg.count("main table"); n != 0 {
			t.Errorf("venue staff on the host's page see %d tables", n)
		}
	})

	t.Run("expert answering after the deadline sees why not", func(t *testing.T) {
		w.clock.Advance(31 * time.Minute) // past the 30 minutes to answer; earlier sessions expire too
		late := w.mustLogin(t, w.lateCert)
		pg := b.open(t, web.LoginLink(w.base, "evaluation/expert.html", late.Token))
		pg.waitText("#draws", w.tender.Code, "开封市公共资源交易中心")
		// The page counts against the wall clock of the server; the manual clock the app
		// judges by is already past the deadline, so the buttons are still there.
		pg.click("#draws button.accept")
		pg.waitText("#draws", "draw.response_deadline_passed", "应答截止时间", "请联系主持人")
	})
}
