package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/web"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/evaluation/draw"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/internal/iox"
	"github.com/kaiping/kaiping/internal/sim"
	"github.com/kaiping/kaiping/notice"
	"github.com/kaiping/kaiping/opening"
)

// The demo's evaluation: a tender of a Kaifeng tenderer, evaluated remotely by experts from
// Kaifeng, Zhengzhou and Luoyang (河南省), drawn from a provincial pool.
const (
	demoEvalTenderer   = "开封市城市建设投资有限公司"
	demoEvalSupervisor = "开封市住房和城乡建设局"
	demoEvalInterested = "河南宏远路桥工程有限公司" // the agent's parent company, named by the host
)

// demoEvalPool is the provincial pool the admin imports: 42 experts in three cities. Some must
// step aside for this tender: KF-003 and KF-004 work for the tenderer, KF-005 for the
// supervising department, ZZ-005 and ZZ-010 for an interested company; KF-009 and LY-011 are
// suspended, KF-012 and ZZ-014 on leave. The demo adds a declared relation (LY-005), a
// recent evaluation for the same tenderer (ZZ-011) and a ban (ZZ-012). The specialties are
// where the province has them: commercial reviewers (D) at the university in Kaifeng, and two
// outside it (ZZ-015, LY-013) so that a draw needing remote experts and replacements never
// runs out of them,
// hydraulic engineers (A04) near the Xiaolangdi dam in Luoyang, cost engineers (A10) in the
// capital.
var demoEvalPool = []string{
	"专家编号,姓名,手机,工作单位,职称,评标专业,所在城市,纬度,经度,状态",
	"KF-001,王建国,13903780101,开封市建筑设计研究院有限公司,正高级工程师；一级注册建筑师,A0101；A0102,开封市,,,正常",
	"KF-002,李秀英,13903780102,河南大学土木建筑学院,教授,A0102,开封市,,,正常",
	"KF-003,赵志强,13903780103," + demoEvalTenderer + ",高级工程师,A0101,开封市,,,正常",
	"KF-004,孙丽华,13903780104," + demoEvalTenderer + ",高级经济师,D02,开封市,,,正常",
	"KF-005,周明,13903780105," + demoEvalSupervisor + ",高级工程师,A0103,开封市,,,正常",
	"KF-006,吴海燕,13903780106,河南大学经济学院,教授,D02；D04,开封市,,,正常",
	"KF-007,郑国强,13903780107,开封市第二建筑工程有限公司,高级工程师,A0104,开封市,,,正常",
	"KF-008,冯晓梅,13903780108,开封中信会计师事务所有限公司,注册会计师；高级会计师,D01,开封市,,,正常",
	"KF-009,陈立新,13903780109,开封市建筑设计研究院有限公司,高级工程师,A0105,开封市,,,暂停",
	"KF-010,褚建华,13903780110,开封市政工程设计院,高级工程师,A0201,开封市,,,正常",
	"KF-011,卫红,13903780111,开封大学,副教授,D03,开封市,,,正常",
	"KF-012,蒋文博,13903780112,河南大学商学院,教授,D04,开封市,,,请假",
	"KF-013,沈丽,13903780113,开封市园林绿化工程有限公司,高级工程师,A0204,开封市,,,正常",
	"KF-014,韩磊,13903780114,开封市第一建筑工程有限公司,高级工程师,A0101,开封市,,,正常",
	"ZZ-001,杨帆,13903710101,河南省建筑设计研究院有限公司,正高级工程师,A0101；A0106,郑州市,34.7710,113.6700,正常",
	"ZZ-002,朱丹,13903710102,郑州大学土木工程学院,教授,A0102,郑州市,34.8170,113.5360,正常",
	"ZZ-003,秦勇,13903710103,中建七局第二建筑有限公司,高级工程师,A0101,郑州市,,,正常",
	"ZZ-004,许静,13903710104,河南省第一建筑工程集团有限责任公司,高级工程师,A0104,郑州市,,,正常",
	"ZZ-005,何俊,13903710105," + demoEvalInterested + ",高级工程师,A0101,郑州市,,,正常",
	"ZZ-006,吕芳,13903710106,河南兴华工程造价咨询有限公司,一级造价工程师,A1001,郑州市,,,正常",
	"ZZ-007,施伟,13903710107,郑州中兴工程监理有限公司,一级造价工程师,A1002,郑州市,,,正常",
	"ZZ-008,张琳,13903710108,河南华审工程造价咨询有限公司,一级造价工程师,A1001；A1003,郑州市,,,正常",
	"ZZ-009,孔德明,13903710109,华北水利水电大学,教授；一级造价工程师,A1004,郑州市,,,正常",
	"ZZ-010,曹颖,13903710110," + demoEvalInterested + ",一级造价工程师,A1003,郑州市,,,正常",
	"ZZ-011,严华,13903710111,河南兴华工程造价咨询有限公司,一级造价工程师,A1002,郑州市,,,正常",
	"ZZ-012,华磊,13903710112,河南省第二建设集团有限公司,高级工程师,A0105,郑州市,,,正常",
	"ZZ-013,金晓,13903710113,郑州市市政工程勘测设计研究院,高级工程师,A0202,郑州市,,,正常",
	"ZZ-014,魏强,13903710114,河南省建筑科学研究院有限公司,研究员,A0102,郑州市,,,请假",
	"LY-001,陶然,13903790101,洛阳理工学院,教授,A0102,洛阳市,,,正常",
	"LY-002,姜涛,13903790102,洛阳市建筑设计研究院有限公司,高级工程师,A0105,洛阳市,,,正常",
	"LY-003,戚红,13903790103,黄河小浪底水资源投资有限公司,正高级工程师,A0401；A0404,洛阳市,,,正常",
	"LY-004,谢宇,13903790104,黄河水利委员会洛阳水文水资源勘测局,高级工程师,A0403,洛阳市,,,正常",
	"LY-005,邹敏,13903790105,洛阳市水利勘测设计有限责任公司,高级工程师,A0401,洛阳市,,,正常",
	"LY-006,喻军,13903790106,河南科技大学土木工程学院,教授,A0101,洛阳市,,,正常",
	"LY-007,柏青,13903790107,洛阳建工集团有限公司,高级工程师,A0101,洛阳市,,,正常",
	"LY-008,窦文,13903790108,中色科技股份有限公司,高级工程师,A0104,洛阳市,,,正常",
	"LY-009,章丽,13903790109,洛阳市水利建筑工程有限公司,高级工程师,A0402,洛阳市,,,正常",
	"LY-010,云飞,13903790110,洛阳市建筑设计研究院有限公司,高级工程师,A0106,洛阳市,,,正常",
	"LY-011,苏航,13903790111,河南科技大学,教授,A0404,洛阳市,,,暂停",
	"LY-012,潘越,13903790112,洛阳理工学院,副教授,A0103,洛阳市,,,正常",
	"ZZ-015,钱正,13903710115,河南财经政法大学会计学院,教授；注册会计师,D01,郑州市,,,正常",
	"LY-013,方圆,13903790113,洛阳正泰会计师事务所有限公司,注册会计师,D01；D02,洛阳市,,,正常",
}

// demoEvalVenues are the evaluation sites of the three cities, with the staff who check the
// experts in at their seats: Kaifeng's can host.
var demoEvalVenues = []struct {
	venue evaluation.Venue
	seats int
	staff string
}{
	{evaluation.Venue{Code: "410200-001", Name: "开封市公共资源交易中心远程评标室", City: "410200",
		Address: "开封市城乡一体化示范区宋城路 66 号", Lat: 34.7932, Lon: 114.2935, CanHost: true}, 6, "开封远程评标室工作人员"},
	{evaluation.Venue{Code: "410100-001", Name: "郑州市公共资源交易中心远程评标室", City: "410100",
		Address: "郑州市郑东新区商务外环路 17 号", Lat: 34.7652, Lon: 113.7291}, 4, "郑州远程评标室工作人员"},
	{evaluation.Venue{Code: "410300-001", Name: "洛阳市公共资源交易中心远程评标室", City: "410300",
		Address: "洛阳市洛龙区开元大道 218 号", Lat: 34.6183, Lon: 112.4542}, 4, "洛阳远程评标室工作人员"},
}

// demoCommittee is what the demo's evaluation leaves for the session: the tender and its
// draw, who runs and watches it, the venues and their staff, the pool, and the drawn experts'
// logins.
type demoCommittee struct {
	tender           opening.Tender
	draw             evaluation.Draw
	admin            *apiclient.Client
	host, supervisor *sim.Party
	venues           map[string]evaluation.Venue      // by city code
	staff            map[kaiping.ID]*sim.Party        // a venue's staff, by venue
	experts          map[kaiping.ID]evaluation.Expert // the pool, by expert
	logins           map[kaiping.ID]*sim.Party        // the drawn experts who logged in, by expert
	reps             map[kaiping.ID]*sim.Party        // the tenderer's representatives, by principal
	party            func(string, kaiping.Role) (*sim.Party, error)
	// meeting is the session the committee sits in, once set up (demoSession).
	meeting *demoMeeting
}

// demoEvalReps are the tenderer's representatives the draw leaves places for: a committee of
// 7 is 5 drawn experts and 2 representatives (at most a third, 《招标投标法》 Art. 37).
const demoEvalReps = 2

// demoEvaluation draws a 7-member committee across three cities of Henan for the tender the
// opening opened (5 drawn experts, 2 places left for the tenderer's representatives): the
// admin imports the pool and the seat directory and records three more reasons to step
// aside; the host requests the draw with a cross-city quota against a seed a supervisor
// committed to; the supervisor reveals the seed; the drawn experts log in and answer (the
// first declines and the same sequence draws the replacement); the host dispatches them to
// the nearest free seats. It prints who goes where and login links to the pages, and returns
// the committee for the session.
func demoEvaluation(ctx context.Context, base, dir string, setup *app.DevSetup, admin *apiclient.Client, tender opening.Tender, say func(string, ...any)) (*demoCommittee, error) {
	parties := filepath.Join(dir, "parties")
	if err := os.MkdirAll(parties, 0o700); err != nil {
		return nil, err
	}
	// A province's CAs issue SM2, ECDSA and RSA certificates: the parties get them in turn, so
	// the report is signed both inside its PDF and beside it.
	algs, n := []devpki.Algorithm{devpki.SM2, devpki.ECDSA, devpki.RSA}, 0
	party := func(name string, role kaiping.Role) (*sim.Party, error) {
		n++
		return sim.NewParty(ctx, base, parties, setup, admin, algs[(n-1)%len(algs)], name, role)
	}
	experts, venues, err := demoEvalDirectory(ctx, admin, say)
	if err != nil {
		return nil, err
	}
	c := &demoCommittee{tender: tender, admin: admin, venues: venues, staff: map[kaiping.ID]*sim.Party{}, experts: map[kaiping.ID]evaluation.Expert{},
		logins: map[kaiping.ID]*sim.Party{}, party: party}
	for _, e := range experts {
		c.experts[e.ID] = e
	}
	if c.host, err = party("远程评标主持人（开封）", kaiping.RoleHost); err != nil {
		return nil, err
	}
	if c.supervisor, err = party("抽取监督员（开封市住建局）", kaiping.RoleSupervisor); err != nil {
		return nil, err
	}
	host, supervisor := c.host, c.supervisor
	if err := admin.AssignStaff(ctx, tender.ID, kaiping.DutyEvaluationHost, host.ID); err != nil {
		return nil, err
	}
	if err := admin.AssignStaff(ctx, tender.ID, kaiping.DutySupervisor, supervisor.ID); err != nil {
		return nil, err
	}
	say("招标项目：%s（%s），招标人 %s；远程异地评标，主场开封，副场郑州、洛阳", tender.Title, tender.Code, tender.Tenderer)

	// The supervisor holds the seed: the platform commits to its hash before the pool is
	// read, and nobody, the platform included, can choose the committee.
	seed := make([]byte, draw.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	session := demoEvalSession(time.Now())
	var d evaluation.Draw
	if err := host.Client.Do(ctx, http.MethodPost, "/api/v1/draws", evaluation.DrawRequest{
		Tender: tender.ID, CommitteeSize: 7, TendererReps: demoEvalReps, OutsideSharePercent: 50, HostVenue: venues["410200"].ID, Session: session,
		Quotas:                 []draw.Quota{{Specialty: "A01", Count: 2}, {Specialty: "A10", Count: 1}, {Specialty: "A04", Count: 1}, {Specialty: "D", Count: 1}},
		SupervisingDepartments: []string{demoEvalSupervisor}, ConflictOrganisations: []string{demoEvalInterested},
		RespondMinutes: demoEvalRespond, SeedCommitment: draw.Commitment(seed),
	}, &d); err != nil {
		return nil, fmt.Errorf("request the draw: %w", err)
	}
	say("抽取申请：7 人委员会，随机抽取 5 名专家（房屋建筑 2、工程造价 1、水利水电 1、经济 1）、招标人代表 %d 名，异地专家不少于 50%%，评标时间 %s 至 %s（北京时间）",
		demoEvalReps, session.Start.In(kaiping.BeijingTime).Format("2006-01-02 15:04"), session.End.In(kaiping.BeijingTime).Format("15:04"))
	say("  种子承诺值 %s 已写入审计日志，随后生成候选快照：%d 名候选，%d 名回避，快照摘要 %.16s…", d.Commitment, d.SnapshotSize, d.Excluded, d.SnapshotDigest)
	// Who stepped aside may name a potential bidder, so it is shown only after the deadline
	// (in the demo it has passed: the tender was opened).
	if wait := time.Until(tender.Deadline); wait > 0 {
		say("  回避情况可能涉及潜在投标人，投标截止（%s）后方可查看；等待截止（真实时间）…", kaiping.BeijingString(tender.Deadline))
		if err := iox.Sleep(ctx, wait+200*time.Millisecond); err != nil {
			return nil, err
		}
	}
	if err := demoEvalExclusions(ctx, host.Client, d.ID, experts, say); err != nil {
		return nil, err
	}
	if err := supervisor.Client.Do(ctx, http.MethodPost, "/api/v1/draws/"+string(d.ID)+"/reveal",
		evaluation.RevealRequest{Seed: hex.EncodeToString(seed)}, &d); err != nil {
		return nil, fmt.Errorf("reveal the seed: %w", err)
	}
	c.draw = d
	say("  %s揭示种子 %.16s…，与承诺值相符，按种子与快照确定性抽取", supervisor.Name, d.Seed)

	first, err := demoEvalAnswers(ctx, c, say)
	if err != nil {
		return nil, err
	}
	var as struct{ Assignments []evaluation.SeatAssignment }
	if err := host.Client.Do(ctx, http.MethodPost, "/api/v1/draws/"+string(d.ID)+"/dispatch", nil, &as); err != nil {
		return nil, fmt.Errorf("dispatch: %w", err)
	}
	cities := map[string]bool{}
	say("工位调度（就近空闲工位）：")
	for _, a := range as.Assignments {
		e := c.experts[a.Expert]
		kind := "副场"
		if a.Host {
			kind = "主场"
		}
		cities[a.City] = true
		say("  %s（%s，%s）→ %s %s 工位 %s（%s，%.1f 公里）", e.Name, e.Code, cityOf(e.City), cityOf(a.City), a.VenueName, a.SeatCode, kind, a.DistanceKm)
	}
	say("  %d 名专家分布在 %d 个城市的评标工位", len(as.Assignments), len(cities))
	if err := demoEvalInboxes(ctx, c, say); err != nil {
		return nil, err
	}

	for _, dv := range demoEvalVenues {
		v := venues[dv.venue.City]
		staff, err := party(dv.staff, kaiping.RoleVenueStaff)
		if err != nil {
			return nil, err
		}
		if err := admin.Do(ctx, http.MethodPost, "/api/v1/venues/"+string(v.ID)+"/staff", evaluation.StaffRequest{Principal: staff.ID}, nil); err != nil {
			return nil, err
		}
		c.staff[v.ID] = staff
	}
	day := session.Start.In(kaiping.BeijingTime).Format(time.DateOnly)
	say("")
	say("评标页面（登录链接含会话令牌，%d 分钟内有效，仅在打开它的标签页内保存）/ evaluation pages:",
		int(time.Duration(setup.Config.Auth.SessionTTL).Minutes()))
	say("  主持人 host          %s", web.LoginLink(base, "evaluation/host.html?draw="+string(d.ID), host.Client.Token))
	say("  专家 expert（%s）  %s", first.Name, web.LoginLink(base, "evaluation/expert.html", first.Client.Token))
	say("  郑州场地 venue staff %s", web.LoginLink(base, "evaluation/venue.html?date="+day, c.staff[venues["410100"].ID].Client.Token))
	say("  管理员 admin         %s", web.LoginLink(base, "evaluation/admin.html", admin.Token))
	say("  抽取复核 verify      go run ./cmd/kaiping draw verify --config %s %s", setup.ConfigPath, d.ID)
	return c, nil
}

// demoEvalRespond is how long, in minutes, a drawn expert has to answer: the least a draw
// takes, so that the session can start soon after.
const demoEvalRespond = 5

// demoEvalStartsIn is how far ahead the committee's session starts: past the experts' time to
// answer (a draw's answers are due before its session starts) and well within the hour
// before the start when check-in may open (evaluation.DefaultConfig.CheckInLead), so the
// demo runs the session at once on the real clock.
const demoEvalStartsIn = 10 * time.Minute

// demoEvalSession is the committee's session: from the first whole minute demoEvalStartsIn
// ahead, for half a day.
func demoEvalSession(now time.Time) draw.Period {
	start := now.Add(demoEvalStartsIn).Truncate(time.Minute).Add(time.Minute)
	return draw.Period{Start: start, End: start.Add(4 * time.Hour)}
}

func cityOf(code string) string {
	if c, ok := evaluation.CityByCode(code); ok {
		return c.Name
	}
	return code
}

// demoEvalDirectory has the admin import the pool, record a declared relation, an earlier
// evaluation for the tenderer and a ban, and create the venues with their seats. It returns
// the pool by code and the venues by city.
func demoEvalDirectory(ctx context.Context, admin *apiclient.Client, say func(string, ...any)) (map[string]evaluation.Expert, map[string]evaluation.Venue, error) {
	var imported evaluation.ImportResult
	if err := postRaw(ctx, admin, "/api/v1/experts/import", "text/csv", []byte(strings.Join(demoEvalPool, "\n")+"\n"), &imported); err != nil {
		return nil, nil, fmt.Errorf("import the expert pool: %w", err)
	}
	var list struct{ Experts []evaluation.Expert }
	if err := admin.Do(ctx, http.MethodGet, "/api/v1/experts?limit=1000", nil, &list); err != nil {
		return nil, nil, err
	}
	experts := map[string]evaluation.Expert{}
	for _, e := range list.Experts {
		experts[e.Code] = e
	}
	say("专家库导入 %d 名专家（开封、郑州、洛阳），文件 SHA-256 %.16s…，全部或全不导入", imported.Imported, imported.Digest)
	banned := time.Now().AddDate(0, 6, 0)
	facts := []struct {
		code, path string
		body       any
	}{
		{"LY-005", "relations", evaluation.Relation{Organisation: demoEvalTenderer, Kind: "近亲属任职"}},
		{"ZZ-011", "history", evaluation.HistoryEntry{Tender: "KF-2026-017", Tenderer: demoEvalTenderer, At: time.Now().AddDate(0, -2, 0)}},
		{"ZZ-012", "violations", evaluation.Violation{Description: "评标打分明显畸高且拒不说明理由",
			Decision: "暂停评标资格六个月（汴公管〔2026〕12号）", BannedUntil: &banned}},
	}
	for _, f := range facts {
		if err := admin.Do(ctx, http.MethodPost, "/api/v1/experts/"+string(experts[f.code].ID)+"/"+f.path, f.body, nil); err != nil {
			return nil, nil, fmt.Errorf("record %s of %s: %w", f.path, f.code, err)
		}
	}
	say("  另登记：%s 申报与招标人的关联关系，%s 两个月前评审过同一招标人的项目，%s 受处理禁止评标",
		experts["LY-005"].Name, experts["ZZ-011"].Name, experts["ZZ-012"].Name)

	venues := map[string]evaluation.Venue{}
	for _, dv := range demoEvalVenues {
		var v evaluation.Venue
		if err := admin.Do(ctx, http.MethodPost, "/api/v1/venues", dv.venue, &v); err != nil {
			return nil, nil, fmt.Errorf("venue %s: %w", dv.venue.Code, err)
		}
		for i := 1; i <= dv.seats; i++ {
			if err := admin.Do(ctx, http.MethodPost, "/api/v1/venues/"+string(v.ID)+"/seats", evaluation.Seat{
				Code: fmt.Sprintf("A%02d", i), Equipment: []string{"camera", "microphone", "dual_screen", "id_reader", "signature_pad"},
			}, nil); err != nil {
				return nil, nil, err
			}
		}
		venues[v.City] = v
		say("  评标场地 %s %s：%d 个工位%s", v.Code, v.Name, dv.seats, map[bool]string{true: "，可作主场"}[v.CanHost])
	}
	return experts, venues, nil
}

// demoEvalExclusions prints who stepped aside, by reason.
func demoEvalExclusions(ctx context.Context, host *apiclient.Client, id kaiping.ID, experts map[string]evaluation.Expert, say func(string, ...any)) error {
	var ex struct{ Exclusions []draw.Exclusion }
	if err := host.Do(ctx, http.MethodGet, "/api/v1/draws/"+string(id)+"/exclusions", nil, &ex); err != nil {
		return err
	}
	name := map[string]string{}
	for _, e := range experts {
		name[string(e.ID)] = e.Code + " " + e.Name
	}
	lines := []string{}
	for _, x := range ex.Exclusions {
		lines = append(lines, fmt.Sprintf("  回避 %s：%s", name[x.Expert], x.Reasons[0].Message))
	}
	slices.Sort(lines)
	for _, l := range lines {
		say("%s", l)
	}
	return nil
}

// demoEvalAnswers has every drawn expert of c's draw log in and answer: the first of the
// committee declines, the replacement the sequence draws and everyone else accept. It returns
// a party who accepted.
func demoEvalAnswers(ctx context.Context, c *demoCommittee, say func(string, ...any)) (*sim.Party, error) {
	var accepted *sim.Party
	declined := false
	for {
		m, p, err := c.loginPending(ctx)
		if err != nil || p == nil {
			return accepted, err
		}
		e := c.experts[m.Expert]
		where := "本地"
		if m.Outside {
			where = "异地"
		}
		drawn := fmt.Sprintf("%s（%s，%s，%s，%s专家）", m.ExpertName, m.ExpertCode, cityOf(m.City), e.Employer, where)
		if m.Round > 0 {
			drawn = "递补 " + drawn
		}
		if !declined {
			declined = true
			if err := p.Client.Do(ctx, http.MethodPost, "/api/v1/expert/draws/"+string(c.draw.ID)+"/decline",
				evaluation.ReasonRequest{Reason: "评标当日在外地出差，无法按时到场"}, nil); err != nil {
				return nil, fmt.Errorf("%s declines: %w", e.Code, err)
			}
			say("  抽中 %s：拒绝参加（出差），按同一抽取序列递补", drawn)
			continue
		}
		if err := p.Client.Do(ctx, http.MethodPost, "/api/v1/expert/draws/"+string(c.draw.ID)+"/accept", nil, nil); err != nil {
			return nil, fmt.Errorf("%s accepts: %w", e.Code, err)
		}
		say("  抽中 %s：登录确认参加（专业配额 %s）", drawn, m.Quota)
		if accepted == nil {
			accepted = p
		}
	}
}

// loginPending gives the first drawn member still to answer a login: a certificate, a
// principal with the expert role, linked to the expert in the pool. It returns no party when
// every member has answered.
func (c *demoCommittee) loginPending(ctx context.Context) (evaluation.Member, *sim.Party, error) {
	var ms struct{ Members []evaluation.Member }
	if err := c.host.Client.Do(ctx, http.MethodGet, "/api/v1/draws/"+string(c.draw.ID)+"/members", nil, &ms); err != nil {
		return evaluation.Member{}, nil, err
	}
	i := slices.IndexFunc(ms.Members, func(m evaluation.Member) bool { return m.State == evaluation.MemberPending })
	if i < 0 {
		return evaluation.Member{}, nil, nil
	}
	m := ms.Members[i]
	p, err := c.party(m.ExpertName, kaiping.RoleExpert)
	if err != nil {
		return m, nil, err
	}
	e := c.experts[m.Expert]
	e.Principal = p.ID
	if err := c.admin.Do(ctx, http.MethodPut, "/api/v1/experts/"+string(e.ID), e, nil); err != nil {
		return m, nil, fmt.Errorf("link %s to a login: %w", e.Code, err)
	}
	c.experts[e.ID], c.logins[e.ID] = e, p
	return m, p, nil
}

// postRaw posts body as contentType (an import file, not JSON) and decodes the answer into out.
func postRaw(ctx context.Context, c *apiclient.Client, path, contentType string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var f evaluation.ImportFailure
		_ = json.Unmarshal(data, &f)
		return &apiclient.Error{Status: resp.StatusCode, Code: f.Error.Code, Message: fmt.Sprintf("%s %v", f.Error.Message, f.Rows)}
	}
	return json.Unmarshal(data, out)
}

// demoEvalInboxes says how many notices reached the drawn experts' inboxes (站内通知): the
// seat notices, and the draw notices of those who had a login when they were drawn (the
// others are told by SMS or e-mail, when notify is configured).
func demoEvalInboxes(ctx context.Context, c *demoCommittee, say func(string, ...any)) error {
	total, experts := 0, 0
	for _, p := range c.logins {
		var in notice.Inbox
		if err := p.Client.Do(ctx, http.MethodGet, "/api/v1/inbox", nil, &in); err != nil {
			return fmt.Errorf("%s's inbox: %w", p.Name, err)
		}
		total += len(in.Notices)
		if len(in.Notices) > 0 {
			experts++
		}
	}
	say("  站内通知：%d 条送达 %d 位专家的收件箱（页面右上角“通知”）", total, experts)
	return nil
}
