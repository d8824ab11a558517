package scoring

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// The warning codes (§8). The first four are hard: signing waits until the inputs are
// corrected. The others are soft: the committee settles them and writes a note.
const (
	CodeOutOfRange       = "scoring.out_of_range"
	CodeObjectiveDiffers = "scoring.objective_differs"
	CodeTotalMismatch    = "scoring.total_mismatch"
	CodeAboveCeiling     = "scoring.above_ceiling"
	CodeDeviation        = "scoring.deviation"
	CodeBelowCost        = "scoring.below_cost"
	CodeSamePrice        = "scoring.same_price"
	CodeProgression      = "scoring.price_progression"
	CodeTieAtCutoff      = "scoring.tie_at_cutoff"
)

// hard are the codes that block signing.
var hard = map[string]bool{CodeOutOfRange: true, CodeObjectiveDiffers: true, CodeTotalMismatch: true, CodeAboveCeiling: true}

func (c *computation) warn(w Warning, format string, args ...any) {
	w.Hard = hard[w.Code]
	w.Message = fmt.Sprintf(format, args...)
	c.warnings = append(c.warnings, w)
}

// check runs the checks of §8.1–§8.8 in that order.
func (c *computation) check() {
	if c.m.Kind == KindComprehensive {
		c.checkSheets()
		c.checkDeviation()
	}
	c.checkPrices()
	c.checkCollusion()
}

// checkSheets: scores outside their range (§8.1), objective items scored differently
// (§8.2), submitted totals that are not the sum (§8.3).
func (c *computation) checkSheets() {
	ni, members := len(c.items), c.in.Members
	for _, bi := range c.valid {
		bidder := []string{c.out[bi].Bidder}
		for ii, it := range c.items {
			for mi, m := range members {
				if v := c.scores[bi][mi*ni+ii]; v < 0 || v > it.Max {
					c.warn(Warning{Code: CodeOutOfRange, Bidders: bidder, Member: m, Item: it.Code, Values: []int64{v, it.Max}},
						"评委 %s 对 %s 的评分项“%s”打分 %s，超出 0 至 %s 分的范围", m, bidder[0], it.Name, points(v), points(it.Max))
				}
			}
		}
	}
	for _, bi := range c.valid {
		bidder := []string{c.out[bi].Bidder}
		for ii, it := range c.items {
			if !it.Objective {
				continue
			}
			vals := make([]int64, len(members))
			for mi := range members {
				vals[mi] = c.scores[bi][mi*ni+ii]
			}
			if slices.Min(vals) != slices.Max(vals) {
				c.warn(Warning{Code: CodeObjectiveDiffers, Bidders: bidder, Item: it.Code, Values: vals},
					"客观评分项“%s”对 %s 的评分不一致（%s）：客观分须各评委相同", it.Name, bidder[0], list(vals))
			}
		}
	}
	for _, bi := range c.valid {
		for mi, m := range members {
			if t := c.totals[bi][mi]; t != nil && *t != c.out[bi].Members[mi] {
				c.warn(Warning{Code: CodeTotalMismatch, Bidders: []string{c.out[bi].Bidder}, Member: m, Values: []int64{*t, c.out[bi].Members[mi]}},
					"评委 %s 对 %s 提交的合计 %s 分与各项评分计算所得 %s 分不符", m, c.out[bi].Bidder, points(*t), points(c.out[bi].Members[mi]))
			}
		}
	}
}

// checkDeviation flags a member's score of a subjective item that lies far from the other
// members' (§8.4): with v the score, med the median and MAD the median absolute deviation
// of all members' scores of that item and bid, both |v − med| > share × Max and the robust
// z-score 0.6745 × |v − med| / MAD > Z (infinite when MAD = 0). In integers: d = |2v −
// 2·med|, mad4 = 4·MAD; 13490·d > 100·Z·mad4 and 10000·d > 2·share·Max.
func (c *computation) checkDeviation() {
	nm, ni := len(c.in.Members), len(c.items)
	if nm < 3 {
		return
	}
	vals, sorted, dev := make([]int64, nm), make([]int64, nm), make([]int64, nm)
	for _, bi := range c.valid {
		for ii, it := range c.items {
			if it.Objective {
				continue
			}
			for mi := range nm {
				vals[mi] = c.scores[bi][mi*ni+ii]
			}
			copy(sorted, vals)
			med2 := median2(sorted)
			for mi, v := range vals {
				dev[mi] = abs(2*v - med2)
			}
			copy(sorted, dev)
			mad4 := median2(sorted)
			for mi, v := range vals {
				d := dev[mi]
				if 13490*d > 100*c.m.Checks.DeviationZ*mad4 && 10000*d > 2*c.m.Checks.DeviationShare*it.Max {
					m := c.in.Members[mi]
					c.warn(Warning{Code: CodeDeviation, Bidders: []string{c.out[bi].Bidder}, Member: m, Item: it.Code, Values: []int64{v, med2, mad4}},
						"评委 %s 对 %s 的评分项“%s”打分 %s，与各评委评分的中位数 %s 偏离过大", m, c.out[bi].Bidder, it.Name, points(v), halfPoints(med2))
				}
			}
		}
	}
}

// median2 sorts xs and returns twice its median, an integer however many there are.
func median2(xs []int64) int64 {
	slices.Sort(xs)
	n := len(xs)
	return xs[(n-1)/2] + xs[n/2]
}

// checkPrices: a valid bid above the ceiling (§8.5), a valid bid priced below the share of
// the ceiling and below the share of the valid bids' mean price (§8.6). Bid prices, not
// evaluated prices.
func (c *computation) checkPrices() {
	ceiling := c.in.Ceiling
	for _, bi := range c.valid {
		if o := c.out[bi]; ceiling > 0 && o.Price > ceiling {
			c.warn(Warning{Code: CodeAboveCeiling, Bidders: []string{o.Bidder}, Values: []int64{o.Price, ceiling}},
				"%s 的投标报价 %s 元高于最高投标限价 %s 元，应当否决其投标", o.Bidder, yuan(o.Price), yuan(ceiling))
		}
	}
	var sum int64
	for _, bi := range c.valid {
		sum += c.out[bi].Price
	}
	n := int64(len(c.valid))
	for _, bi := range c.valid {
		o := c.out[bi]
		// price < share × ceiling (when there is one) and price < share × sum / n
		belowCeiling := ceiling == 0 || mulLess(o.Price, 10000, c.m.Checks.BelowCeiling, ceiling)
		if belowCeiling && mulLess(o.Price, 10000*n, c.m.Checks.BelowMean, sum) {
			c.warn(Warning{Code: CodeBelowCost, Bidders: []string{o.Bidder}, Values: []int64{o.Price, ceiling, sum, n}},
				"%s 的投标报价 %s 元明显低于其他投标报价（有效报价平均 %s 元），可能低于成本：应要求其书面说明并提供证明材料", o.Bidder, yuan(o.Price), yuan(sum/n))
		}
	}
}

// checkCollusion looks at every bid, valid or not (§8.7–§8.8): equal prices, and runs of
// at least ProgressionRun distinct prices, consecutive in ascending order, with one common
// difference.
func (c *computation) checkCollusion() {
	byPrice := make([]int, len(c.out))
	for i := range byPrice {
		byPrice[i] = i
	}
	slices.SortStableFunc(byPrice, func(a, b int) int { return cmp.Compare(c.out[a].Price, c.out[b].Price) })
	var prices []int64     // distinct, ascending
	var holders [][]string // the bidders at each price, in input order
	for _, i := range byPrice {
		if n := len(prices); n > 0 && prices[n-1] == c.out[i].Price {
			holders[n-1] = append(holders[n-1], c.out[i].Bidder)
			continue
		}
		prices = append(prices, c.out[i].Price)
		holders = append(holders, []string{c.out[i].Bidder})
	}
	for k, h := range holders {
		if len(h) > 1 {
			c.warn(Warning{Code: CodeSamePrice, Bidders: h, Values: []int64{prices[k]}},
				"%s 的投标报价相同（%s 元），请注意是否存在串通投标", strings.Join(h, "、"), yuan(prices[k]))
		}
	}
	run := c.m.Checks.ProgressionRun
	for start := 0; start+run <= len(prices); {
		diff := prices[start+1] - prices[start]
		end := start + 2
		for end < len(prices) && prices[end]-prices[end-1] == diff {
			end++
		}
		if end-start >= run {
			var bidders []string
			for _, h := range holders[start:end] {
				bidders = append(bidders, h...)
			}
			c.warn(Warning{Code: CodeProgression, Bidders: bidders, Values: append(slices.Clone(prices[start:end]), diff)},
				"%d 个不同的投标报价依次相差 %s 元（投标人 %s），呈规律性差异，请注意是否存在串通投标", end-start, yuan(diff), strings.Join(bidders, "、"))
		}
		start = end - 1
	}
}

// mulLess reports whether a·b < c·d for non-negative factors, in 128 bits.
func mulLess(a, b, c, d int64) bool {
	h1, l1 := bits.Mul64(uint64(a), uint64(b))
	h2, l2 := bits.Mul64(uint64(c), uint64(d))
	return h1 < h2 || h1 == h2 && l1 < l2
}

// points writes hundredths of a point as a decimal (e.g. 1250 → "12.50").
func points(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// halfPoints writes twice a value in hundredths of a point as points.
func halfPoints(v2 int64) string {
	if v2 < 0 {
		return "-" + halfPoints(-v2)
	}
	if v2%2 == 0 {
		return points(v2 / 2)
	}
	return points(v2/2) + "5"
}

// yuan writes fen as yuan with two decimals.
func yuan(fen int64) string { return points(fen) }

func list(vals []int64) string {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = points(v)
	}
	return strings.Join(s, "、")
}
