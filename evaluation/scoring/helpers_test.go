package scoring

import (
	"fmt"
	"testing"
)

// testMembers are n member IDs, m1 … mn.
func testMembers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("m%d", i+1)
	}
	return out
}

// testMethod is a 综合评估法 of two groups (a subjective technical group of two items and a
// commercial group with one objective item), 40 price points by rule.
func testMethod(rule string) Method {
	return Method{
		Kind: KindComprehensive,
		Criteria: []Group{
			{Code: "tech", Name: "技术部分", Items: []Item{
				{Code: "plan", Name: "施工方案", Max: 3000},
				{Code: "schedule", Name: "进度计划", Max: 2000},
			}},
			{Code: "biz", Name: "商务部分", Items: []Item{
				{Code: "record", Name: "类似业绩", Max: 1000, Objective: true},
			}},
		},
		Price: &PriceRule{Rule: rule, Max: 4000},
	}
}

// testBid is a bid every member passes on every default review item.
func testBid(bidder string, price int64, members []string) Bid {
	b := Bid{Bidder: bidder, Price: price}
	for _, m := range members {
		for _, item := range []string{"form", "qualification", "responsiveness"} {
			b.Review = append(b.Review, Verdict{Member: m, Item: item, Pass: true})
		}
	}
	return b
}

// failBy makes the first k members fail item on b.
func failBy(b Bid, item string, k int) Bid {
	for i := range b.Review {
		if b.Review[i].Item == item && k > 0 {
			b.Review[i].Pass = false
			k--
		}
	}
	return b
}

// testSheets gives every member the same scores of the three items of testMethod, then
// applies the per-member changes in edits (member index → item → score).
func testSheets(bidder string, members []string, plan, schedule, record int64, edits map[int]map[string]int64) []Sheet {
	var out []Sheet
	for i, m := range members {
		s := Sheet{Member: m, Bidder: bidder, Scores: map[string]int64{"plan": plan, "schedule": schedule, "record": record}}
		for item, v := range edits[i] {
			s.Scores[item] = v
		}
		out = append(out, s)
	}
	return out
}

func mustCompute(tb testing.TB, m Method, in Inputs) Result {
	tb.Helper()
	r, err := Compute(m, in)
	if err != nil {
		tb.Fatalf("Compute: %v", err)
	}
	return r
}

func ptr[T any](v T) *T { return &v }
