package scoring

import (
	"slices"
)

// maxScore bounds a score a sheet may hold (10,000 points, far outside any range), so that
// no sum of scores overflows; maxPrice bounds a price or an adjustment (10 trillion yuan).
const (
	maxScore = 1_000_000
	maxPrice = 1_000_000_000_000_000
)

// computation is one run of Compute: the inputs indexed, and what has been found so far.
type computation struct {
	m        Method
	in       Inputs
	items    []groupItem
	members  map[string]int
	out      []Outcome // input order
	valid    []int     // indexes into out of the valid bids, input order
	scores   [][]int64 // per bid, member*len(items)+item; nil for a bid that is not valid
	totals   [][]*int64
	weighted [][]int64 // per bid and member, Σ weight × score (hundredths of a point × %)
	downward int64
	warnings []Warning
}

// Compute evaluates the bids by the method (SCORING.md §4–§7) and runs the checks (§8). It
// refuses inputs that do not fit the method (an unknown member or item, a missing verdict
// or sheet) with a code; what it computes from accepted inputs is never an error, and what
// is doubtful in them is a warning.
func Compute(method Method, in Inputs) (Result, error) {
	if err := method.Validate(); err != nil {
		return Result{}, err
	}
	c := &computation{m: method.Normalized(), in: in}
	c.items = c.m.items()
	if err := c.prepare(); err != nil {
		return Result{}, err
	}
	if err := c.readSheets(); err != nil {
		return Result{}, err
	}
	var res Result
	if c.m.Kind == KindComprehensive {
		kept, dropped, err := c.dropMembers()
		if err != nil {
			return Result{}, err
		}
		for _, k := range dropped {
			res.Dropped = append(res.Dropped, in.Members[k])
		}
		c.aggregate(kept)
	}
	res.Base = c.priceScores()
	order := c.rank()
	for _, i := range order {
		res.Bids = append(res.Bids, c.out[i])
	}
	for i := range c.out {
		if !c.out[i].Valid {
			res.Bids = append(res.Bids, c.out[i])
		}
	}
	c.check()
	res.Candidates = c.candidates(order)
	res.Warnings = c.warnings
	if res.Warnings == nil {
		res.Warnings = []Warning{}
	}
	if res.Candidates == nil {
		res.Candidates = []string{}
	}
	return res, nil
}

// prepare checks the members and the bids, decides validity (§4.1) and the evaluated prices.
func (c *computation) prepare() error {
	in := c.in
	if len(in.Members) == 0 {
		return invalid("scoring.members", "没有评标委员会成员")
	}
	c.members = make(map[string]int, len(in.Members))
	for i, m := range in.Members {
		if _, dup := c.members[m]; m == "" || dup {
			return invalid("scoring.members", "第 %d 名评委的标识为空或重复", i+1)
		}
		c.members[m] = i
	}
	if in.Ceiling < 0 || in.Ceiling > maxPrice {
		return invalid("scoring.ceiling", "最高投标限价须为正数（单位：分），无限价时为 0")
	}
	p := c.m.Price
	drawn := p != nil && p.Rule == PriceAverageBase && len(p.DownwardChoices) > 0
	switch {
	case drawn && (in.Downward == nil || !slices.Contains(p.DownwardChoices, *in.Downward)):
		return invalid("scoring.downward_drawn", "须给出开标时从备选下浮率中抽取的下浮率")
	case !drawn && in.Downward != nil:
		return invalid("scoring.downward_drawn", "本评标办法不抽取下浮率")
	case drawn:
		c.downward = *in.Downward
	case p != nil:
		c.downward = p.Downward
	}
	adjustments := map[string]bool{}
	for _, a := range c.m.Adjustments {
		adjustments[a.Code] = true
	}
	review := map[string]int{}
	for i, r := range c.m.Review {
		review[r.Code] = i
	}
	seen := map[string]bool{}
	c.out = make([]Outcome, len(in.Bids))
	for bi, b := range in.Bids {
		if b.Bidder == "" || seen[b.Bidder] {
			return invalid("scoring.bid", "第 %d 个投标的投标人标识为空或重复", bi+1)
		}
		seen[b.Bidder] = true
		if b.Price < 1 || b.Price > maxPrice {
			return invalid("scoring.bid", "投标人 %s 的投标报价须为正数（单位：分）", b.Bidder)
		}
		o := Outcome{Bidder: b.Bidder, Price: b.Price, Evaluated: b.Price, Rejected: b.Rejected}
		for code, amount := range b.Adjustments {
			if !adjustments[code] {
				return invalid("scoring.adjustment_unknown", "投标人 %s 的偏差调整项 %s 不是招标文件规定的调整项", b.Bidder, code)
			}
			if amount < -maxPrice || amount > maxPrice {
				return invalid("scoring.adjustment_unknown", "投标人 %s 的偏差调整金额超出范围", b.Bidder)
			}
			o.Evaluated += amount
		}
		if o.Evaluated < 1 {
			return invalid("scoring.evaluated_price", "投标人 %s 调整后的评标价须为正数", b.Bidder)
		}
		// passes[item] counts the members who passed it; verdicts[member*items+item] marks
		// each verdict given, so a missing or repeated one is refused.
		passes := make([]int, len(c.m.Review))
		given := make([]bool, len(in.Members)*len(c.m.Review))
		for _, v := range b.Review {
			mi, okm := c.members[v.Member]
			ri, oki := review[v.Item]
			if !okm || !oki || given[mi*len(c.m.Review)+ri] {
				return invalid("scoring.review", "投标人 %s 的初步评审结论有未知评委、未知评审项或重复（%s，%s）", b.Bidder, v.Member, v.Item)
			}
			given[mi*len(c.m.Review)+ri] = true
			if v.Pass {
				passes[ri]++
			}
		}
		if len(b.Review) != len(given) {
			return invalid("scoring.review", "投标人 %s 的初步评审结论不全：每名评委须对每个评审项给出结论", b.Bidder)
		}
		for ri, n := range passes {
			if 2*n <= len(in.Members) {
				o.Failed = append(o.Failed, c.m.Review[ri].Code)
			}
		}
		o.Valid = len(o.Failed) == 0 && !b.Rejected
		if o.Valid {
			c.valid = append(c.valid, bi)
		}
		c.out[bi] = o
	}
	return nil
}

// readSheets places every sheet's scores; a valid bid needs one sheet from every member.
func (c *computation) readSheets() error {
	if c.m.Kind != KindComprehensive {
		return nil
	}
	bidder := make(map[string]int, len(c.out))
	for i, o := range c.out {
		bidder[o.Bidder] = i
	}
	item := make(map[string]int, len(c.items))
	for i, it := range c.items {
		item[it.Code] = i
	}
	nm, ni := len(c.in.Members), len(c.items)
	c.scores = make([][]int64, len(c.out))
	c.totals = make([][]*int64, len(c.out))
	have := make([][]bool, len(c.out))
	for _, i := range c.valid {
		c.scores[i] = make([]int64, nm*ni)
		c.totals[i] = make([]*int64, nm)
		have[i] = make([]bool, nm)
	}
	for si, s := range c.in.Sheets {
		mi, okm := c.members[s.Member]
		bi, okb := bidder[s.Bidder]
		if !okm || !okb {
			return invalid("scoring.sheet", "第 %d 张评分表的评委或投标人未知", si+1)
		}
		if !c.out[bi].Valid {
			continue
		}
		if have[bi][mi] {
			return invalid("scoring.sheet", "评委 %s 对投标人 %s 有多张评分表", s.Member, s.Bidder)
		}
		have[bi][mi] = true
		if len(s.Scores) != ni {
			return invalid("scoring.sheet", "评委 %s 对投标人 %s 的评分表须对每个评分项恰好打一个分", s.Member, s.Bidder)
		}
		for code, v := range s.Scores {
			ii, ok := item[code]
			if !ok {
				return invalid("scoring.sheet", "评委 %s 对投标人 %s 的评分表含未知评分项 %s", s.Member, s.Bidder, code)
			}
			if v < -maxScore || v > maxScore {
				return invalid("scoring.sheet", "评委 %s 对投标人 %s 评分项 %s 的分值超出可处理的范围", s.Member, s.Bidder, code)
			}
			c.scores[bi][mi*ni+ii] = v
		}
		c.totals[bi][mi] = s.Total
	}
	for _, bi := range c.valid {
		for mi, ok := range have[bi] {
			if !ok {
				return invalid("scoring.missing_sheet", "评委 %s 尚未提交对投标人 %s 的评分表", c.in.Members[mi], c.out[bi].Bidder)
			}
		}
	}
	return nil
}

// Validity runs the initial review's part of the computation alone (§4.1): every bid's
// validity, failed items and evaluated price, in input order. Sheets are not read. The
// committee learns from it which bids go on to the detailed review.
func Validity(method Method, in Inputs) ([]Outcome, error) {
	if err := method.Validate(); err != nil {
		return nil, err
	}
	c := &computation{m: method.Normalized(), in: in}
	c.items = c.m.items()
	if err := c.prepare(); err != nil {
		return nil, err
	}
	return c.out, nil
}
