package evaluation

import (
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
)

// ExpertStatus is whether an expert may be drawn.
type ExpertStatus string

// The expert statuses.
const (
	StatusActive    ExpertStatus = "active"    // 正常
	StatusSuspended ExpertStatus = "suspended" // 暂停 (by an admin, e.g. after a violation)
	StatusOnLeave   ExpertStatus = "on_leave"  // 请假 (the expert's own long absence)
)

// Label is the status as users know it.
func (s ExpertStatus) Label() string {
	switch s {
	case StatusActive:
		return "正常"
	case StatusSuspended:
		return "暂停"
	case StatusOnLeave:
		return "请假"
	}
	return string(s)
}

func (s ExpertStatus) valid() bool {
	return s == StatusActive || s == StatusSuspended || s == StatusOnLeave
}

// Expert is a member of the provincial expert pool (评标专家库).
type Expert struct {
	ID   kaiping.ID `json:"id"`
	Code string     `json:"code"` // 专家编号, unique in the pool
	Name string     `json:"name"`
	// Phone is where notices go (短信/语音通知), an 11-digit mainland mobile number.
	Phone string `json:"phone,omitempty"`
	// Email is where notices go by e-mail (邮件通知), beside the inbox.
	Email string `json:"email,omitempty"`
	// Principal is the expert's login, through which they keep their own calendar and answer
	// draws; empty until the expert has a certificate.
	Principal   kaiping.ID   `json:"principal_id,omitempty"`
	Employer    string       `json:"employer"`    // 工作单位
	Titles      []string     `json:"titles"`      // 职称与执业资格
	Specialties []string     `json:"specialties"` // codes of the specialty classification
	City        string       `json:"city"`        // home city, 行政区划代码
	Lat         float64      `json:"lat"`
	Lon         float64      `json:"lon"`
	Status      ExpertStatus `json:"status"`
	// StatusReason says why an expert is suspended or on leave.
	StatusReason string `json:"status_reason,omitempty"`
	// IDNumber is the expert's resident ID card number (居民身份证号码), which venue staff
	// compare, masked, with the card at the seat.
	IDNumber string `json:"id_number,omitempty"`
	// HasPhoto says the pool holds the expert's photo for the identity check at the seat.
	HasPhoto  bool      `json:"has_photo"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

var (
	expertCodePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9\-]{0,31}$`)
	phonePattern      = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	cityCodePattern   = regexp.MustCompile(`^[1-8][0-9]{5}$`)
)

// Limits on an expert's record.
const (
	maxNameRunes     = 50
	maxOrgRunes      = 200
	maxTitles        = 10
	maxTitleRunes    = 50
	maxSpecialties   = 10
	maxReasonRunes   = 500
	maxCalendarRange = 366 * 24 * time.Hour
)

func invalid(code, format string, args ...any) error {
	return kaiping.Errorf(kaiping.KindInvalid, code, format, args...)
}

func runes(s string) int { return len([]rune(s)) }

// Validate checks an expert as an admin entered it, trims it and fills defaults: the city's
// centre when no coordinates are given, active when no status is.
func (e *Expert) Validate() error {
	e.Code = strings.TrimSpace(e.Code)
	e.Name = strings.TrimSpace(e.Name)
	e.Phone = strings.TrimSpace(e.Phone)
	e.Email = strings.TrimSpace(e.Email)
	e.Employer = strings.TrimSpace(e.Employer)
	e.City = strings.TrimSpace(e.City)
	switch {
	case !expertCodePattern.MatchString(e.Code):
		return invalid("expert.code", "专家编号只能包含字母、数字和 -，最长 32 位")
	case e.Name == "" || runes(e.Name) > maxNameRunes:
		return invalid("expert.name", "姓名不能为空，且不超过 %d 字", maxNameRunes)
	case e.Phone != "" && !phonePattern.MatchString(e.Phone):
		return invalid("expert.phone", "手机号码须为 11 位大陆手机号")
	case e.Email != "" && !validEmail(e.Email):
		return invalid("expert.email", "电子邮箱格式错误")
	case e.Employer == "" || runes(e.Employer) > maxOrgRunes:
		return invalid("expert.employer", "工作单位不能为空，且不超过 %d 字", maxOrgRunes)
	case e.Principal != "" && !e.Principal.Valid():
		return invalid("expert.principal", "登录账号 ID 格式错误")
	}
	e.IDNumber = strings.ToUpper(strings.TrimSpace(e.IDNumber))
	if e.IDNumber != "" && !ValidIDNumber(e.IDNumber) {
		return invalid("expert.id_number", "身份证号码须为 18 位且校验码正确")
	}
	if err := validateTitles(e.Titles); err != nil {
		return err
	}
	specs, err := validateSpecialties(e.Specialties)
	if err != nil {
		return err
	}
	e.Specialties = specs
	city, ok := CityByCode(e.City)
	if !ok {
		return invalid("expert.city", "城市代码 %q 不在城市目录中（须为地级行政区划代码，如 410200 开封市）", e.City)
	}
	if e.Lat == 0 && e.Lon == 0 {
		e.Lat, e.Lon = city.Lat, city.Lon
	}
	if !inChina(e.Lat, e.Lon) {
		return invalid("expert.coordinates", "坐标（纬度 %.4f，经度 %.4f）不在中国境内", e.Lat, e.Lon)
	}
	if e.Status == "" {
		e.Status = StatusActive
	}
	return checkStatus(e.Status, &e.StatusReason, false)
}

// checkStatus checks an expert's status and trims its reason: the one check of both an
// expert's record (created, updated or imported) and of an admin's change of status
// (SetStatus). decided says the status is an admin's decision, which needs a reason to
// leave the active status; a record entered with a status (an import has no reason column)
// does not.
func checkStatus(st ExpertStatus, reason *string, decided bool) error {
	*reason = strings.TrimSpace(*reason)
	switch {
	case !st.valid():
		return invalid("expert.status", "状态只能是 active（正常）、suspended（暂停）或 on_leave（请假）")
	case decided && (runes(*reason) > maxReasonRunes || st != StatusActive && *reason == ""):
		return invalid("expert.status_reason", "暂停或请假须写明原因（不超过 %d 字）", maxReasonRunes)
	case runes(*reason) > maxReasonRunes:
		return invalid("expert.status_reason", "状态说明不超过 %d 字", maxReasonRunes)
	}
	return nil
}

func validateTitles(titles []string) error {
	if len(titles) > maxTitles {
		return invalid("expert.titles", "职称与执业资格最多 %d 项", maxTitles)
	}
	for i, t := range titles {
		titles[i] = strings.TrimSpace(t)
		if titles[i] == "" || runes(titles[i]) > maxTitleRunes {
			return invalid("expert.titles", "第 %d 项职称为空或超过 %d 字", i+1, maxTitleRunes)
		}
	}
	return nil
}

// validateSpecialties checks every code is in the classification below class level and
// returns them sorted without repeats.
func validateSpecialties(codes []string) ([]string, error) {
	if len(codes) == 0 || len(codes) > maxSpecialties {
		return nil, invalid("expert.specialties", "须有 1 至 %d 个评标专业", maxSpecialties)
	}
	out := make([]string, 0, len(codes))
	for _, c := range codes {
		c = strings.ToUpper(strings.TrimSpace(c))
		s, ok := SpecialtyByCode(c)
		if !ok {
			return nil, invalid("expert.specialty_unknown", "专业代码 %q 不在《评标专家专业分类标准》目录中", c)
		}
		if s.Level == 1 {
			return nil, invalid("expert.specialty_level", "专业代码 %s（%s）是大类，请选择具体的专业", c, s.Name)
		}
		out = append(out, c)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// inChina is a coarse bounding box of the country, enough to catch swapped or missing
// coordinates.
func inChina(lat, lon float64) bool { return lat >= 3 && lat <= 54 && lon >= 73 && lon <= 136 }

// Relation is a relationship an expert declared (申报关联关系) with an organisation, which
// makes them step aside when that organisation is the tenderer, a bidder or an interested
// party.
type Relation struct {
	ID           kaiping.ID `json:"id"`
	Expert       kaiping.ID `json:"expert_id"`
	Organisation string     `json:"organisation"`
	Kind         string     `json:"kind"` // 近亲属任职, 三年内曾任职, 持股, ...
	CreatedAt    time.Time  `json:"created_at"`
}

// Validate checks a declared relation.
func (r *Relation) Validate() error {
	r.Organisation = strings.TrimSpace(r.Organisation)
	r.Kind = strings.TrimSpace(r.Kind)
	switch {
	case r.Organisation == "" || runes(r.Organisation) > maxOrgRunes:
		return invalid("relation.organisation", "关联单位名称不能为空，且不超过 %d 字", maxOrgRunes)
	case r.Kind == "" || runes(r.Kind) > maxTitleRunes:
		return invalid("relation.kind", "须写明关联关系（不超过 %d 字）", maxTitleRunes)
	}
	return nil
}

// Violation is a recorded violation (违规记录) of an expert; with BannedUntil set it bars
// the expert from draws until then.
type Violation struct {
	ID          kaiping.ID `json:"id"`
	Expert      kaiping.ID `json:"expert_id"`
	Description string     `json:"description"`
	Decision    string     `json:"decision"` // 处理决定 and its document number
	BannedUntil *time.Time `json:"banned_until,omitempty"`
	RecordedBy  kaiping.ID `json:"recorded_by"`
	RecordedAt  time.Time  `json:"recorded_at"`
}

// Validate checks a violation recorded at now.
func (v *Violation) Validate(now time.Time) error {
	v.Description = strings.TrimSpace(v.Description)
	v.Decision = strings.TrimSpace(v.Decision)
	switch {
	case v.Description == "" || runes(v.Description) > maxReasonRunes:
		return invalid("violation.description", "须写明违规事实（不超过 %d 字）", maxReasonRunes)
	case v.Decision == "" || runes(v.Decision) > maxReasonRunes:
		return invalid("violation.decision", "须写明处理决定（不超过 %d 字）", maxReasonRunes)
	case v.BannedUntil != nil && !v.BannedUntil.After(now):
		return invalid("violation.banned_until", "禁止评标的截止时间须晚于当前时间")
	}
	return nil
}

// Assessment is one evaluation of an expert's work on a tender (评价考评), 0 to 100.
type Assessment struct {
	ID         kaiping.ID `json:"id"`
	Expert     kaiping.ID `json:"expert_id"`
	Tender     string     `json:"tender_code"`
	Score      int        `json:"score"`
	Comment    string     `json:"comment"`
	AssessedBy kaiping.ID `json:"assessed_by"`
	AssessedAt time.Time  `json:"assessed_at"`
}

// Validate checks an assessment.
func (as *Assessment) Validate() error {
	as.Tender = strings.TrimSpace(as.Tender)
	as.Comment = strings.TrimSpace(as.Comment)
	switch {
	case as.Tender == "" || runes(as.Tender) > 64:
		return invalid("assessment.tender", "须写明被考评的项目编号")
	case as.Score < 0 || as.Score > 100:
		return invalid("assessment.score", "考评分须在 0 至 100 之间")
	case runes(as.Comment) > maxReasonRunes:
		return invalid("assessment.comment", "考评意见不超过 %d 字", maxReasonRunes)
	}
	return nil
}

// HistoryEntry is one evaluation an expert served on (评标经历): recorded when the expert
// accepts a draw, or imported from the centre's earlier system.
type HistoryEntry struct {
	ID       kaiping.ID `json:"id"`
	Expert   kaiping.ID `json:"expert_id"`
	Tender   string     `json:"tender_code"`
	Tenderer string     `json:"tenderer"`
	At       time.Time  `json:"at"`
	Draw     kaiping.ID `json:"draw_id,omitempty"`
}

// Validate checks an imported history entry.
func (h *HistoryEntry) Validate() error {
	h.Tender = strings.TrimSpace(h.Tender)
	h.Tenderer = strings.TrimSpace(h.Tenderer)
	switch {
	case h.Tender == "" || runes(h.Tender) > 64:
		return invalid("history.tender", "须写明项目编号")
	case h.Tenderer == "" || runes(h.Tenderer) > maxOrgRunes:
		return invalid("history.tenderer", "须写明招标人")
	case h.At.IsZero():
		return invalid("history.at", "须写明评标日期")
	}
	return nil
}

// Unavailability is a period an expert declared they cannot evaluate (不可参加评标时段).
// The calendar records only these: an active expert is available whenever no period says
// otherwise, which is how centres run it (experts report absences, not presences).
type Unavailability struct {
	ID     kaiping.ID `json:"id"`
	Expert kaiping.ID `json:"expert_id"`
	Start  time.Time  `json:"start"`
	End    time.Time  `json:"end"`
	Note   string     `json:"note,omitempty"`
}

// Validate checks a period declared at now: it must end after it starts and after now, and
// last at most a year.
func (u *Unavailability) Validate(now time.Time) error {
	u.Note = strings.TrimSpace(u.Note)
	switch {
	case u.Start.IsZero() || u.End.IsZero() || !u.Start.Before(u.End):
		return invalid("calendar.period", "须给出开始和结束时间，且开始早于结束")
	case !u.End.After(now):
		return invalid("calendar.past", "不可参加时段已经过去，无需申报")
	case u.End.Sub(u.Start) > maxCalendarRange:
		return invalid("calendar.too_long", "单次申报不超过一年；长期不能参加请申请请假状态")
	case runes(u.Note) > maxTitleRunes:
		return invalid("calendar.note", "说明不超过 %d 字", maxTitleRunes)
	}
	return nil
}

// Profile is an expert with everything recorded about them.
type Profile struct {
	Expert
	Relations      []Relation       `json:"relations"`
	Unavailability []Unavailability `json:"unavailability"`
	History        []HistoryEntry   `json:"history"`
	Assessments    []Assessment     `json:"assessments"`
	Violations     []Violation      `json:"violations"`
}

// ExpertFilter narrows a listing of the pool.
type ExpertFilter struct {
	Specialty string       // code prefix
	City      string       // division code
	Status    ExpertStatus // empty: any
	Limit     int
	Offset    int
}

// ValidIDNumber reports whether n is an 18-character resident ID number whose last character
// is the GB 11643 check digit of the first 17.
func ValidIDNumber(n string) bool {
	if len(n) != 18 {
		return false
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		if n[i] < '0' || n[i] > '9' {
			return false
		}
		sum += int(n[i]-'0') * w
	}
	return n[17] == "10X98765432"[sum%11]
}

// validEmail accepts one plain address (name@domain), nothing a mail header could be
// smuggled through.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s && len(s) <= 254
}
