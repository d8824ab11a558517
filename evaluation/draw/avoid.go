package draw

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/kaiping/kaiping"
)

// Candidate is an expert of the pool with every fact avoidance (回避) looks at.
type Candidate struct {
	Expert      string
	City        string
	Specialties []string
	Status      string // active, suspended, on_leave
	Employer    string
	Relations   []Relation
	History     []Service
	Penalties   []Penalty
	Unavailable []Period // declared in the expert's calendar
	Busy        []Period // sessions of other draws the expert is a current member of
}

// Relation is a relationship the expert declared (申报的关联关系) with an organisation.
type Relation struct {
	Organisation string `json:"organisation"`
	Kind         string `json:"kind"` // 近亲属任职, 曾任职 (三年内), 持股, ...
}

// Service is one evaluation the expert served on (评标经历).
type Service struct {
	Tender   string    `json:"tender"` // project code
	Tenderer string    `json:"tenderer"`
	At       time.Time `json:"at"`
}

// Penalty is a recorded violation (违规记录) that bars the expert from evaluating until Until.
type Penalty struct {
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
}

// Period is a half-open time range [Start, End).
type Period struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Note  string    `json:"note,omitempty"`
}

// Overlaps reports whether p and q share an instant.
func (p Period) Overlaps(q Period) bool { return p.Start.Before(q.End) && q.Start.Before(p.End) }

// Conflicts are the facts of one tender that decide who must step aside.
type Conflicts struct {
	Tenderer string
	Bidders  []string
	// Others are further organisations with an interest in the tender (a bidder's parent
	// company, the agent), named by the host.
	Others []string
	// Supervisors are the supervising departments (行政监督部门); their staff step aside.
	Supervisors []string
	Session     Period
	// RecentWindow is how long an expert rests from a tenderer after evaluating for it.
	RecentWindow time.Duration
}

// The reason codes of an exclusion.
const (
	ReasonSuspended  = "status_suspended"
	ReasonOnLeave    = "status_on_leave"
	ReasonPenalised  = "penalised"
	ReasonCalendar   = "unavailable"
	ReasonBusy       = "busy"
	ReasonTenderer   = "employer_tenderer"
	ReasonBidder     = "employer_bidder"
	ReasonInterested = "employer_interested"
	ReasonRelation   = "relation"
	ReasonRecent     = "recent_tenderer"
	ReasonSupervisor = "supervisor_staff"
)

// Reason is why an expert steps aside, as a stable code and a Chinese sentence.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Exclusion is an expert left out of a draw, with every reason that applies.
type Exclusion struct {
	Expert  string   `json:"expert"`
	Reasons []Reason `json:"reasons"`
}

// Screen applies avoidance to the pool for one draw: experts who match none of the rules'
// quotas are irrelevant and left out silently; of the others, those with any reason to step
// aside are excluded (with all their reasons) and the rest form the snapshot. Both results
// are in expert order, so equal inputs give equal outputs.
func Screen(pool []Candidate, c Conflicts, rules Rules) (Snapshot, []Exclusion) {
	orgs := map[string]Reason{}
	add := func(name, code, format string) {
		if k := NormalizeOrg(name); k != "" {
			if _, ok := orgs[k]; !ok {
				orgs[k] = Reason{Code: code, Message: fmt.Sprintf(format, strings.TrimSpace(name))}
			}
		}
	}
	add(c.Tenderer, ReasonTenderer, "工作单位为本项目招标人（%s）")
	for _, b := range c.Bidders {
		add(b, ReasonBidder, "工作单位为本项目投标人（%s）")
	}
	for _, o := range c.Others {
		add(o, ReasonInterested, "工作单位与本项目有利害关系（%s）")
	}
	for _, s := range c.Supervisors {
		add(s, ReasonSupervisor, "为本项目行政监督部门（%s）工作人员")
	}
	tenderer := NormalizeOrg(c.Tenderer)
	recentFrom := c.Session.Start.Add(-c.RecentWindow)

	var entries []Entry
	var excluded []Exclusion
	for _, x := range pool {
		if !rules.matchesAny(x.Specialties) {
			continue
		}
		var rs []Reason
		switch x.Status {
		case "active":
		case "on_leave":
			rs = append(rs, Reason{ReasonOnLeave, "专家处于请假状态"})
		default:
			rs = append(rs, Reason{ReasonSuspended, "专家评标资格已暂停"})
		}
		for _, p := range x.Penalties {
			if c.Session.Start.Before(p.Until) {
				rs = append(rs, Reason{ReasonPenalised, fmt.Sprintf("受处理禁止评标至 %s：%s", day(p.Until), p.Reason)})
			}
		}
		for _, p := range x.Unavailable {
			if p.Overlaps(c.Session) {
				rs = append(rs, Reason{ReasonCalendar, fmt.Sprintf("已申报 %s 至 %s 不能参加评标%s", minute(p.Start), minute(p.End), note(p.Note))})
			}
		}
		for _, p := range x.Busy {
			if p.Overlaps(c.Session) {
				rs = append(rs, Reason{ReasonBusy, fmt.Sprintf("%s 至 %s 已被抽取参加其他项目评标", minute(p.Start), minute(p.End))})
			}
		}
		if r, ok := orgs[NormalizeOrg(x.Employer)]; ok {
			rs = append(rs, r)
		}
		for _, rel := range x.Relations {
			if r, ok := orgs[NormalizeOrg(rel.Organisation)]; ok {
				rs = append(rs, Reason{ReasonRelation, fmt.Sprintf("申报与 %s 存在关联关系（%s）：%s", strings.TrimSpace(rel.Organisation), rel.Kind, r.Message)})
			}
		}
		if tenderer != "" && c.RecentWindow > 0 {
			for _, h := range x.History {
				if !h.At.Before(recentFrom) && h.At.Before(c.Session.Start) && NormalizeOrg(h.Tenderer) == tenderer {
					rs = append(rs, Reason{ReasonRecent, fmt.Sprintf("%s 曾参加同一招标人项目 %s 的评标，未满 %d 天回避期",
						day(h.At), h.Tender, int(c.RecentWindow/(24*time.Hour)))})
					break
				}
			}
		}
		if rs != nil {
			excluded = append(excluded, Exclusion{Expert: x.Expert, Reasons: rs})
			continue
		}
		entries = append(entries, Entry{Expert: x.Expert, City: x.City, Specialties: x.Specialties})
	}
	slices.SortFunc(excluded, func(a, b Exclusion) int { return strings.Compare(a.Expert, b.Expert) })
	return NewSnapshot(entries), excluded
}

func day(t time.Time) string    { return t.In(kaiping.BeijingTime).Format("2006-01-02") }
func minute(t time.Time) string { return t.In(kaiping.BeijingTime).Format("2006-01-02 15:04") }
func note(s string) string {
	if s == "" {
		return ""
	}
	return "（" + s + "）"
}

// NormalizeOrg is the form in which two organisation names are compared: full-width letters,
// digits and brackets folded to ASCII, ASCII lowered, and all spaces removed, so "某某（集团）
// 有限公司" and "某某(集团)有限公司 " are the same organisation. Different legal names stay
// different: declared relations and the host's extra list cover affiliates.
func NormalizeOrg(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case unicode.IsSpace(r):
			continue
		case r >= '！' && r <= '～': // full-width ASCII block
			r -= 0xFEE0
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
