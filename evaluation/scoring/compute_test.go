package scoring

import (
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
)

// TestRound pins §3 on both sides of every half, for both modes and every unit.
func TestRound(t *testing.T) {
	up, even := Rounding{Unit: 1, Mode: RoundHalfUp}, Rounding{Unit: 1, Mode: RoundHalfEven}
	for _, c := range []struct {
		r              Rounding
		num, den, want int64
	}{
		{up, 5, 2, 3}, {even, 5, 2, 2}, {even, 7, 2, 4}, {up, 7, 2, 4},
		{up, 249, 100, 2}, {up, 251, 100, 3}, {even, 251, 100, 3}, {even, 249, 100, 2},
		{up, -5, 2, -3}, {even, -5, 2, -2}, {up, -4, 2, -2}, {up, 0, 3, 0},
		{up, 10, 3, 3}, {up, 20, 3, 7},
		{Rounding{Unit: 10, Mode: RoundHalfUp}, 45, 1, 50}, {Rounding{Unit: 10, Mode: RoundHalfUp}, 44, 1, 40},
		{Rounding{Unit: 10, Mode: RoundHalfEven}, 45, 1, 40}, {Rounding{Unit: 10, Mode: RoundHalfEven}, 55, 1, 60},
		{Rounding{Unit: 100, Mode: RoundHalfUp}, 1249, 10, 100}, {Rounding{Unit: 100, Mode: RoundHalfUp}, 1500, 10, 200},
	} {
		if got := c.r.round(c.num, c.den); got != c.want {
			t.Errorf("%+v round(%d/%d) = %d, want %d", c.r, c.num, c.den, got, c.want)
		}
		if c.num >= 0 {
			if got := c.r.roundBig(big.NewInt(c.num), big.NewInt(c.den), c.r.Unit); got != c.want {
				t.Errorf("%+v roundBig(%d/%d) = %d, want %d", c.r, c.num, c.den, got, c.want)
			}
		}
	}
}

// fiveBids is a comprehensive evaluation of prices with identical sheets (45.00 technical).
func fiveBids(m Method, ceiling int64, prices ...int64) Inputs {
	ms := testMembers(5)
	in := Inputs{Ceiling: ceiling, Members: ms}
	for i, p := range prices {
		b := string(rune('A' + i))
		in.Bids = append(in.Bids, testBid(b, p, ms))
		in.Sheets = append(in.Sheets, testSheets(b, ms, 2500, 1200, 800, nil)...)
	}
	return in
}

func find(r Result, bidder string) Outcome {
	for _, o := range r.Bids {
		if o.Bidder == bidder {
			return o
		}
	}
	return Outcome{}
}

func warned(r Result, code string) []Warning {
	var out []Warning
	for _, w := range r.Warnings {
		if w.Code == code {
			out = append(out, w)
		}
	}
	return out
}

// TestMajority: a review item fails at exactly half the members passing, passes above.
func TestMajority(t *testing.T) {
	ms := testMembers(4)
	in := Inputs{Members: ms, Bids: []Bid{failBy(testBid("A", 100, ms), "form", 2), failBy(testBid("B", 100, ms), "form", 1)}}
	r := mustCompute(t, Method{Kind: KindLowestPrice}, in)
	if a := find(r, "A"); a.Valid || !slices.Equal(a.Failed, []string{"form"}) || a.Rank != 0 {
		t.Errorf("A (2 of 4 pass): %+v", a)
	}
	if b := find(r, "B"); !b.Valid || b.Rank != 1 || len(r.Candidates) != 1 {
		t.Errorf("B (3 of 4 pass): %+v, candidates %v", b, r.Candidates)
	}
}

// TestBelowCost pins §8.6 on both sides of both shares.
func TestBelowCost(t *testing.T) {
	m := testMethod(PriceLowBase)
	for _, c := range []struct {
		name    string
		ceiling int64
		prices  []int64
		flagged bool
	}{
		{"at 85 % of the ceiling", 10_000_000, []int64{8_500_000, 10_000_000, 10_000_000}, false},
		{"just below 85 % of the ceiling", 10_000_000, []int64{8_499_999, 10_000_000, 10_000_000}, true},
		// mean 10,000,000: 90 % is 9,000,000
		{"at 90 % of the mean", 0, []int64{9_000_000, 10_500_000, 10_500_000}, false},
		{"just below 90 % of the mean", 0, []int64{8_999_997, 10_500_001, 10_500_002}, true},
		{"below the ceiling share, not below the mean share", 20_000_000, []int64{9_000_000, 10_500_000, 10_500_000}, false},
	} {
		r := mustCompute(t, m, fiveBids(m, c.ceiling, c.prices...))
		w := warned(r, CodeBelowCost)
		if (len(w) == 1 && w[0].Bidders[0] == "A" && !w[0].Hard) != c.flagged || len(w) > 1 {
			t.Errorf("%s: %+v", c.name, w)
		}
	}
}

// TestAboveCeiling: a valid bid at the ceiling is fine, one fen above is a hard warning;
// a rejected bid above it is not warned about.
func TestAboveCeiling(t *testing.T) {
	m := testMethod(PriceLowBase)
	in := fiveBids(m, 10_000_000, 10_000_000, 10_000_001, 10_000_002)
	in.Bids[2].Rejected = true
	r := mustCompute(t, m, in)
	w := warned(r, CodeAboveCeiling)
	if len(w) != 1 || w[0].Bidders[0] != "B" || !w[0].Hard || !slices.Equal(w[0].Values, []int64{10_000_001, 10_000_000}) {
		t.Fatalf("%+v", w)
	}
}

// TestProgression pins §8.8: two prices are never a run, three are; the run names every
// bidder at its prices; a fourth price off the step ends it.
func TestProgression(t *testing.T) {
	m := testMethod(PriceLowBase)
	r := mustCompute(t, m, fiveBids(m, 0, 1_000_000, 1_000_500, 1_000_500, 1_002_000))
	if w := warned(r, CodeProgression); len(w) != 0 {
		t.Errorf("no run: %+v", w)
	}
	r = mustCompute(t, m, fiveBids(m, 0, 1_000_000, 1_000_500, 1_001_000, 1_001_000, 1_001_501, 1_002_002))
	w := warned(r, CodeProgression)
	if len(w) != 2 || strings.Join(w[0].Bidders, ",") != "A,B,C,D" || !slices.Equal(w[0].Values, []int64{1_000_000, 1_000_500, 1_001_000, 500}) ||
		strings.Join(w[1].Bidders, ",") != "C,D,E,F" || w[1].Values[3] != 501 {
		t.Errorf("two runs: %+v", w)
	}
	m.Checks.ProgressionRun = 4
	r = mustCompute(t, m, fiveBids(m, 0, 1_000_000, 1_000_500, 1_001_000, 1_002_000))
	if w := warned(r, CodeProgression); len(w) != 0 {
		t.Errorf("a run of 3 with a minimum of 4: %+v", w)
	}
	r = mustCompute(t, m, fiveBids(m, 0, 1_000_000, 1_000_500, 1_001_000, 1_001_500))
	if w := warned(r, CodeProgression); len(w) != 1 || len(w[0].Bidders) != 4 {
		t.Errorf("a run of 4 with a minimum of 4: %+v", w)
	}
}

// TestDeviationShare: the distance must exceed the share of the maximum (with MAD 0).
func TestDeviationShare(t *testing.T) {
	m := testMethod(PriceLowBase)
	for _, c := range []struct {
		v       int64
		flagged bool
	}{{2800, false}, {2801, true}, {2200, false}, {2199, true}} {
		in := fiveBids(m, 0, 1_000_000)
		in.Sheets[2].Scores["plan"] = c.v // max 3000: 10 % is 300
		if w := warned(mustCompute(t, m, in), CodeDeviation); (len(w) == 1 && w[0].Member == "m3") != c.flagged {
			t.Errorf("plan %d: %+v", c.v, w)
		}
	}
	in := fiveBids(m, 0, 1_000_000)
	in.Members, in.Sheets = in.Members[:2], slices.DeleteFunc(in.Sheets, func(s Sheet) bool { return s.Member > "m2" })
	for i := range in.Bids {
		in.Bids[i] = testBid(in.Bids[i].Bidder, in.Bids[i].Price, in.Members)
	}
	in.Sheets[1].Scores["plan"] = 0
	m.Checks = Checks{DeviationZ: 1, DeviationShare: 1} // z is 0.6745 for both: above 0.01
	if w := warned(mustCompute(t, m, in), CodeDeviation); len(w) != 0 {
		t.Errorf("two members: %+v", w)
	}
}

// TestCandidates: fewer valid bids than candidates; a 并列 group inside the count stays;
// one straddling it is left out with a warning.
func TestCandidates(t *testing.T) {
	m := testMethod(PriceLowBase)
	m.Candidates = 2
	m.Ties = []string{TieNone}
	r := mustCompute(t, m, fiveBids(m, 0, 1_000_000))
	if !slices.Equal(r.Candidates, []string{"A"}) || len(r.Warnings) != 0 {
		t.Errorf("one bid: %v %+v", r.Candidates, r.Warnings)
	}
	r = mustCompute(t, m, fiveBids(m, 0, 1_000_000, 1_000_000, 2_000_000))
	if !slices.Equal(r.Candidates, []string{"A", "B"}) || len(warned(r, CodeTieAtCutoff)) != 0 {
		t.Errorf("a tie of two for two places: %v %+v", r.Candidates, r.Warnings)
	}
	r = mustCompute(t, m, fiveBids(m, 0, 1_000_000, 2_000_000, 2_000_000))
	w := warned(r, CodeTieAtCutoff)
	if !slices.Equal(r.Candidates, []string{"A"}) || len(w) != 1 || w[0].Hard || !slices.Equal(w[0].Bidders, []string{"B", "C"}) ||
		!slices.Equal(w[0].Values, []int64{2, 2}) {
		t.Errorf("a tie straddling the second place: %v %+v", r.Candidates, w)
	}
	m.Ties = []string{TieHigherTechnical}
	in := fiveBids(m, 0, 1_000_000, 1_000_000)
	in.Sheets[5].Scores["plan"] = 2600 // B: technical 45.20, A 45.00
	r = mustCompute(t, m, in)
	if r.Bids[0].Bidder != "B" || r.Bids[0].Rank != 1 || r.Bids[1].Rank != 2 {
		t.Errorf("technical first: %+v", r.Bids)
	}
	r = mustCompute(t, Method{Kind: KindLowestPrice}, Inputs{Members: testMembers(1)})
	if r.Candidates == nil || r.Warnings == nil || len(r.Bids) != 0 || r.Base != 0 {
		t.Errorf("no bids: %+v", r)
	}
}

// TestDropTies: on equal spreads the earliest member is dropped; members may not all go.
func TestDropTies(t *testing.T) {
	m := testMethod(PriceLowBase)
	m.Aggregation = Aggregation{Drop: 1}
	in := fiveBids(m, 0, 1_000_000)
	in.Sheets[1].Scores["plan"] = 2400
	in.Sheets[3].Scores["plan"] = 2600
	r := mustCompute(t, m, in)
	if !slices.Equal(r.Dropped, []string{"m2"}) || r.Bids[0].Items[0] != 2525 {
		t.Errorf("dropped %v, items %v", r.Dropped, r.Bids[0].Items)
	}
	for _, c := range []struct {
		agg Aggregation
		ok  bool
	}{{Aggregation{Drop: 4}, true}, {Aggregation{Drop: 5}, false}, {Aggregation{Trim: 2}, true}, {Aggregation{Trim: 3}, false}, {Aggregation{Drop: 2, Trim: 1}, true}, {Aggregation{Drop: 3, Trim: 1}, false}} {
		m.Aggregation = c.agg
		_, err := Compute(m, in)
		if (err == nil) != c.ok || !c.ok && kaiping.CodeOf(err) != "scoring.too_few_members" {
			t.Errorf("%+v with 5 members: %v", c.agg, err)
		}
	}
}

// TestWeights: a group weight multiplies its items in the member totals and the technical
// score, each rounded once.
func TestWeights(t *testing.T) {
	m := testMethod(PriceLowBase)
	m.Criteria[0].Weight = 60
	in := fiveBids(m, 0, 1_000_000)
	in.Sheets[0].Scores["schedule"] = 1201
	r := mustCompute(t, m, in)
	// m1: 0.6 × (2500 + 1201) + 800 = 3020.6 → 3021; items: schedule mean 1200.2 → 1200
	if o := r.Bids[0]; o.Members[0] != 3021 || o.Members[1] != 3020 || o.Items[1] != 1200 || o.Technical != 3020 || o.Total != 7020 {
		t.Errorf("%+v", o)
	}
}

// TestAveragePriceScore pins §6.2: K above and below, the floor at 0, trim_from at its
// boundary, S at least 1 fen.
func TestAveragePriceScore(t *testing.T) {
	m := testMethod(PriceAverageBase)
	m.Price.TrimFrom = 4
	// n = 4 ≥ 4: S = (1,000,000 + 1,100,000)/2 = 1,050,000
	r := mustCompute(t, m, fiveBids(m, 0, 900_000, 1_000_000, 1_100_000, 2_200_000))
	if r.Base != 1_050_000 {
		t.Fatalf("base %d", r.Base)
	}
	// A: 150,000/1,050,000 = 14.2857 % below × 0.5 = 7.1429 → 32.86; D: 109.52 % above → 0
	if a, d, c := find(r, "A"), find(r, "D"), find(r, "C"); a.PriceScore != 3286 || d.PriceScore != 0 || c.PriceScore != 3524 {
		t.Errorf("A %d, C %d, D %d", a.PriceScore, c.PriceScore, d.PriceScore)
	}
	m.Price.TrimFrom = 5
	if r := mustCompute(t, m, fiveBids(m, 0, 900_000, 1_000_000, 1_100_000, 2_200_000)); r.Base != 1_300_000 {
		t.Errorf("n = 4 below trim_from 5: base %d", r.Base)
	}
	m.Price.Downward = 9999
	if r := mustCompute(t, m, fiveBids(m, 0, 1, 1)); r.Base != 1 || r.Bids[0].PriceScore != 4000 {
		t.Errorf("S rounding to 0 fen: %+v", r)
	}
	// a deduction of exactly the full score is 0, and so is one more
	m.Price.Downward = 0
	m.Price.KAbove = 4000 // 40 points per 1 %: 1 % above leaves 0
	r = mustCompute(t, m, fiveBids(m, 0, 990_000, 1_010_000))
	if a, b := find(r, "A"), find(r, "B"); r.Base != 1_000_000 || b.PriceScore != 0 || a.PriceScore != 3950 {
		t.Errorf("base %d, A %d, B %d", r.Base, a.PriceScore, b.PriceScore)
	}
}

// TestInputRefusals: every input that does not fit is refused with its code.
func TestInputRefusals(t *testing.T) {
	m := testMethod(PriceLowBase)
	m.Adjustments = []Adjustment{{"pay", "付款条件偏差"}}
	for _, c := range []struct {
		name string
		edit func(*Inputs)
		code string
	}{
		{"no members", func(in *Inputs) { in.Members = nil }, "scoring.members"},
		{"member twice", func(in *Inputs) { in.Members[1] = "m1" }, "scoring.members"},
		{"empty member", func(in *Inputs) { in.Members[1] = "" }, "scoring.members"},
		{"negative ceiling", func(in *Inputs) { in.Ceiling = -1 }, "scoring.ceiling"},
		{"ceiling too large", func(in *Inputs) { in.Ceiling = maxPrice + 1 }, "scoring.ceiling"},
		{"downward not drawn", func(in *Inputs) { in.Downward = ptr(int64(0)) }, "scoring.downward_drawn"},
		{"bidder twice", func(in *Inputs) { in.Bids[1].Bidder = "A" }, "scoring.bid"},
		{"empty bidder", func(in *Inputs) { in.Bids[1].Bidder = "" }, "scoring.bid"},
		{"price 0", func(in *Inputs) { in.Bids[0].Price = 0 }, "scoring.bid"},
		{"price too large", func(in *Inputs) { in.Bids[0].Price = maxPrice + 1 }, "scoring.bid"},
		{"unknown adjustment", func(in *Inputs) { in.Bids[0].Adjustments = map[string]int64{"x": 1} }, "scoring.adjustment_unknown"},
		{"adjustment too large", func(in *Inputs) { in.Bids[0].Adjustments = map[string]int64{"pay": maxPrice + 1} }, "scoring.adjustment_unknown"},
		{"adjustment too small", func(in *Inputs) { in.Bids[0].Adjustments = map[string]int64{"pay": -maxPrice - 1} }, "scoring.adjustment_unknown"},
		{"evaluated price 0", func(in *Inputs) { in.Bids[0].Adjustments = map[string]int64{"pay": -1_000_000} }, "scoring.evaluated_price"},
		{"verdict of a stranger", func(in *Inputs) { in.Bids[0].Review[0].Member = "x" }, "scoring.review"},
		{"verdict on an unknown item", func(in *Inputs) { in.Bids[0].Review[0].Item = "x" }, "scoring.review"},
		{"verdict twice", func(in *Inputs) { in.Bids[0].Review[1] = in.Bids[0].Review[0] }, "scoring.review"},
		{"verdict missing", func(in *Inputs) { in.Bids[0].Review = in.Bids[0].Review[1:] }, "scoring.review"},
		{"sheet of a stranger", func(in *Inputs) { in.Sheets[0].Member = "x" }, "scoring.sheet"},
		{"sheet of an unknown bid", func(in *Inputs) { in.Sheets[0].Bidder = "x" }, "scoring.sheet"},
		{"sheet twice", func(in *Inputs) { in.Sheets[1].Member = "m1" }, "scoring.sheet"},
		{"item missing", func(in *Inputs) { delete(in.Sheets[0].Scores, "plan") }, "scoring.sheet"},
		{"unknown item", func(in *Inputs) { delete(in.Sheets[0].Scores, "plan"); in.Sheets[0].Scores["x"] = 1 }, "scoring.sheet"},
		{"score too large", func(in *Inputs) { in.Sheets[0].Scores["plan"] = maxScore + 1 }, "scoring.sheet"},
		{"score too small", func(in *Inputs) { in.Sheets[0].Scores["plan"] = -maxScore - 1 }, "scoring.sheet"},
		{"sheet missing", func(in *Inputs) { in.Sheets = in.Sheets[1:] }, "scoring.missing_sheet"},
	} {
		in := fiveBids(m, 0, 1_000_000, 1_100_000)
		c.edit(&in)
		r, err := Compute(m, in)
		if kaiping.CodeOf(err) != c.code || kaiping.KindOf(err) != kaiping.KindInvalid || r.Bids != nil {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	// just inside: the limits themselves, an evaluated price of 1 fen, sheets of an
	// invalid bid ignored even when one is missing
	in := fiveBids(m, maxPrice, maxPrice, 1_100_000)
	in.Bids[1].Adjustments = map[string]int64{"pay": -1_099_999}
	in.Sheets[0].Scores["plan"] = maxScore
	in.Sheets[1].Scores["plan"] = -maxScore
	if r, err := Compute(m, in); err != nil || find(r, "B").Evaluated != 1 {
		t.Errorf("limits: %v", err)
	}
	in = fiveBids(m, 0, 1_000_000, 1_100_000)
	in.Bids[0].Rejected = true
	in.Sheets = in.Sheets[1:]
	if r, err := Compute(m, in); err != nil || find(r, "A").Valid {
		t.Errorf("a rejected bid's sheets: %v", err)
	}
	// drawn 下浮: required, one of the choices
	m = testMethod(PriceAverageBase)
	m.Price.DownwardChoices = []int64{100, 200}
	for _, d := range []*int64{nil, ptr(int64(300))} {
		in := fiveBids(m, 0, 1_000_000)
		in.Downward = d
		if _, err := Compute(m, in); kaiping.CodeOf(err) != "scoring.downward_drawn" {
			t.Errorf("drawn %v: %v", d, err)
		}
	}
	in = fiveBids(m, 0, 1_000_000, 2_000_000)
	in.Downward = ptr(int64(200))
	if r := mustCompute(t, m, in); r.Base != 1_470_000 {
		t.Errorf("drawn 2 %%: base %d", r.Base)
	}
}

// TestMessagesNamePositions: refusals count from 1 and figures print as points.
func TestMessagesNamePositions(t *testing.T) {
	m := testMethod(PriceLowBase)
	in := fiveBids(m, 0, 1_000_000)
	in.Members[1] = "m1"
	if _, err := Compute(m, in); !strings.Contains(kaiping.MessageOf(err), "第 2 名评委") {
		t.Errorf("%v", err)
	}
	in = fiveBids(m, 0, 1_000_000)
	in.Sheets[0].Bidder = "x"
	if _, err := Compute(m, in); !strings.Contains(kaiping.MessageOf(err), "第 1 张评分表") {
		t.Errorf("%v", err)
	}
	m.Review = []ReviewItem{{"a", "甲", StageForm}, {"b", "", StageForm}}
	if err := m.Validate(); !strings.Contains(kaiping.MessageOf(err), "第 2 个初步评审项") {
		t.Errorf("%v", err)
	}
	for v, want := range map[int64]string{0: "0.00", 5: "0.05", 1250: "12.50", -1250: "-12.50", -5: "-0.05"} {
		if got := points(v); got != want {
			t.Errorf("points(%d) = %q, want %q", v, got, want)
		}
	}
	for v2, want := range map[int64]string{6100: "30.50", 6101: "30.505", 3: "0.015", -3: "-0.015", -1: "-0.005", 0: "0.00"} {
		if got := halfPoints(v2); got != want {
			t.Errorf("halfPoints(%d) = %q, want %q", v2, got, want)
		}
	}
}

// TestOutOfRangeEdges: 0 and the maximum are in range; one hundredth beyond either is not.
func TestOutOfRangeEdges(t *testing.T) {
	m := testMethod(PriceLowBase)
	in := fiveBids(m, 0, 1_000_000)
	in.Sheets[0].Scores["plan"], in.Sheets[1].Scores["plan"] = 0, 3000
	if w := warned(mustCompute(t, m, in), CodeOutOfRange); len(w) != 0 {
		t.Errorf("0 and the maximum: %+v", w)
	}
	in.Sheets[0].Scores["plan"], in.Sheets[1].Scores["plan"] = -1, 3001
	w := warned(mustCompute(t, m, in), CodeOutOfRange)
	if len(w) != 2 || w[0].Member != "m1" || w[0].Values[0] != -1 || w[1].Member != "m2" || !w[1].Hard {
		t.Errorf("beyond: %+v", w)
	}
}

// TestChecksAtOne: every threshold may be as small as 1.
func TestChecksAtOne(t *testing.T) {
	for _, c := range []Checks{{DeviationZ: 1}, {DeviationShare: 1}, {BelowCeiling: 1}, {BelowMean: 1}} {
		m := testMethod(PriceLowBase)
		m.Checks = c
		if err := m.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
}
