package demo

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/opening"
)

// checkDemoEvaluation checks what the demo's evaluation printed against the server's own
// record, after the session: a committee of 5 drawn experts across three cities, one decline
// before the session and one conflict at it, each replaced from the same sequence, everyone
// seated, the draw reproducible, and login links that open the pages as the right people.
func checkDemoEvaluation(t *testing.T, w *demoWorld, printed string, tender opening.Tender) {
	ctx := context.Background()
	for _, want := range []string{"专家库导入 42 名专家", "种子承诺值", "揭示种子", "回避 KF-003", "回避 ZZ-011", "拒绝参加", "递补",
		"开封市公共资源交易中心远程评标室", "郑州市公共资源交易中心远程评标室", "洛阳市公共资源交易中心远程评标室",
		"招标人代表 2 名", "/evaluation/host.html?draw=", "/evaluation/expert.html#token=", "draw verify"} {
		if !strings.Contains(printed, want) {
			t.Errorf("the demo did not print %q", want)
		}
	}
	// Every dispatched expert has the seat notice in the inbox of their login.
	if !regexp.MustCompile(`站内通知：\d+ 条送达 5 位专家`).MatchString(printed) {
		t.Errorf("the demo did not print the notices reaching the 5 experts' inboxes")
	}
	// The draw is random: at least half the experts come from outside the host city, so they
	// sit in two or three cities (which, the seed decides).
	if !regexp.MustCompile(`5 名专家分布在 [23] 个城市`).MatchString(printed) {
		t.Errorf("the demo did not print the 5 experts spread over 2 or 3 cities")
	}

	// The tender's evaluation host reads its draws (an administrator runs none).
	parties, err := loadDemoParties(ctx, w.base, filepath.Join(w.dir, "parties"))
	if err != nil {
		t.Fatal(err)
	}
	host, err := parties.named("远程评标主持人（开封）")
	if err != nil {
		t.Fatal(err)
	}
	var ds struct{ Draws []evaluation.Draw }
	if err := host.Client.Do(ctx, http.MethodGet, "/api/v1/draws?tender="+string(tender.ID), nil, &ds); err != nil || len(ds.Draws) != 1 {
		t.Fatalf("the demo tender %q has draws %v (%v), want one", tender.Code, ds.Draws, err)
	}
	d := ds.Draws[0]
	var ms struct{ Members []evaluation.Member }
	if err := host.Client.Do(ctx, http.MethodGet, "/api/v1/draws/"+string(d.ID)+"/members", nil, &ms); err != nil {
		t.Fatal(err)
	}
	states := map[evaluation.MemberState]int{}
	replaced := 0
	for _, m := range ms.Members {
		states[m.State]++
		if m.Replaces != "" {
			replaced++
		}
	}
	if states[evaluation.MemberAccepted] != 5 || states[evaluation.MemberDeclined] != 1 || states[evaluation.MemberRecused] != 1 ||
		replaced != 2 || len(ms.Members) != 7 {
		t.Errorf("members by state %v, %d replacements, want 5 accepted, 1 declined and 1 recused, both replaced", states, replaced)
	}
	var as struct{ Assignments []evaluation.SeatAssignment }
	if err := host.Client.Do(ctx, http.MethodGet, "/api/v1/draws/"+string(d.ID)+"/assignments", nil, &as); err != nil {
		t.Fatal(err)
	}
	cities := map[string]bool{}
	for _, a := range as.Assignments {
		cities[a.City] = true
		if !strings.Contains(printed, a.VenueName+" 工位 "+a.SeatCode) {
			t.Errorf("the demo did not print the seat %s %s", a.VenueName, a.SeatCode)
		}
	}
	// At least half the experts come from outside the host city: two cities at least, three
	// when the seed spreads them.
	if len(as.Assignments) < 5 || len(cities) < 2 {
		t.Errorf("%d seats in cities %v, want at least 5 in 2 or 3", len(as.Assignments), cities)
	}

	// What `kaiping draw verify --config` does after the demo.
	if _, report, err := verifyDraw(w, d.ID); err != nil || report.Replacements != 2 {
		t.Errorf("kaiping draw verify %s: %v\n%+v", d.ID, err, report)
	}

	// Each printed link opens its page, and its token is a session of the right person.
	links := regexp.MustCompile(`(http://\S+/evaluation/(\w+)\.html\S*)#token=(\S+)`).FindAllStringSubmatch(printed, -1)
	roles := map[string]kaiping.Role{"host": kaiping.RoleHost, "expert": kaiping.RoleExpert, "venue": kaiping.RoleVenueStaff, "admin": kaiping.RoleAdmin}
	if len(links) != len(roles) {
		t.Fatalf("the demo printed %d login links, want %d", len(links), len(roles))
	}
	for _, l := range links {
		resp, err := http.Get(l[1])
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<html lang=\"zh-CN\">") {
			t.Errorf("%s: %d", l[1], resp.StatusCode)
		}
		token, err := url.QueryUnescape(l[3])
		if err != nil {
			t.Fatal(err)
		}
		c := apiclient.New(w.base)
		c.Token = token
		var me kaiping.Principal
		if err := c.Do(ctx, http.MethodGet, "/api/v1/me", nil, &me); err != nil || !me.Has(roles[l[2]]) {
			t.Errorf("the %s link logs in as %+v (%v)", l[2], me, err)
		}
	}
}
