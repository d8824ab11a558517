package evaltest_test

import (
	"context"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/evaluation/draw"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/internal/evaltest"
	"github.com/kaiping/kaiping/opening"
)

func TestMain(m *testing.M) { devenv.Main(m, devenv.NeedPostgres, devenv.NeedMinIO) }

// scene is a tender in 开封 with three bidders, venues in three cities (开封 hosts) and
// twenty experts, some of whom must step aside.
type scene struct {
	*evaltest.Env
	tender      opening.Tender
	kf, zz, pds evaluation.Venue
	experts     map[string]evaluation.Expert // by code
	session     draw.Period
}

const (
	kaifeng      = "410200"
	zhengzhou    = "410100"
	pingdingshan = "410400"
	tenderer     = "开封市第一中学"
	bidderA      = "甲建设工程有限公司"
	bidderB      = "乙建设集团有限公司"
)

func mustScene(tb testing.TB) *scene {
	tb.Helper()
	return mustSceneAt(tb, devenv.Database(tb))
}

// mustSceneAt is the scene on the database at url.
func mustSceneAt(tb testing.TB, url string) *scene {
	tb.Helper()
	env := evaltest.New(tb, url, nil, "", evaluation.DefaultConfig)
	s := &scene{Env: env, experts: map[string]evaluation.Expert{}}
	s.tender = env.Tender(tb, "KF-2026-031", tenderer, bidderA, bidderB, "丙建筑有限公司")
	s.kf = env.Venue(tb, "410200-001", "开封市公共资源交易中心", 34.7973, 114.3076, true, 4)
	s.zz = env.Venue(tb, "410100-001", "郑州市公共资源交易中心", 34.7466, 113.6254, false, 4)
	s.pds = env.Venue(tb, "410400-001", "平顶山市公共资源交易中心", 33.7662, 113.1929, false, 4)
	for _, x := range []struct{ code, name, employer, city, spec string }{
		{"KF01", "开一", "开封市建筑设计研究院", kaifeng, "A0101"},
		{"KF02", "开二", "河南大学", kaifeng, "A0101"},
		{"KF03", "开三", "开封市政工程公司", kaifeng, "A0102"},
		{"KF04", "开四", "开封造价咨询有限公司", kaifeng, "A1001"},
		{"KF05", "开五", "开封会计师事务所", kaifeng, "D01"},
		{"KF06", "开六", bidderA, kaifeng, "A0101"},
		{"ZZ01", "郑一", "郑州大学", zhengzhou, "A0101"},
		{"ZZ02", "郑二", "河南省建筑设计研究院", zhengzhou, "A0101"},
		{"ZZ03", "郑三", "中建七局", zhengzhou, "A0102"},
		{"ZZ04", "郑四", "郑州造价事务所", zhengzhou, "A1001"},
		{"ZZ05", "郑五", "郑州财经学院", zhengzhou, "D01"},
		{"ZZ06", "郑六", "郑州工程咨询公司", zhengzhou, "A0103"},
		{"ZZ07", "郑七", "河南工业大学", zhengzhou, "A0101"},
		{"ZZ08", "郑八", "郑州铁路局", zhengzhou, "A0101"},
		{"PD01", "平一", "平顶山学院", pingdingshan, "A0101"},
		{"PD02", "平二", "平煤神马建工", pingdingshan, "A0102"},
		{"PD03", "平三", "平顶山造价站", pingdingshan, "A1002"},
		{"PD04", "平四", "平顶山审计事务所", pingdingshan, "D01"},
		{"PD05", "平五", "平顶山规划院", pingdingshan, "A0103"},
		{"PD06", "平六", "平顶山市建设监理公司", pingdingshan, "A0101"},
	} {
		s.experts[x.code] = env.Expert(tb, x.code, x.name, x.employer, x.city, x.spec)
	}
	ctx := context.Background()
	s.session = draw.Period{Start: evaltest.T0.Add(25 * time.Hour), End: evaltest.T0.Add(33 * time.Hour)}
	admin := env.Actor(env.Admin)
	must(tb, env.Service.SetStatus(ctx, admin, s.experts["ZZ08"].ID, evaluation.StatusSuspended, "年度考评不合格"))
	_, err := env.Service.AddRelation(ctx, admin, s.experts["PD05"].ID, evaluation.Relation{Organisation: bidderB, Kind: "配偶任职"})
	must(tb, err)
	_, err = env.Service.AddHistory(ctx, admin, s.experts["PD06"].ID, evaluation.HistoryEntry{
		Tender: "KF-2026-002", Tenderer: tenderer, At: evaltest.T0.AddDate(0, 0, -30)})
	must(tb, err)
	zz07 := env.ExpertLogin(tb, s.experts["ZZ07"])
	_, err = env.Service.DeclareUnavailable(ctx, env.Actor(zz07), evaluation.Unavailability{
		Start: s.session.Start.Add(-time.Hour), End: s.session.End, Note: "出国访问"})
	must(tb, err)
	return s
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// request is the scene's usual draw: 7 members, 2 of them the tenderer's, 5 drawn experts
// (A01 ×3, A10 ×1, D01 ×1), at least 60 % (3) from outside 开封.
func (s *scene) request() evaluation.DrawRequest {
	return evaluation.DrawRequest{
		Tender: s.tender.ID, CommitteeSize: 7, TendererReps: 2,
		Quotas:              []draw.Quota{{Specialty: "A01", Count: 3}, {Specialty: "A10", Count: 1}, {Specialty: "D01", Count: 1}},
		OutsideSharePercent: 60, HostVenue: s.kf.ID, Session: s.session, RespondMinutes: 30,
		SupervisingDepartments: []string{"开封市住房和城乡建设局"},
	}
}

// mustDraw draws the scene's usual committee after the bid deadline.
func (s *scene) mustDraw(tb testing.TB) evaluation.Draw {
	tb.Helper()
	s.Clock.Set(evaltest.T0.Add(time.Hour))
	d, err := s.Service.Draw(context.Background(), s.Actor(s.Host), s.request())
	if err != nil {
		tb.Fatalf("draw: %v", err)
	}
	return d
}

// wantCode fails unless err carries code (and kind).
func wantCode(tb testing.TB, err error, kind kaiping.Kind, code string) {
	tb.Helper()
	if err == nil || kaiping.CodeOf(err) != code || kaiping.KindOf(err) != kind {
		tb.Fatalf("err = %v (kind %v, code %s), want %v %s", err, kaiping.KindOf(err), kaiping.CodeOf(err), kind, code)
	}
}

// ledgerSize is the number of entries in the audit ledger.
func ledgerSize(tb testing.TB, env *evaltest.Env) int {
	tb.Helper()
	var n int
	must(tb, env.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM ledger_entries`).Scan(&n))
	return n
}

// record verifies the draw from the database and fails the test unless it reproduces.
func mustVerify(tb testing.TB, env *evaltest.Env, id kaiping.ID) evaluation.VerifyReport {
	tb.Helper()
	rec, err := env.Store.DrawRecord(context.Background(), id)
	must(tb, err)
	rep, err := evaluation.VerifyDraw(rec)
	if err != nil {
		tb.Fatalf("verify: %v", err)
	}
	return rep
}
