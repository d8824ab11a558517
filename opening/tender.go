// Package opening is the no-show bid opening (不见面开标): tenders and their sections,
// bidder registration and the blacklist, sealed-bid submission with receipts, and (later) the
// online opening hall. It depends on the root package and on the small interfaces it defines;
// storage/postgres implements them.
package opening

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/scoring"
)

// Tender is a procurement project (招标项目) as the platform runs it.
type Tender struct {
	ID       kaiping.ID `json:"id"`
	Code     string     `json:"code"`     // 项目编号, unique
	Title    string     `json:"title"`    // 项目名称
	Tenderer string     `json:"tenderer"` // 招标人
	// Deadline is the bid submission deadline (投标截止时间), which is also the opening time.
	Deadline time.Time    `json:"deadline"`
	Plan     EnvelopePlan `json:"envelope_plan"`
	// Suite is the cipher suite bids must be sealed with: aes256gcm, or sm4gcm in
	// national-crypto mode (国密).
	Suite string `json:"suite"`
	// SummaryFields are the fields of the 开标一览表 the opening record shows.
	SummaryFields []SummaryField `json:"summary_fields"`
	// MaxEnvelopeBytes bounds each sealed envelope file.
	MaxEnvelopeBytes int64 `json:"max_envelope_bytes"`
	// MinBids is the fewest valid bids for the opening to proceed; below it the tender fails
	// (流标). The law's minimum is 3; a tender may raise it, never lower it.
	MinBids int          `json:"min_bids"`
	Rescue  RescuePolicy `json:"rescue"`
	// CheckInMinutes is how long check-in (签到) runs at least before the host may open the
	// decrypt window, so that a window cannot open on bidders who had no time to arrive.
	CheckInMinutes int `json:"checkin_minutes"`
	// Cosign names the irreversible steps that need a supervisor's co-signature (监督会签):
	// CosignDecrypting, CosignQualification. The host proposes such a step and an assigned
	// supervisor's co-signature carries it out (hall_cosign.go).
	Cosign []CosignStep `json:"cosign"`
	// SilenceConsents says, as the tender documents may (招标文件约定), that a bidder who
	// neither confirms the opening record nor objects within the confirmation period is
	// deemed to accept it (视为认可); otherwise it is recorded only as not having confirmed.
	SilenceConsents bool `json:"silence_consents"`
	// GovernmentProcurement says the tender is a government procurement (政府采购, under
	// 《政府采购法》 rather than 《招标投标法》): the purchaser's representative on the
	// evaluation committee may not be its chair (财政部令第87号 Art. 45).
	GovernmentProcurement bool `json:"government_procurement"`
	// Method is the tender's evaluation method (评标办法: evaluation/SCORING.md), fixed at its
	// creation and published with it: the committee's scores, totals and ranking are computed
	// from it and nothing else (《招标投标法实施条例》 Art. 49). Stored normalized, its defaults
	// written out, so what was published is what is computed.
	Method   *scoring.Method `json:"evaluation_method,omitempty"`
	Sections []Section       `json:"sections"`

	CreatedBy kaiping.ID `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
}

// Section is a lot (标段) of a tender; bidders register and bid per section.
type Section struct {
	ID   kaiping.ID `json:"id"`
	Code string     `json:"code"` // 标段编号, unique within the tender
	Name string     `json:"name"`
}

// EnvelopePlan is how many envelopes a bid has and when they open.
type EnvelopePlan string

// The envelope plans.
const (
	// SingleEnvelope bids have a summary and one body envelope, all opened at once.
	SingleEnvelope EnvelopePlan = "single"
	// TwoEnvelope (双信封) bids open the technical envelope first and the commercial one
	// with the summary (开标一览表, which holds the price) later, only for bidders who
	// passed the technical stage: no price is known while the technical bids are judged.
	TwoEnvelope EnvelopePlan = "two_envelope"
)

// EnvelopeKinds lists the envelopes a bid under plan p must contain.
func (p EnvelopePlan) EnvelopeKinds() []string {
	if p == TwoEnvelope {
		return []string{"summary", "technical", "commercial"}
	}
	return []string{"summary", "technical"}
}

// OpensIn reports whether an envelope of kind opens in round (1, or 2 for the commercial
// round of a two-envelope tender): a single-envelope bid opens whole in round 1; a
// two-envelope bid opens its technical envelope in round 1 and its summary and commercial
// envelopes in round 2.
func (p EnvelopePlan) OpensIn(round int, kind string) bool {
	if p != TwoEnvelope {
		return round == 1 && (kind == "summary" || kind == "technical")
	}
	if round >= 2 {
		return kind == "summary" || kind == "commercial"
	}
	return kind == "technical"
}

// FieldType is the type of an opening-record field.
type FieldType string

// Field types of the 开标一览表.
const (
	FieldMoney   FieldType = "money"   // 元, two decimals: 投标报价
	FieldDays    FieldType = "days"    // whole days: 工期
	FieldPercent FieldType = "percent" // 下浮率, 费率
	FieldText    FieldType = "text"    // 质量标准, 项目经理
)

// SummaryField is one field the opening record shows for every bid.
type SummaryField struct {
	Key      string    `json:"key"`   // machine name: price, duration, quality, ...
	Label    string    `json:"label"` // 投标报价（元）
	Type     FieldType `json:"type"`
	Required bool      `json:"required"`
}

// RescuePolicy is the tender's decryption-failure rescue plan (解密失败补救方案): when enabled,
// every bid must also be sealed to the tender's rescue key, whose private half is split
// Threshold-of-len(Holders) among supervisors.
type RescuePolicy struct {
	Enabled   bool         `json:"enabled"`
	Threshold int          `json:"threshold,omitempty"`
	Holders   []kaiping.ID `json:"holders,omitempty"` // supervisor principals
	// KeyID and PublicKey are the rescue key bidders seal to (seal.NewRescueRecipient),
	// made by the server when the tender is created; a request may not set them.
	KeyID     string `json:"key_id,omitempty"`
	PublicKey []byte `json:"public_key,omitempty"` // 65-byte uncompressed P-256 point
}

// Limits of what a tender may ask for.
const (
	LegalMinBids         = 3
	MaxSections          = 100
	MaxSummaryFields     = 30
	DefaultMaxEnvelope   = 200 << 20 // 200 MiB
	MaxEnvelopeBytesCap  = 8 << 30   // 8 GiB
	minDeadlineLeadTime  = time.Minute
	maxRescueHolders     = 32
	maxTitleRunes        = 300
	maxFieldLabelRunes   = 50
	maxSectionNameRunes  = 200
	maxTendererNameRunes = 200
)

var (
	codePattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$`)
	fieldKeyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
)

func invalid(code, format string, args ...any) error {
	return kaiping.Errorf(kaiping.KindInvalid, code, format, args...)
}

// Validate checks the tender as a host submitted it, at time now, and fills defaults.
func (t *Tender) Validate(now time.Time) error {
	t.Code = strings.TrimSpace(t.Code)
	t.Title = strings.TrimSpace(t.Title)
	t.Tenderer = strings.TrimSpace(t.Tenderer)
	switch {
	case !codePattern.MatchString(t.Code):
		return invalid("tender.code", "项目编号只能包含字母、数字和 . _ -，最长 64 位")
	case t.Title == "" || len([]rune(t.Title)) > maxTitleRunes:
		return invalid("tender.title", "项目名称不能为空，且不超过 %d 字", maxTitleRunes)
	case t.Tenderer == "" || len([]rune(t.Tenderer)) > maxTendererNameRunes:
		return invalid("tender.tenderer", "招标人不能为空，且不超过 %d 字", maxTendererNameRunes)
	case t.Deadline.Before(now.Add(minDeadlineLeadTime)):
		return invalid("tender.deadline", "投标截止时间必须晚于当前时间至少 1 分钟")
	}
	if t.Method != nil {
		m := t.Method.Normalized()
		if err := m.Validate(); err != nil {
			return err
		}
		t.Method = &m
	}
	switch t.Plan {
	case "":
		t.Plan = SingleEnvelope
	case SingleEnvelope, TwoEnvelope:
	default:
		return invalid("tender.envelope_plan", "信封方式只能是 single（单信封）或 two_envelope（双信封）")
	}
	switch t.Suite {
	case "":
		t.Suite = "aes256gcm"
	case "aes256gcm", "sm4gcm":
	default:
		return invalid("tender.suite", "加密算法只能是 aes256gcm 或 sm4gcm（国密）")
	}
	if t.MaxEnvelopeBytes == 0 {
		t.MaxEnvelopeBytes = DefaultMaxEnvelope
	}
	if t.MaxEnvelopeBytes < 1<<10 || t.MaxEnvelopeBytes > MaxEnvelopeBytesCap {
		return invalid("tender.max_envelope_bytes", "单个投标文件大小上限须在 1 KiB 至 8 GiB 之间")
	}
	if t.MinBids == 0 {
		t.MinBids = LegalMinBids
	}
	if t.MinBids < LegalMinBids {
		return invalid("tender.min_bids", "有效投标人数下限不得低于法定的 %d 家", LegalMinBids)
	}
	if err := t.validateGuards(); err != nil {
		return err
	}
	if err := validateFields(t.SummaryFields); err != nil {
		return err
	}
	if err := validateSections(t.Sections); err != nil {
		return err
	}
	return t.Rescue.validate()
}

func validateFields(fields []SummaryField) error {
	if len(fields) == 0 || len(fields) > MaxSummaryFields {
		return invalid("tender.summary_fields", "开标一览表须有 1 至 %d 个字段", MaxSummaryFields)
	}
	seen := map[string]bool{}
	hasPrice := false
	for i, f := range fields {
		if !fieldKeyPattern.MatchString(f.Key) {
			return invalid("tender.field_key", "第 %d 个字段的键名须为小写字母开头的字母、数字、下划线", i+1)
		}
		if seen[f.Key] {
			return invalid("tender.field_duplicate", "字段 %s 重复", f.Key)
		}
		seen[f.Key] = true
		if strings.TrimSpace(f.Label) == "" || len([]rune(f.Label)) > maxFieldLabelRunes {
			return invalid("tender.field_label", "字段 %s 须有不超过 %d 字的名称", f.Key, maxFieldLabelRunes)
		}
		switch f.Type {
		case FieldMoney:
			hasPrice = true
		case FieldDays, FieldPercent, FieldText:
		default:
			return invalid("tender.field_type", "字段 %s 的类型 %q 不支持（money、days、percent、text）", f.Key, f.Type)
		}
	}
	if !hasPrice {
		// 唱标 always reads out a price: 《招标投标法》 Art. 36.
		return invalid("tender.no_price", "开标一览表必须包含至少一个金额（money）字段，如投标报价")
	}
	return nil
}

func validateSections(sections []Section) error {
	if len(sections) == 0 || len(sections) > MaxSections {
		return invalid("tender.sections", "项目须有 1 至 %d 个标段", MaxSections)
	}
	seen := map[string]bool{}
	for i := range sections {
		s := &sections[i]
		s.Code = strings.TrimSpace(s.Code)
		s.Name = strings.TrimSpace(s.Name)
		if !codePattern.MatchString(s.Code) {
			return invalid("tender.section_code", "第 %d 个标段编号格式错误", i+1)
		}
		if seen[s.Code] {
			return invalid("tender.section_duplicate", "标段编号 %s 重复", s.Code)
		}
		seen[s.Code] = true
		if s.Name == "" || len([]rune(s.Name)) > maxSectionNameRunes {
			return invalid("tender.section_name", "标段 %s 须有名称（不超过 %d 字）", s.Code, maxSectionNameRunes)
		}
		s.ID = kaiping.NewID()
	}
	return nil
}

func (r *RescuePolicy) validate() error {
	if r.KeyID != "" || len(r.PublicKey) != 0 {
		return invalid("tender.rescue_key", "补救公钥由平台在创建项目时生成，请求中不应包含")
	}
	if !r.Enabled {
		if r.Threshold != 0 || len(r.Holders) != 0 {
			return invalid("tender.rescue", "未启用解密补救方案时不应指定门限或持有人")
		}
		return nil
	}
	n := len(r.Holders)
	if r.Threshold < 2 || r.Threshold > n || n > maxRescueHolders {
		return invalid("tender.rescue_threshold", "补救密钥门限须满足 2 ≤ k ≤ n ≤ %d（当前 k=%d, n=%d）", maxRescueHolders, r.Threshold, n)
	}
	seen := map[kaiping.ID]bool{}
	for _, h := range r.Holders {
		if seen[h] {
			return invalid("tender.rescue_holder_duplicate", "补救密钥持有人 %s 重复", h)
		}
		seen[h] = true
	}
	return nil
}

// Section returns the section with the given code or ID.
func (t *Tender) Section(ref string) (Section, error) {
	for _, s := range t.Sections {
		if s.Code == ref || string(s.ID) == ref {
			return s, nil
		}
	}
	return Section{}, kaiping.E(kaiping.KindNotFound, "tender.section_not_found", fmt.Sprintf("标段 %s 不存在", ref))
}
