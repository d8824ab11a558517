package scoring

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchGroups builds the scale of the 2025 Gansu framework procurement: 6,531 bidders split
// over 5 groups of 5 members, each group scoring its bidders on 12 criteria (4 objective)
// by the average-base method with a ceiling, every sheet with its member's total.
func benchGroups(tb testing.TB) (Method, []Inputs) {
	tb.Helper()
	m := Method{Kind: KindComprehensive, Price: &PriceRule{Rule: PriceAverageBase, Max: 3000, Downward: 200}}
	var items []Item
	for i := range 12 {
		items = append(items, Item{Code: fmt.Sprintf("i%02d", i), Name: fmt.Sprintf("评分项%d", i), Max: 500 + int64(i%3)*100, Objective: i%3 == 0})
	}
	m.Criteria = []Group{{Code: "tech", Name: "技术部分", Weight: 100, Items: items[:8]}, {Code: "biz", Name: "商务部分", Weight: 50, Items: items[8:]}}
	rng := rand.New(rand.NewPCG(1, 2))
	const bidders, groups = 6531, 5
	var out []Inputs
	for g := range groups {
		ms := []string{}
		for k := range 5 {
			ms = append(ms, fmt.Sprintf("g%dm%d", g, k))
		}
		in := Inputs{Ceiling: 100_000_000, Members: ms}
		for b := g; b < bidders; b += groups {
			id := fmt.Sprintf("bidder%05d", b)
			in.Bids = append(in.Bids, testBid(id, 70_000_000+rng.Int64N(30_000_000), ms))
			obj := map[string]int64{}
			for _, it := range items {
				obj[it.Code] = rng.Int64N(it.Max + 1)
			}
			for _, mem := range ms {
				s := Sheet{Member: mem, Bidder: id, Scores: map[string]int64{}}
				var w int64
				for gi, grp := range m.Criteria {
					for _, it := range grp.Items {
						v := obj[it.Code]
						if !it.Objective {
							v = min(it.Max, max(0, v+rng.Int64N(101)-50))
						}
						s.Scores[it.Code] = v
						w += int64(m.Criteria[gi].Weight) * v
					}
				}
				s.Total = ptr(Rounding{Unit: 1, Mode: RoundHalfUp}.round(w, 100))
				in.Sheets = append(in.Sheets, s)
			}
		}
		out = append(out, in)
	}
	return m, out
}

// BenchmarkCompute computes the totals, ranks, candidates and every warning of the 6,531
// bidders of benchGroups (5 Compute calls, one per group). Goal: under 1 s.
func BenchmarkCompute(b *testing.B) {
	m, groups := benchGroups(b)
	b.ReportAllocs()
	var warnings int
	for b.Loop() {
		warnings = 0
		for _, in := range groups {
			r, err := Compute(m, in)
			if err != nil {
				b.Fatal(err)
			}
			warnings += len(r.Warnings)
		}
	}
	b.ReportMetric(float64(warnings), "warnings")
}
