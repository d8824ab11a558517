// Package scoring is the evaluation method of a tender (评标办法) as a pure function: from
// the method the tender carries since its creation, the bids, the members' initial-review
// verdicts and their score sheets, it computes the valid bids, the price scores, every
// member's totals and the committee's, the ranking with its ties, the recommended
// candidates and the warnings to settle before the report is signed. Nothing here touches a
// database or a clock and no floating point decides anything: points are integers in
// hundredths, prices integers in fen, every quotient exact until the one rounding SCORING.md
// names, so anyone holding the ledgered inputs can recompute every figure. SCORING.md in the
// parent folder specifies it.
package scoring

import (
	"slices"

	"github.com/kaiping/kaiping"
)

// Version names the rules of this package. A method records it; a different version would
// be a different computation with its own name.
const Version = "kaiping-scoring/v1"

// The evaluation methods (评标方法).
const (
	// KindLowestPrice is 经评审的最低投标价法: no technical scores, bids ranked by evaluated
	// price (the bid price plus the commercial deviation adjustments the tender names).
	KindLowestPrice = "lowest_price"
	// KindComprehensive is 综合评估法: members score the tender's criteria, a price score
	// is added, bids ranked by total.
	KindComprehensive = "comprehensive"
)

// The stages of the initial review (初步评审).
const (
	StageForm           = "form"           // 形式评审
	StageQualification  = "qualification"  // 资格评审
	StageResponsiveness = "responsiveness" // 响应性评审
)

// The price rules of 综合评估法.
const (
	// PriceLowBase is the low-price base (低价优先法): base = the lowest evaluated price,
	// score = base / price × Max.
	PriceLowBase = "low_base"
	// PriceAverageBase is the average base (基准价法): S from the valid prices, optionally
	// lowered by a 下浮 rate, score = Max − |price − S| / S × 100 × K.
	PriceAverageBase = "average_base"
)

// The tie-break keys, applied in the method's order to bids with equal totals (or equal
// evaluated prices).
const (
	TieLowerPrice      = "price"     // the lower bid price first
	TieHigherTechnical = "technical" // the higher score without the price score first
	TieNone            = "none"      // no break: equal bids are 并列
)

// The rounding modes.
const (
	RoundHalfUp   = "half_up"   // 四舍五入: a half goes away from zero
	RoundHalfEven = "half_even" // a half goes to the even neighbour (银行家舍入)
)

// Method is how a tender's bids are evaluated, fixed when the tender is created and
// ledgered with it. Zero fields take the defaults SCORING.md §2 names (Normalized fills
// them), so the stored method need only say what the tender says.
type Method struct {
	Version string `json:"version"`
	Kind    string `json:"kind"`
	// Review is the initial review (初步评审): pass/fail items, each judged by every member.
	Review []ReviewItem `json:"review,omitempty"`
	// Adjustments are the commercial deviation adjustments (商务偏差调整) the tender names:
	// the committee enters an amount per bid for each, added to the bid price.
	Adjustments []Adjustment `json:"adjustments,omitempty"`
	// Criteria are the scored groups of 综合评估法 (评分因素), without the price score.
	Criteria []Group `json:"criteria,omitempty"`
	// Price is the price score of 综合评估法.
	Price       *PriceRule  `json:"price,omitempty"`
	Aggregation Aggregation `json:"aggregation"`
	Rounding    Rounding    `json:"rounding"`
	// Ties are the tie-break keys in order (default: the lower price first, then 并列).
	Ties []string `json:"ties,omitempty"`
	// Candidates is how many candidates to recommend (中标候选人), 1 to 3 (default 3).
	Candidates int    `json:"candidates"`
	Checks     Checks `json:"checks"`
}

// ReviewItem is one pass/fail item of the initial review.
type ReviewItem struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Stage string `json:"stage"`
}

// Adjustment is one commercial deviation adjustment the tender names (e.g. 付款条件偏差).
type Adjustment struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Group is a group of criteria (技术部分, 商务部分). Its items' points are multiplied by
// Weight percent in the total; the default 100 counts the points as they are.
type Group struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Weight int    `json:"weight"`
	Items  []Item `json:"items"`
}

// Item is one scored criterion (评分项). Max is in hundredths of a point. An objective item
// (客观分) must be scored identically by every member; a subjective one (主观分) is scored
// independently.
type Item struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	Max       int64  `json:"max"`
	Objective bool   `json:"objective,omitempty"`
}

// PriceRule is the price score (价格分). Max is the full price score (P_max or C) in
// hundredths of a point. KAbove and KBelow are the points deducted per 1 % of deviation
// above and below the base price, in hundredths of a point (defaults 100 and 50: 1 point
// and 0.5 point). TrimFrom is the number of valid prices from which the highest and the
// lowest are left out of the average (default 5). Downward is the 下浮 rate in basis points
// (1/10,000); DownwardChoices, when given, are the rates one of which is drawn at the
// opening, and the drawn rate is an input.
type PriceRule struct {
	Rule            string  `json:"rule"`
	Max             int64   `json:"max"`
	KAbove          int64   `json:"k_above,omitempty"`
	KBelow          int64   `json:"k_below,omitempty"`
	TrimFrom        int     `json:"trim_from,omitempty"`
	Downward        int64   `json:"downward,omitempty"`
	DownwardChoices []int64 `json:"downward_choices,omitempty"`
}

// Aggregation is how the members' scores of an item become the committee's: first Drop
// members are left out, one at a time, each the member whose totals spread most from the
// committee's (SCORING.md §5.2); then, per bid and item, the Trim highest and the Trim
// lowest scores are left out and the rest averaged. Both zero (the default) is the mean.
type Aggregation struct {
	Drop int `json:"drop"`
	Trim int `json:"trim"`
}

// Rounding is where results stop: Unit in hundredths of a point (1, 10 or 100, default 1:
// two decimals) and Mode (default half_up).
type Rounding struct {
	Unit int64  `json:"unit"`
	Mode string `json:"mode"`
}

// Checks are the thresholds of the warnings that need one (SCORING.md §8); zero takes the
// default.
type Checks struct {
	// DeviationZ is the robust z-score, in hundredths, above which a member's score of a
	// subjective item deviates (default 350: 3.5).
	DeviationZ int64 `json:"deviation_z"`
	// DeviationShare is the share of the item's maximum, in basis points, that the distance
	// from the median must also exceed (default 1000: 10 %).
	DeviationShare int64 `json:"deviation_share"`
	// BelowCeiling and BelowMean flag a price below this share of the ceiling and below this
	// share of the mean of the valid prices, in basis points (defaults 8500 and 9000).
	BelowCeiling int64 `json:"below_ceiling"`
	BelowMean    int64 `json:"below_mean"`
	// ProgressionRun is how many neighbouring prices with one common difference make a
	// regular pattern (default 3).
	ProgressionRun int `json:"progression_run"`
}

// Normalized returns m with every zero field that has a default set to it (SCORING.md §2).
// Slices are copied, so the result shares nothing mutable with m.
func (m Method) Normalized() Method {
	n := m
	if n.Version == "" {
		n.Version = Version
	}
	if len(n.Review) == 0 {
		n.Review = []ReviewItem{
			{Code: "form", Name: "形式评审", Stage: StageForm},
			{Code: "qualification", Name: "资格评审", Stage: StageQualification},
			{Code: "responsiveness", Name: "响应性评审", Stage: StageResponsiveness},
		}
	} else {
		n.Review = slices.Clone(n.Review)
	}
	n.Adjustments = slices.Clone(n.Adjustments)
	n.Criteria = slices.Clone(n.Criteria)
	for i := range n.Criteria {
		if n.Criteria[i].Weight == 0 {
			n.Criteria[i].Weight = 100
		}
		n.Criteria[i].Items = slices.Clone(n.Criteria[i].Items)
	}
	if n.Price != nil {
		p := *n.Price
		if p.KAbove == 0 {
			p.KAbove = 100
		}
		if p.KBelow == 0 {
			p.KBelow = 50
		}
		if p.TrimFrom == 0 {
			p.TrimFrom = 5
		}
		p.DownwardChoices = slices.Clone(p.DownwardChoices)
		n.Price = &p
	}
	if n.Rounding.Unit == 0 {
		n.Rounding.Unit = 1
	}
	if n.Rounding.Mode == "" {
		n.Rounding.Mode = RoundHalfUp
	}
	if len(n.Ties) == 0 {
		n.Ties = []string{TieLowerPrice}
	} else {
		n.Ties = slices.Clone(n.Ties)
	}
	if n.Candidates == 0 {
		n.Candidates = 3
	}
	c := &n.Checks
	if c.DeviationZ == 0 {
		c.DeviationZ = 350
	}
	if c.DeviationShare == 0 {
		c.DeviationShare = 1000
	}
	if c.BelowCeiling == 0 {
		c.BelowCeiling = 8500
	}
	if c.BelowMean == 0 {
		c.BelowMean = 9000
	}
	if c.ProgressionRun == 0 {
		c.ProgressionRun = 3
	}
	return n
}

// maxPoints bounds a maximum (100 points), so that no sum of scores can overflow.
const maxPoints = 10000

func invalid(code, format string, args ...any) error {
	return kaiping.Errorf(kaiping.KindInvalid, code, format, args...)
}

// Validate checks that the method, with its defaults, is one this package can compute and
// one the law allows: codes are unique, maxima positive, the price rule matches the method,
// at most 3 candidates (条例 Art 53).
func (m Method) Validate() error {
	n := m.Normalized()
	if n.Version != Version {
		return invalid("scoring.version", "评标办法版本 %q 不受支持（应为 %s）", n.Version, Version)
	}
	if n.Kind != KindLowestPrice && n.Kind != KindComprehensive {
		return invalid("scoring.kind", "评标方法须为经评审的最低投标价法（lowest_price）或综合评估法（comprehensive）")
	}
	seen := map[string]bool{}
	for i, r := range n.Review {
		if r.Code == "" || r.Name == "" {
			return invalid("scoring.review_item", "第 %d 个初步评审项须有代码和名称", i+1)
		}
		if r.Stage != StageForm && r.Stage != StageQualification && r.Stage != StageResponsiveness {
			return invalid("scoring.review_item", "初步评审项 %s 的类别须为形式、资格或响应性评审", r.Code)
		}
		if seen[r.Code] {
			return invalid("scoring.review_item", "初步评审项代码 %s 重复", r.Code)
		}
		seen[r.Code] = true
	}
	seen = map[string]bool{}
	for i, a := range n.Adjustments {
		if a.Code == "" || a.Name == "" || seen[a.Code] {
			return invalid("scoring.adjustment", "第 %d 个偏差调整项须有唯一的代码和名称", i+1)
		}
		seen[a.Code] = true
	}
	if err := n.validateCriteria(); err != nil {
		return err
	}
	if err := n.validatePrice(); err != nil {
		return err
	}
	if n.Aggregation.Drop < 0 || n.Aggregation.Trim < 0 {
		return invalid("scoring.aggregation", "去掉的评委人数和去掉的最高、最低分个数不能为负数")
	}
	if n.Kind == KindLowestPrice && n.Aggregation != (Aggregation{}) {
		return invalid("scoring.aggregation", "经评审的最低投标价法不打分，无需指定汇总方式")
	}
	if u := n.Rounding.Unit; u != 1 && u != 10 && u != 100 {
		return invalid("scoring.rounding", "分值保留位数须为两位、一位或整数（unit 为 1、10 或 100）")
	}
	if n.Rounding.Mode != RoundHalfUp && n.Rounding.Mode != RoundHalfEven {
		return invalid("scoring.rounding", "舍入方式须为四舍五入（half_up）或银行家舍入（half_even）")
	}
	if err := n.validateTies(); err != nil {
		return err
	}
	if n.Candidates < 1 || n.Candidates > 3 {
		return invalid("scoring.candidates", "推荐的中标候选人须为 1 至 3 名")
	}
	c := n.Checks
	if c.DeviationZ < 1 || c.DeviationShare < 1 || c.DeviationShare > 10000 || c.BelowCeiling < 1 ||
		c.BelowCeiling > 10000 || c.BelowMean < 1 || c.BelowMean > 10000 || c.ProgressionRun < 3 {
		return invalid("scoring.checks", "预警阈值须为正数，比例不超过 100%%，规律性报价的个数不小于 3")
	}
	return nil
}

func (n Method) validateCriteria() error {
	if n.Kind == KindLowestPrice {
		if len(n.Criteria) > 0 {
			return invalid("scoring.criteria", "经评审的最低投标价法不设评分因素")
		}
		return nil
	}
	if len(n.Criteria) == 0 {
		return invalid("scoring.criteria", "综合评估法须至少有一组评分因素")
	}
	seen := map[string]bool{}
	for gi, g := range n.Criteria {
		if g.Code == "" || g.Name == "" || seen[g.Code] {
			return invalid("scoring.group", "第 %d 组评分因素须有唯一的代码和名称", gi+1)
		}
		seen[g.Code] = true
		if g.Weight < 1 || g.Weight > 100 {
			return invalid("scoring.group", "评分因素组 %s 的权重须在 1%% 至 100%% 之间", g.Code)
		}
		if len(g.Items) == 0 {
			return invalid("scoring.group", "评分因素组 %s 没有评分项", g.Code)
		}
		for ii, it := range g.Items {
			if it.Code == "" || it.Name == "" || seen[it.Code] {
				return invalid("scoring.item", "评分因素组 %s 的第 %d 项须有唯一的代码和名称", g.Code, ii+1)
			}
			seen[it.Code] = true
			if it.Max < 1 || it.Max > maxPoints {
				return invalid("scoring.item", "评分项 %s 的满分须在 0.01 至 100 分之间", it.Code)
			}
		}
	}
	return nil
}

func (n Method) validatePrice() error {
	if n.Kind == KindLowestPrice {
		if n.Price != nil {
			return invalid("scoring.price_rule", "经评审的最低投标价法不计价格分")
		}
		return nil
	}
	p := n.Price
	if p == nil || (p.Rule != PriceLowBase && p.Rule != PriceAverageBase) {
		return invalid("scoring.price_rule", "综合评估法须指定价格分计算方法：低价优先法（low_base）或基准价法（average_base）")
	}
	if p.Max < 1 || p.Max > maxPoints {
		return invalid("scoring.price_max", "价格分满分须在 0.01 至 100 分之间")
	}
	if p.Rule == PriceLowBase {
		return nil
	}
	if p.KAbove < 0 || p.KBelow < 0 {
		return invalid("scoring.price_k", "偏离基准价的扣分系数不能为负数")
	}
	if p.TrimFrom < 3 {
		return invalid("scoring.trim_from", "去掉最高、最低报价所需的有效报价个数不能少于 3")
	}
	for _, d := range append([]int64{p.Downward}, p.DownwardChoices...) {
		if d < 0 || d >= 10000 {
			return invalid("scoring.downward", "下浮率须在 0 至 100%% 之间（不含 100%%）")
		}
	}
	if p.Downward != 0 && len(p.DownwardChoices) > 0 {
		return invalid("scoring.downward", "下浮率或者事先确定，或者开标时从备选值中抽取，不能两者都指定")
	}
	return nil
}

func (n Method) validateTies() error {
	for i, t := range n.Ties {
		switch {
		case t == TieLowerPrice:
		case t == TieHigherTechnical && n.Kind == KindComprehensive:
		case t == TieNone && len(n.Ties) == 1:
		default:
			return invalid("scoring.tie_rule", "第 %d 个并列处理规则 %q 不受支持", i+1, t)
		}
		if slices.Index(n.Ties, t) != i {
			return invalid("scoring.tie_rule", "并列处理规则 %q 重复", t)
		}
	}
	return nil
}

// items lists the criteria's items in order with the index of their group.
func (n Method) items() []groupItem {
	var out []groupItem
	for gi, g := range n.Criteria {
		for _, it := range g.Items {
			out = append(out, groupItem{Item: it, group: gi})
		}
	}
	return out
}

type groupItem struct {
	Item
	group int
}
