package draw

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestScreenReasons(t *testing.T) {
	s := testSession
	conflicts := Conflicts{
		Tenderer:     "开封市第一中学",
		Bidders:      []string{"甲建设工程有限公司", "乙建设集团（河南）有限公司"},
		Others:       []string{"丙招标代理有限公司"},
		Supervisors:  []string{"开封市住房和城乡建设局"},
		Session:      s,
		RecentWindow: 90 * 24 * time.Hour,
	}
	rules := testRules(Quota{"A01", 1})
	base := func(id int) Candidate {
		return Candidate{Expert: testID(id), City: "410100", Specialties: []string{"A0101"}, Status: "active", Employer: "无关设计院"}
	}
	tests := []struct {
		name  string
		edit  func(*Candidate)
		codes []string // nil: eligible
	}{
		{"eligible", func(*Candidate) {}, nil},
		{"suspended", func(c *Candidate) { c.Status = "suspended" }, []string{ReasonSuspended}},
		{"on leave", func(c *Candidate) { c.Status = "on_leave" }, []string{ReasonOnLeave}},
		{"penalised", func(c *Candidate) {
			c.Penalties = []Penalty{{Until: s.Start.Add(time.Hour), Reason: "无故缺席评标"}}
		}, []string{ReasonPenalised}},
		{"penalty over", func(c *Candidate) {
			c.Penalties = []Penalty{{Until: s.Start, Reason: "无故缺席评标"}}
		}, nil},
		{"calendar overlaps", func(c *Candidate) {
			c.Unavailable = []Period{{Start: s.End.Add(-time.Minute), End: s.End.Add(time.Hour), Note: "出差"}}
		}, []string{ReasonCalendar}},
		{"calendar touches the end", func(c *Candidate) {
			c.Unavailable = []Period{{Start: s.End, End: s.End.Add(time.Hour)}}
		}, nil},
		{"busy in another draw", func(c *Candidate) { c.Busy = []Period{s} }, []string{ReasonBusy}},
		{"works for the tenderer", func(c *Candidate) { c.Employer = " 开封市第一中学" }, []string{ReasonTenderer}},
		{"works for a bidder, full-width brackets", func(c *Candidate) { c.Employer = "乙建设集团(河南)有限公司" }, []string{ReasonBidder}},
		{"works for an interested party", func(c *Candidate) { c.Employer = "丙招标代理有限公司" }, []string{ReasonInterested}},
		{"supervising department staff", func(c *Candidate) { c.Employer = "开封市住房和城乡建设局" }, []string{ReasonSupervisor}},
		{"declared relation with a bidder", func(c *Candidate) {
			c.Relations = []Relation{{Organisation: "甲建设工程有限公司", Kind: "配偶任职"}, {Organisation: "无关公司", Kind: "曾任职"}}
		}, []string{ReasonRelation}},
		{"served the tenderer 30 days ago", func(c *Candidate) {
			c.History = []Service{{Tender: "KF-2026-017", Tenderer: "开封市第一中学", At: s.Start.AddDate(0, 0, -30)}}
		}, []string{ReasonRecent}},
		{"served the tenderer 100 days ago", func(c *Candidate) {
			c.History = []Service{{Tender: "KF-2026-001", Tenderer: "开封市第一中学", At: s.Start.AddDate(0, 0, -100)}}
		}, nil},
		{"served another tenderer", func(c *Candidate) {
			c.History = []Service{{Tender: "ZZ-1", Tenderer: "郑州市第二中学", At: s.Start.AddDate(0, 0, -3)}}
		}, nil},
		{"several reasons at once", func(c *Candidate) {
			c.Status = "suspended"
			c.Employer = "甲建设工程有限公司"
			c.Busy = []Period{s}
		}, []string{ReasonSuspended, ReasonBusy, ReasonBidder}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base(i)
			tt.edit(&c)
			snap, ex := Screen([]Candidate{c}, conflicts, rules)
			if tt.codes == nil {
				if len(ex) != 0 || len(snap.Entries) != 1 {
					t.Fatalf("excluded %+v, want eligible", ex)
				}
				return
			}
			if len(snap.Entries) != 0 || len(ex) != 1 {
				t.Fatalf("snapshot %v, exclusions %v", snap.Entries, ex)
			}
			var codes []string
			for _, r := range ex[0].Reasons {
				codes = append(codes, r.Code)
				if r.Message == "" || strings.ContainsAny(r.Message, "%!") {
					t.Errorf("reason %s has message %q", r.Code, r.Message)
				}
			}
			if !reflect.DeepEqual(codes, tt.codes) {
				t.Fatalf("reasons %v, want %v (%+v)", codes, tt.codes, ex[0].Reasons)
			}
		})
	}
}

func TestScreenMessages(t *testing.T) {
	c := Candidate{Expert: testID(1), City: "410100", Specialties: []string{"A0101"}, Status: "active",
		History:   []Service{{Tender: "KF-2026-017", Tenderer: "某中学", At: testSession.Start.AddDate(0, 0, -30)}},
		Relations: []Relation{{Organisation: "甲公司", Kind: "配偶任职"}}}
	_, ex := Screen([]Candidate{c}, Conflicts{Tenderer: "某中学", Bidders: []string{"甲公司"}, Session: testSession,
		RecentWindow: 180 * 24 * time.Hour}, testRules(Quota{"A", 1}))
	got := []string{ex[0].Reasons[0].Message, ex[0].Reasons[1].Message}
	want := []string{
		"申报与 甲公司 存在关联关系（配偶任职）：工作单位为本项目投标人（甲公司）",
		"2026-05-02 曾参加同一招标人项目 KF-2026-017 的评标，未满 180 天回避期",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("messages %q, want %q", got, want)
	}
}

func TestScreenIgnoresOtherSpecialties(t *testing.T) {
	pool := []Candidate{
		{Expert: testID(2), City: "410100", Specialties: []string{"B0301"}, Status: "suspended"},
		{Expert: testID(1), City: "410100", Specialties: []string{"A0101", "A0101"}, Status: "active"},
	}
	snap, ex := Screen(pool, Conflicts{Session: testSession}, testRules(Quota{"A01", 1}))
	if len(ex) != 0 || len(snap.Entries) != 1 || !reflect.DeepEqual(snap.Entries[0].Specialties, []string{"A0101"}) {
		t.Fatalf("snapshot %+v, exclusions %+v", snap.Entries, ex)
	}
}

func TestNormalizeOrg(t *testing.T) {
	tests := map[string]string{
		"某某（集团）有限公司":      "某某(集团)有限公司",
		" ＡＢＣ 科技  有限公司 ":  "abc科技有限公司",
		"ABC\u3000科技有限公司": "abc科技有限公司",
		"":                "",
	}
	for in, want := range tests {
		if got := NormalizeOrg(in); got != want {
			t.Errorf("NormalizeOrg(%q) = %q, want %q", in, got, want)
		}
	}
}
