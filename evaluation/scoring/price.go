package scoring

import "math/big"

// priceScores gives every valid bid its price score (§6) and its total, and returns the base
// price in fen (0 under 经评审的最低投标价法 or with no valid bid).
func (c *computation) priceScores() int64 {
	p := c.m.Price
	if p == nil || len(c.valid) == 0 {
		return 0
	}
	var base int64
	if p.Rule == PriceLowBase {
		base = c.out[c.valid[0]].Evaluated
		for _, bi := range c.valid {
			base = min(base, c.out[bi].Evaluated)
		}
	} else {
		base = c.averageBase()
	}
	maxScore := big.NewInt(p.Max)
	for _, bi := range c.valid {
		o := &c.out[bi]
		price := big.NewInt(o.Evaluated)
		if p.Rule == PriceLowBase {
			// base / price × Max
			o.PriceScore = c.m.Rounding.roundBig(new(big.Int).Mul(big.NewInt(base), maxScore), price, c.m.Rounding.Unit)
		} else {
			// Max − |price − S| / S × 100 × K, floored at 0: over S, Max·S − |price − S|·100·K.
			k := p.KBelow
			if o.Evaluated > base {
				k = p.KAbove
			}
			s := big.NewInt(base)
			num := new(big.Int).Mul(maxScore, s)
			num.Sub(num, new(big.Int).Mul(big.NewInt(abs(o.Evaluated-base)), big.NewInt(100*k)))
			if num.Sign() > 0 {
				o.PriceScore = c.m.Rounding.roundBig(num, s, c.m.Rounding.Unit)
			}
		}
		o.Total = o.Technical + o.PriceScore
	}
	return base
}

// averageBase is S (§6.2): the mean of the valid evaluated prices, without the highest and
// the lowest once there are TrimFrom of them, times (1 − the 下浮 rate), rounded to the fen
// and at least 1 fen.
func (c *computation) averageBase() int64 {
	lo, hi := c.out[c.valid[0]].Evaluated, c.out[c.valid[0]].Evaluated
	sum := new(big.Int)
	for _, bi := range c.valid {
		e := c.out[bi].Evaluated
		lo, hi = min(lo, e), max(hi, e)
		sum.Add(sum, big.NewInt(e))
	}
	n := int64(len(c.valid))
	if n >= int64(c.m.Price.TrimFrom) {
		sum.Sub(sum, big.NewInt(lo+hi))
		n -= 2
	}
	num := sum.Mul(sum, big.NewInt(10000-c.downward))
	return max(1, c.m.Rounding.roundBig(num, big.NewInt(n*10000), 1))
}
