package scoring

import (
	"testing"

	"github.com/kaiping/kaiping"
)

// TestMethodValidate refuses every malformed method with its code, and accepts each limit
// just inside.
func TestMethodValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Method)
		code string
	}{
		{"version", func(m *Method) { m.Version = "kaiping-scoring/v2" }, "scoring.version"},
		{"kind", func(m *Method) { m.Kind = "best_value" }, "scoring.kind"},
		{"review without name", func(m *Method) { m.Review = []ReviewItem{{Code: "a", Stage: StageForm}} }, "scoring.review_item"},
		{"review without code", func(m *Method) { m.Review = []ReviewItem{{Name: "甲", Stage: StageForm}} }, "scoring.review_item"},
		{"review stage", func(m *Method) { m.Review = []ReviewItem{{Code: "a", Name: "甲", Stage: "other"}} }, "scoring.review_item"},
		{"review twice", func(m *Method) {
			m.Review = []ReviewItem{{Code: "a", Name: "甲", Stage: StageForm}, {Code: "a", Name: "乙", Stage: StageQualification}}
		}, "scoring.review_item"},
		{"adjustment twice", func(m *Method) { m.Adjustments = []Adjustment{{"p", "付款"}, {"p", "交货"}} }, "scoring.adjustment"},
		{"adjustment unnamed", func(m *Method) { m.Adjustments = []Adjustment{{"p", ""}} }, "scoring.adjustment"},
		{"adjustment without code", func(m *Method) { m.Adjustments = []Adjustment{{"", "付款"}} }, "scoring.adjustment"},
		{"no criteria", func(m *Method) { m.Criteria = nil }, "scoring.criteria"},
		{"group without code", func(m *Method) { m.Criteria[0].Code = "" }, "scoring.group"},
		{"group without name", func(m *Method) { m.Criteria[0].Name = "" }, "scoring.group"},
		{"group code twice", func(m *Method) { m.Criteria[1].Code = "tech" }, "scoring.group"},
		{"weight negative", func(m *Method) { m.Criteria[0].Weight = -1 }, "scoring.group"},
		{"weight above 100", func(m *Method) { m.Criteria[0].Weight = 101 }, "scoring.group"},
		{"group empty", func(m *Method) { m.Criteria[1].Items = nil }, "scoring.group"},
		{"item without code", func(m *Method) { m.Criteria[0].Items[0].Code = "" }, "scoring.item"},
		{"item without name", func(m *Method) { m.Criteria[0].Items[0].Name = "" }, "scoring.item"},
		{"item code is a group's", func(m *Method) { m.Criteria[1].Items[0].Code = "tech" }, "scoring.item"},
		{"item code twice", func(m *Method) { m.Criteria[1].Items[0].Code = "plan" }, "scoring.item"},
		{"item max 0", func(m *Method) { m.Criteria[0].Items[0].Max = 0 }, "scoring.item"},
		{"item max above 100 points", func(m *Method) { m.Criteria[0].Items[0].Max = 10001 }, "scoring.item"},
		{"no price", func(m *Method) { m.Price = nil }, "scoring.price_rule"},
		{"price rule", func(m *Method) { m.Price.Rule = "median_base" }, "scoring.price_rule"},
		{"price max 0", func(m *Method) { m.Price.Max = 0 }, "scoring.price_max"},
		{"price max above 100 points", func(m *Method) { m.Price.Max = 10001 }, "scoring.price_max"},
		{"k above negative", func(m *Method) { m.Price.KAbove = -1 }, "scoring.price_k"},
		{"k below negative", func(m *Method) { m.Price.KBelow = -1 }, "scoring.price_k"},
		{"trim from 2", func(m *Method) { m.Price.TrimFrom = 2 }, "scoring.trim_from"},
		{"downward negative", func(m *Method) { m.Price.Downward = -1 }, "scoring.downward"},
		{"downward 100 %", func(m *Method) { m.Price.Downward = 10000 }, "scoring.downward"},
		{"downward choice 100 %", func(m *Method) { m.Price.DownwardChoices = []int64{0, 10000} }, "scoring.downward"},
		{"downward stated and drawn", func(m *Method) { m.Price.Downward = 100; m.Price.DownwardChoices = []int64{200} }, "scoring.downward"},
		{"drop negative", func(m *Method) { m.Aggregation.Drop = -1 }, "scoring.aggregation"},
		{"trim negative", func(m *Method) { m.Aggregation.Trim = -1 }, "scoring.aggregation"},
		{"unit 2", func(m *Method) { m.Rounding.Unit = 2 }, "scoring.rounding"},
		{"mode", func(m *Method) { m.Rounding.Mode = "down" }, "scoring.rounding"},
		{"tie key", func(m *Method) { m.Ties = []string{"earliest"} }, "scoring.tie_rule"},
		{"none with others", func(m *Method) { m.Ties = []string{TieLowerPrice, TieNone} }, "scoring.tie_rule"},
		{"tie key twice", func(m *Method) { m.Ties = []string{TieLowerPrice, TieLowerPrice} }, "scoring.tie_rule"},
		{"candidates 4", func(m *Method) { m.Candidates = 4 }, "scoring.candidates"},
		{"candidates negative", func(m *Method) { m.Candidates = -1 }, "scoring.candidates"},
		{"z negative", func(m *Method) { m.Checks.DeviationZ = -1 }, "scoring.checks"},
		{"share negative", func(m *Method) { m.Checks.DeviationShare = -1 }, "scoring.checks"},
		{"share above 100 %", func(m *Method) { m.Checks.DeviationShare = 10001 }, "scoring.checks"},
		{"below ceiling negative", func(m *Method) { m.Checks.BelowCeiling = -1 }, "scoring.checks"},
		{"below ceiling above 100 %", func(m *Method) { m.Checks.BelowCeiling = 10001 }, "scoring.checks"},
		{"below mean negative", func(m *Method) { m.Checks.BelowMean = -1 }, "scoring.checks"},
		{"below mean above 100 %", func(m *Method) { m.Checks.BelowMean = 10001 }, "scoring.checks"},
		{"run 2", func(m *Method) { m.Checks.ProgressionRun = 2 }, "scoring.checks"},
	} {
		m := testMethod(PriceAverageBase)
		c.edit(&m)
		err := m.Validate()
		if kaiping.CodeOf(err) != c.code || kaiping.KindOf(err) != kaiping.KindInvalid || kaiping.MessageOf(err) == "" {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
		if _, err := Compute(m, Inputs{Members: testMembers(1)}); kaiping.CodeOf(err) != c.code {
			t.Errorf("Compute, %s: %v, want %s", c.name, err, c.code)
		}
	}
	for _, c := range []struct {
		name string
		edit func(*Method)
	}{
		{"defaults", func(*Method) {}},
		{"weight 1 and 100", func(m *Method) { m.Criteria[0].Weight = 1; m.Criteria[1].Weight = 100 }},
		{"item max 0.01 and 100 points", func(m *Method) { m.Criteria[0].Items[0].Max = 1; m.Criteria[0].Items[1].Max = 10000 }},
		{"price max 100 points", func(m *Method) { m.Price.Max = 10000 }},
		{"price max 0.01 point", func(m *Method) { m.Price.Max = 1 }},
		{"trim from 3", func(m *Method) { m.Price.TrimFrom = 3 }},
		{"downward 99.99 %", func(m *Method) { m.Price.Downward = 9999 }},
		{"drawn downward", func(m *Method) { m.Price.DownwardChoices = []int64{0, 9999} }},
		{"unit 10", func(m *Method) { m.Rounding.Unit = 10 }},
		{"unit 100, half even", func(m *Method) { m.Rounding = Rounding{Unit: 100, Mode: RoundHalfEven} }},
		{"technical then price", func(m *Method) { m.Ties = []string{TieHigherTechnical, TieLowerPrice} }},
		{"none", func(m *Method) { m.Ties = []string{TieNone} }},
		{"one candidate", func(m *Method) { m.Candidates = 1 }},
		{"every share 100 %", func(m *Method) {
			m.Checks = Checks{DeviationZ: 1, DeviationShare: 10000, BelowCeiling: 10000, BelowMean: 10000, ProgressionRun: 3}
		}},
		{"low base", func(m *Method) { m.Price = &PriceRule{Rule: PriceLowBase, Max: 3000, TrimFrom: -1, KAbove: -1} }},
		{"review stages", func(m *Method) {
			m.Review = []ReviewItem{{"a", "甲", StageForm}, {"b", "乙", StageQualification}, {"c", "丙", StageResponsiveness}}
		}},
	} {
		m := testMethod(PriceAverageBase)
		c.edit(&m)
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// TestLowestPriceMethod: 经评审的最低投标价法 has no criteria, no price score, no
// aggregation and no technical tie key.
func TestLowestPriceMethod(t *testing.T) {
	ok := Method{Kind: KindLowestPrice}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		edit func(*Method)
		code string
	}{
		"criteria":       {func(m *Method) { m.Criteria = testMethod(PriceLowBase).Criteria }, "scoring.criteria"},
		"price":          {func(m *Method) { m.Price = &PriceRule{Rule: PriceLowBase, Max: 100} }, "scoring.price_rule"},
		"trim":           {func(m *Method) { m.Aggregation.Trim = 1 }, "scoring.aggregation"},
		"drop":           {func(m *Method) { m.Aggregation.Drop = 1 }, "scoring.aggregation"},
		"technical ties": {func(m *Method) { m.Ties = []string{TieHigherTechnical} }, "scoring.tie_rule"},
	} {
		m := ok
		c.edit(&m)
		if err := m.Validate(); kaiping.CodeOf(err) != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}
}

// TestNormalized names every default of SCORING.md §2 by its value and leaves the caller's
// method untouched.
func TestNormalized(t *testing.T) {
	m := testMethod(PriceAverageBase)
	n := m.Normalized()
	if n.Version != "kaiping-scoring/v1" || len(n.Review) != 3 || n.Review[1].Stage != StageQualification ||
		n.Criteria[0].Weight != 100 || n.Price.KAbove != 100 || n.Price.KBelow != 50 || n.Price.TrimFrom != 5 ||
		n.Rounding != (Rounding{Unit: 1, Mode: "half_up"}) || len(n.Ties) != 1 || n.Ties[0] != "price" || n.Candidates != 3 ||
		n.Checks != (Checks{DeviationZ: 350, DeviationShare: 1000, BelowCeiling: 8500, BelowMean: 9000, ProgressionRun: 3}) {
		t.Fatalf("defaults %+v", n)
	}
	if m.Criteria[0].Weight != 0 || m.Price.KAbove != 0 || m.Review != nil {
		t.Fatalf("Normalized changed its receiver: %+v", m)
	}
	m.Criteria[0].Weight, m.Price.KAbove, m.Price.KBelow, m.Price.TrimFrom = 60, 200, 70, 7
	m.Rounding, m.Ties, m.Candidates = Rounding{Unit: 10, Mode: RoundHalfEven}, []string{TieNone}, 1
	m.Checks = Checks{DeviationZ: 300, DeviationShare: 500, BelowCeiling: 8000, BelowMean: 8800, ProgressionRun: 4}
	n = m.Normalized()
	if n.Criteria[0].Weight != 60 || n.Price.KAbove != 200 || n.Price.KBelow != 70 || n.Price.TrimFrom != 7 ||
		n.Rounding.Unit != 10 || n.Rounding.Mode != RoundHalfEven || n.Ties[0] != TieNone || n.Candidates != 1 || n.Checks != m.Checks {
		t.Fatalf("Normalized overrode a value the method gives: %+v", n)
	}
	n.Criteria[0].Items[0].Max = 1
	n.Ties[0] = "x"
	if m.Criteria[0].Items[0].Max != 3000 || m.Ties[0] != TieNone {
		t.Fatal("Normalized shares slices with its receiver")
	}
}
