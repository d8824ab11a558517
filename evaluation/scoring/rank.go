package scoring

import (
	"cmp"
	"slices"
)

// rank orders the valid bids (§7): by total descending under 综合评估法, by evaluated price
// ascending under 经评审的最低投标价法, then by the method's tie keys in order; bids equal
// on all of them are 并列, share a rank and keep their input order. It sets each bid's
// Rank and returns the indexes in rank order.
func (c *computation) rank() []int {
	order := slices.Clone(c.valid)
	slices.SortStableFunc(order, c.compare)
	for k, bi := range order {
		c.out[bi].Rank = k + 1
		if k > 0 && c.compare(order[k-1], bi) == 0 {
			c.out[bi].Rank = c.out[order[k-1]].Rank
		}
	}
	return order
}

// compare is negative when bid a ranks before bid b, 0 when they are 并列.
func (c *computation) compare(a, b int) int {
	x, y := &c.out[a], &c.out[b]
	d := cmp.Compare(y.Total, x.Total)
	if c.m.Kind == KindLowestPrice {
		d = cmp.Compare(x.Evaluated, y.Evaluated)
	}
	for _, t := range c.m.Ties {
		if d != 0 {
			return d
		}
		switch t {
		case TieLowerPrice:
			d = cmp.Compare(x.Price, y.Price)
		case TieHigherTechnical:
			d = cmp.Compare(y.Technical, x.Technical)
		}
	}
	return d
}

// candidates are the first Candidates bids in rank order (§7.2), unless a group of 并列
// bids straddles that count: then the group is left out and a warning asks the committee
// to settle it.
func (c *computation) candidates(order []int) []string {
	var out []string
	n := c.m.Candidates
	for k, bi := range order {
		if k == n {
			break
		}
		out = append(out, c.out[bi].Bidder)
	}
	if len(order) > n && c.out[order[n]].Rank <= n {
		rank := c.out[order[n]].Rank
		var tied []string
		for _, bi := range order {
			if c.out[bi].Rank == rank {
				tied = append(tied, c.out[bi].Bidder)
			}
		}
		out = out[:rank-1]
		c.warn(Warning{Code: CodeTieAtCutoff, Bidders: tied, Values: []int64{int64(rank), int64(n)}},
			"%d 个投标并列第 %d 名，超出推荐的 %d 名中标候选人：须由评标委员会按招标文件确定其顺序并在报告中说明", len(tied), rank, n)
	}
	return out
}
