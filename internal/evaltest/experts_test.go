package evaltest_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/evaluation/draw"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/internal/evaltest"
)

func mustEnv(tb testing.TB) *evaltest.Env {
	tb.Helper()
	return evaltest.New(tb, devenv.Database(tb), nil, "", evaluation.DefaultConfig)
}

func mustRead(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	must(tb, err)
	return b
}

func TestImportCSV(t *testing.T) {
	env := mustEnv(t)
	ctx := context.Background()
	n, err := env.Service.Import(ctx, env.Actor(env.Admin), mustRead(t, "experts_ok.csv"), "digest")
	if err != nil || n != 4 {
		t.Fatalf("import: %d, %v", n, err)
	}
	es, err := env.Store.Experts(ctx, evaluation.ExpertFilter{Limit: 10})
	must(t, err)
	got := map[string]evaluation.Expert{}
	for _, e := range es {
		got[e.Code] = e
	}
	wang, li, zhang, liu := got["HN-0001"], got["HN-0002"], got["HN-0003"], got["HN-0004"]
	if !reflect.DeepEqual(wang.Titles, []string{"正高级工程师", "一级注册建筑师"}) || !reflect.DeepEqual(wang.Specialties, []string{"A0101", "A0106"}) ||
		wang.City != "410100" || wang.Lat != 34.771 {
		t.Errorf("HN-0001 %+v", wang)
	}
	if li.City != "410200" || !reflect.DeepEqual(li.Specialties, []string{"A0201", "A0202"}) || li.Lat != 34.7973 {
		t.Errorf("HN-0002 (city by short name, centre coordinates) %+v", li)
	}
	if zhang.Status != evaluation.StatusActive || zhang.Phone != "" || zhang.City != "410400" {
		t.Errorf("HN-0003 %+v", zhang)
	}
	if liu.Status != evaluation.StatusOnLeave {
		t.Errorf("HN-0004 %+v", liu)
	}

	// The same file again: every row's code is taken, nothing changes.
	before := ledgerSize(t, env)
	_, err = env.Service.Import(ctx, env.Actor(env.Admin), mustRead(t, "experts_ok.csv"), "digest")
	var ie *evaluation.ImportError
	if !errors.As(err, &ie) || len(ie.Rows) != 4 || ie.Rows[0].Row != 2 || ie.Rows[0].Column != "专家编号" {
		t.Fatalf("re-import: %v", err)
	}
	if ledgerSize(t, env) != before {
		t.Fatal("a refused import grew the ledger")
	}

	// Saved by Excel on Chinese Windows: GB18030.
	gbk, err := simplifiedchinese.GB18030.NewEncoder().Bytes(bytes.ReplaceAll(mustRead(t, "experts_ok.csv"), []byte("HN-000"), []byte("GB-000")))
	must(t, err)
	if n, err := env.Service.Import(ctx, env.Actor(env.Admin), gbk, "digest"); err != nil || n != 4 {
		t.Fatalf("GB18030 import: %d, %v", n, err)
	}
	x, err := env.Store.Experts(ctx, evaluation.ExpertFilter{Specialty: "A02", Limit: 10})
	must(t, err)
	if len(x) != 2 || x[0].Name != "李秀英" {
		t.Fatalf("experts of A02 after the GB18030 import: %+v", x)
	}
}

func TestImportCSVBadRows(t *testing.T) {
	env := mustEnv(t)
	before := ledgerSize(t, env)
	_, err := env.Service.Import(context.Background(), env.Actor(env.Admin), mustRead(t, "experts_bad.csv"), "digest")
	wantCode(t, err, kaiping.KindInvalid, "expert.import_rows")
	var ie *evaluation.ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("%T is not an *ImportError", err)
	}
	type rc struct {
		row    int
		column string
	}
	var got []rc
	for _, r := range ie.Rows {
		got = append(got, rc{r.Row, r.Column})
		if r.Message == "" || strings.Contains(r.Message, "%!") {
			t.Errorf("row %d: message %q", r.Row, r.Message)
		}
	}
	want := []rc{{3, "姓名"}, {4, "手机"}, {5, "评标专业"}, {6, "所在城市"}, {7, "纬度"}, {8, "专家编号"},
		{9, "评标专业"}, {10, "状态"}, {11, "纬度/经度"}, {12, "-"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("row errors %v, want %v\n%v", got, want, err)
	}
	if !strings.Contains(ie.Rows[5].Message, "与第 2 行重复") {
		t.Errorf("duplicate message %q", ie.Rows[5].Message)
	}
	if es, _ := env.Store.Experts(context.Background(), evaluation.ExpertFilter{Limit: 10}); len(es) != 0 || ledgerSize(t, env) != before {
		t.Fatalf("%d experts imported from a file with errors", len(es))
	}
}

func TestExpertRecords(t *testing.T) {
	env := mustEnv(t)
	ctx := context.Background()
	admin := env.Actor(env.Admin)
	x := env.Expert(t, "HN-1", "王工", "河南建工", "410100", "A0101")
	tests := []struct {
		name string
		err  error
		code string
	}{
		{"bad code", second(env.Service.CreateExpert(ctx, admin, evaluation.Expert{Code: "中文", Name: "x", Employer: "y", City: "410100", Specialties: []string{"A0101"}})), "expert.code"},
		{"code taken", second(env.Service.CreateExpert(ctx, admin, evaluation.Expert{Code: "HN-1", Name: "x", Employer: "y", City: "410100", Specialties: []string{"A0101"}})), "expert.code_taken"},
		{"bad e-mail", second(env.Service.CreateExpert(ctx, admin, evaluation.Expert{Code: "HN-4", Name: "x", Employer: "y", City: "410100", Specialties: []string{"A0101"}, Email: "王工 <wang@example.cn>\r\nBcc: x@y"})), "expert.email"},
		{"no specialty", second(env.Service.CreateExpert(ctx, admin, evaluation.Expert{Code: "HN-2", Name: "x", Employer: "y", City: "410100"})), "expert.specialties"},
		{"unknown login", second(env.Service.CreateExpert(ctx, admin, evaluation.Expert{Code: "HN-3", Name: "x", Employer: "y", City: "410100", Specialties: []string{"A0101"}, Principal: kaiping.NewID()})), "expert.principal"},
		{"status without reason", env.Service.SetStatus(ctx, admin, x.ID, evaluation.StatusSuspended, ""), "expert.status_reason"},
		{"unknown status", env.Service.SetStatus(ctx, admin, x.ID, "retired", "x"), "expert.status"},
		{"status of nobody", env.Service.SetStatus(ctx, admin, kaiping.NewID(), evaluation.StatusSuspended, "x"), "expert.not_found"},
		{"relation without kind", second(env.Service.AddRelation(ctx, admin, x.ID, evaluation.Relation{Organisation: "甲"})), "relation.kind"},
		{"relation of nobody", second(env.Service.AddRelation(ctx, admin, kaiping.NewID(), evaluation.Relation{Organisation: "甲", Kind: "曾任职"})), "expert.not_found"},
		{"score above 100", second(env.Service.AddAssessment(ctx, admin, x.ID, evaluation.Assessment{Tender: "T1", Score: 101})), "assessment.score"},
		{"ban in the past", second(env.Service.AddViolation(ctx, admin, x.ID, evaluation.Violation{Description: "迟到", Decision: "警告",
			BannedUntil: ptr(env.Clock.Now().Add(-time.Hour))})), "violation.banned_until"},
		{"history without tenderer", second(env.Service.AddHistory(ctx, admin, x.ID, evaluation.HistoryEntry{Tender: "T1", At: env.Clock.Now()})), "history.tenderer"},
	}
	for _, tt := range tests {
		if kaiping.CodeOf(tt.err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, tt.err, tt.code)
		}
	}

	// The e-mail address notices go to is kept with the expert.
	x.Email = "wang@example.cn"
	if _, err := env.Service.UpdateExpert(ctx, admin, x.ID, x); err != nil {
		t.Fatal(err)
	}
	if got, err := env.Store.Expert(ctx, x.ID); err != nil || got.Email != "wang@example.cn" {
		t.Errorf("stored e-mail %q (%v)", got.Email, err)
	}

	login := env.ExpertLogin(t, x)
	other := env.Expert(t, "HN-9", "李工", "河南建工", "410100", "A0101")
	x.Principal = login.ID
	_, err := env.Service.UpdateExpert(ctx, admin, other.ID, func() evaluation.Expert { o := other; o.Principal = login.ID; return o }())
	wantCode(t, err, kaiping.KindConflict, "expert.principal_taken")

	// The expert keeps their own calendar.
	me := env.Actor(login)
	u, err := env.Service.DeclareUnavailable(ctx, me, evaluation.Unavailability{Start: env.Clock.Now().Add(time.Hour), End: env.Clock.Now().Add(48 * time.Hour), Note: "出差"})
	must(t, err)
	_, err = env.Service.DeclareUnavailable(ctx, me, evaluation.Unavailability{Start: env.Clock.Now().Add(2 * time.Hour), End: env.Clock.Now().Add(time.Hour)})
	wantCode(t, err, kaiping.KindInvalid, "calendar.period")
	_, err = env.Service.DeclareUnavailable(ctx, me, evaluation.Unavailability{Start: env.Clock.Now().Add(-2 * time.Hour), End: env.Clock.Now().Add(-time.Hour)})
	wantCode(t, err, kaiping.KindInvalid, "calendar.past")
	_, err = env.Service.DeclareUnavailable(ctx, env.Actor(env.Host), evaluation.Unavailability{Start: env.Clock.Now().Add(time.Hour), End: env.Clock.Now().Add(2 * time.Hour)})
	wantCode(t, err, kaiping.KindNotFound, "expert.not_found")
	otherLogin := env.ExpertLogin(t, other)
	err = env.Service.WithdrawUnavailable(ctx, env.Actor(otherLogin), u.ID)
	wantCode(t, err, kaiping.KindNotFound, "calendar.not_found")

	ban := env.Clock.Now().AddDate(0, 6, 0)
	_, err = env.Service.AddViolation(ctx, admin, x.ID, evaluation.Violation{Description: "评标中私自接触投标人", Decision: "暂停评标资格六个月（某公管罚〔2026〕3号）", BannedUntil: &ban})
	must(t, err)
	_, err = env.Service.AddAssessment(ctx, admin, x.ID, evaluation.Assessment{Tender: "KF-2026-001", Score: 92, Comment: "评审认真"})
	must(t, err)
	p, err := env.Store.Profile(ctx, x.ID)
	must(t, err)
	if len(p.Unavailability) != 1 || len(p.Violations) != 1 || len(p.Assessments) != 1 || p.Assessments[0].Score != 92 ||
		p.Violations[0].BannedUntil == nil || !p.Violations[0].BannedUntil.Equal(ban) {
		t.Fatalf("profile %+v", p)
	}
	must(t, env.Service.WithdrawUnavailable(ctx, me, u.ID))

	// The ban and the calendar reach the draw through the pool.
	cands, err := env.Store.Candidates(ctx, draw.Period{Start: env.Clock.Now().Add(2 * time.Hour), End: env.Clock.Now().Add(5 * time.Hour)}, env.Clock.Now().AddDate(-1, 0, 0))
	must(t, err)
	for _, c := range cands {
		if c.Expert == string(x.ID) && (len(c.Penalties) != 1 || len(c.Unavailable) != 0) {
			t.Fatalf("candidate %+v", c)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func ptr[T any](v T) *T { return &v }

// TestStatusChecksOnce: an expert's status and its reason are checked by one rule, whether
// they come with the record or as an admin's change: a change to suspended or on leave
// with a reason of blanks is refused and changes nothing, and a reason is trimmed and
// bounded either way.
func TestStatusChecksOnce(t *testing.T) {
	env := mustEnv(t)
	ctx := context.Background()
	admin := env.Actor(env.Admin)
	x := env.Expert(t, "HN-1", "王工", "河南建工", "410100", "A0101")
	long := strings.Repeat("因", 501)
	wantCode(t, env.Service.SetStatus(ctx, admin, x.ID, evaluation.StatusOnLeave, " \t　"), kaiping.KindInvalid, "expert.status_reason")
	wantCode(t, env.Service.SetStatus(ctx, admin, x.ID, evaluation.StatusActive, long), kaiping.KindInvalid, "expert.status_reason")
	_, err := env.Service.CreateExpert(ctx, admin, evaluation.Expert{Code: "HN-2", Name: "x", Employer: "y", City: "410100",
		Specialties: []string{"A0101"}, Status: evaluation.StatusSuspended, StatusReason: long})
	wantCode(t, err, kaiping.KindInvalid, "expert.status_reason")
	got, err := env.Store.Expert(ctx, x.ID)
	must(t, err)
	if got.Status != evaluation.StatusActive || got.StatusReason != "" {
		t.Errorf("after refused changes: %s %q", got.Status, got.StatusReason)
	}
	must(t, env.Service.SetStatus(ctx, admin, x.ID, evaluation.StatusSuspended, "  年度考评不合格 "))
	if got, err = env.Store.Expert(ctx, x.ID); err != nil || got.Status != evaluation.StatusSuspended || got.StatusReason != "年度考评不合格" {
		t.Errorf("suspended: %s %q, %v", got.Status, got.StatusReason, err)
	}
}
