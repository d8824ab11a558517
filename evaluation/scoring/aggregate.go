package scoring

import "slices"

// dropMembers computes every member's weighted totals and leaves out Aggregation.Drop
// members one at a time (§5.2): each time the member with the largest spread
// Σ_bids |n·W(m) − Σ_k W(k)| over the n members still kept, the earliest in Inputs.Members
// on equal spreads. It returns the members kept, in order, and those dropped, in the order
// dropped.
func (c *computation) dropMembers() (kept, dropped []int, err error) {
	ni := len(c.items)
	c.weighted = make([][]int64, len(c.out))
	for _, bi := range c.valid {
		w := make([]int64, len(c.in.Members))
		for mi := range w {
			for ii, it := range c.items {
				w[mi] += int64(c.m.Criteria[it.group].Weight) * c.scores[bi][mi*ni+ii]
			}
		}
		c.weighted[bi] = w
		c.out[bi].Members = make([]int64, len(w))
		for mi, x := range w {
			c.out[bi].Members[mi] = c.m.Rounding.round(x, 100)
		}
	}
	if len(c.in.Members)-c.m.Aggregation.Drop-2*c.m.Aggregation.Trim < 1 {
		return nil, nil, invalid("scoring.too_few_members",
			"评委 %d 人，按评标办法去掉 %d 名评委及每项 %d 个最高分、%d 个最低分后没有可汇总的评分",
			len(c.in.Members), c.m.Aggregation.Drop, c.m.Aggregation.Trim, c.m.Aggregation.Trim)
	}
	for mi := range c.in.Members {
		kept = append(kept, mi)
	}
	for range c.m.Aggregation.Drop {
		worst, worstSpread := 0, int64(-1)
		for ki, mi := range kept {
			var spread int64
			for _, bi := range c.valid {
				var sum int64
				for _, k := range kept {
					sum += c.weighted[bi][k]
				}
				spread += abs(int64(len(kept))*c.weighted[bi][mi] - sum)
			}
			if spread > worstSpread {
				worst, worstSpread = ki, spread
			}
		}
		dropped = append(dropped, kept[worst])
		kept = slices.Delete(kept, worst, worst+1)
	}
	return kept, dropped, nil
}

// aggregate computes the committee's score of every item of every valid bid (§5.3) and the
// bid's technical score (§5.4).
func (c *computation) aggregate(kept []int) {
	ni, trim := len(c.items), c.m.Aggregation.Trim
	vals := make([]int64, len(kept))
	for _, bi := range c.valid {
		o := &c.out[bi]
		o.Items = make([]int64, ni)
		var weighted int64
		for ii, it := range c.items {
			for k, mi := range kept {
				vals[k] = c.scores[bi][mi*ni+ii]
			}
			slices.Sort(vals)
			var sum int64
			for _, v := range vals[trim : len(vals)-trim] {
				sum += v
			}
			o.Items[ii] = c.m.Rounding.round(sum, int64(len(vals)-2*trim))
			weighted += int64(c.m.Criteria[it.group].Weight) * o.Items[ii]
		}
		o.Technical = c.m.Rounding.round(weighted, 100)
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
