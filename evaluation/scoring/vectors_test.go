package scoring

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden vectors in testdata/")

// vector is one golden case SCORING.md points re-implementers to: a method, its inputs and
// the result they must give.
type vector struct {
	Name   string `json:"name"`
	About  string `json:"about"`
	Method Method `json:"method"`
	Inputs Inputs `json:"inputs"`
	Result Result `json:"result"`
}

// vectorCases builds the inputs of every golden vector.
func vectorCases() []vector {
	var out []vector
	add := func(name, about string, m Method, in Inputs) {
		out = append(out, vector{Name: name, About: about, Method: m, Inputs: in})
	}

	// Low-price base, 5 members, one bid failing qualification by majority, one rejected.
	ms := testMembers(5)
	in := Inputs{Ceiling: 10_000_000, Members: ms, Bids: []Bid{
		testBid("A", 9_000_000, ms), testBid("B", 8_000_000, ms), testBid("C", 10_000_000, ms),
		failBy(testBid("D", 8_500_000, ms), "qualification", 3), failBy(testBid("E", 8_600_000, ms), "form", 2),
	}}
	in.Bids[4].Rejected, in.Bids[4].Reason = true, "未能合理说明低于成本"
	in.Sheets = append(in.Sheets, testSheets("A", ms, 2500, 1500, 800, map[int]map[string]int64{1: {"plan": 2600}, 3: {"schedule": 1450}})...)
	in.Sheets = append(in.Sheets, testSheets("B", ms, 2200, 1600, 600, map[int]map[string]int64{0: {"plan": 2050}})...)
	in.Sheets = append(in.Sheets, testSheets("C", ms, 2800, 1800, 1000, nil)...)
	add("low_base", "低价优先法：基准价为最低有效报价；D 被多数评委认定资格不合格，E 被否决（仅 2 名评委认为形式不合格，不构成多数）", testMethod(PriceLowBase), in)

	// Average base with six valid prices (n ≥ 5) and a 3 % 下浮.
	ms = testMembers(5)
	in = Inputs{Ceiling: 10_000_000, Members: ms}
	for i, p := range []int64{9_200_000, 8_800_000, 9_900_000, 8_100_000, 9_450_000, 9_010_000} {
		b := string(rune('A' + i))
		in.Bids = append(in.Bids, testBid(b, p, ms))
		in.Sheets = append(in.Sheets, testSheets(b, ms, 2000+int64(i)*100, 1500, 800, nil)...)
	}
	m := testMethod(PriceAverageBase)
	m.Price.Downward = 300
	add("average_trimmed_downward", "基准价法：6 个有效报价去掉最高、最低后平均，再下浮 3%；高于基准价每 1% 扣 1 分，低于每 1% 扣 0.5 分", m, in)

	// Average base with four valid prices (n < 5): the plain mean, no 下浮.
	in = Inputs{Ceiling: 10_000_000, Members: ms}
	for i, p := range []int64{9_000_000, 8_000_000, 9_500_000, 6_000_000} {
		b := string(rune('A' + i))
		in.Bids = append(in.Bids, testBid(b, p, ms))
		in.Sheets = append(in.Sheets, testSheets(b, ms, 2400, 1600, 800, nil)...)
	}
	add("average_mean", "基准价法：4 个有效报价（少于 5 个）直接平均，不下浮；D 偏低较多，价格分扣减至 0 以上", testMethod(PriceAverageBase), in)

	// Average base with a drawn 下浮 rate.
	m = testMethod(PriceAverageBase)
	m.Price.DownwardChoices = []int64{0, 200, 500}
	in.Downward = ptr(int64(500))
	add("average_drawn", "基准价法：下浮率从 0、2%、5% 中抽取，抽中 5%", m, in)

	// Seven members, the highest and the lowest score of each item left out.
	ms = testMembers(7)
	in = Inputs{Members: ms}
	for i, p := range []int64{5_000_000, 5_200_000, 4_900_000} {
		b := string(rune('A' + i))
		in.Bids = append(in.Bids, testBid(b, p, ms))
		in.Sheets = append(in.Sheets, testSheets(b, ms, 2000+int64(i)*150, 1500, 700,
			map[int]map[string]int64{0: {"plan": 2900}, 3: {"plan": 1200, "schedule": 1900}, 5: {"schedule": 1000}})...)
	}
	m = testMethod(PriceLowBase)
	m.Aggregation = Aggregation{Trim: 1}
	add("trimmed_7", "7 名评委：每项去掉一个最高分和一个最低分后平均", m, in)

	// Nine members: first the member whose totals spread most, then per item trimmed.
	ms = testMembers(9)
	in = Inputs{Members: ms}
	for i, p := range []int64{5_000_000, 5_200_000, 4_900_000, 5_050_000} {
		b := string(rune('A' + i))
		in.Bids = append(in.Bids, testBid(b, p, ms))
		edits := map[int]map[string]int64{6: {"plan": 3000 - int64(i)*900, "schedule": 2000 - int64(i)*500}, 2: {"plan": 2300}, 8: {"schedule": 1300}}
		in.Sheets = append(in.Sheets, testSheets(b, ms, 2100+int64(i)*50, 1500, 600, edits)...)
	}
	m = testMethod(PriceLowBase)
	m.Aggregation = Aggregation{Drop: 1, Trim: 1}
	add("drop_9", "9 名评委：先去掉各投标人合计分偏离委员会平均最大的一名评委（m7），再每项去掉一个最高分和一个最低分", m, in)

	// Equal totals, broken by the lower price.
	ms = testMembers(5)
	in = Inputs{Members: ms}
	for i, p := range []int64{5_000_000, 5_000_000, 4_000_000, 6_000_000} {
		b := string(rune('A' + i))
		in.Bids = append(in.Bids, testBid(b, p, ms))
	}
	in.Bids[1].Price = 4_999_999
	// Low base 4,000,000 over 40 points: A 32.00, B 32.00 (rounded), C 40, D 26.67.
	in.Sheets = append(in.Sheets, testSheets("A", ms, 2500, 1500, 800, nil)...)
	in.Sheets = append(in.Sheets, testSheets("B", ms, 2500, 1500, 800, nil)...)
	in.Sheets = append(in.Sheets, testSheets("C", ms, 1700, 1500, 800, nil)...)
	in.Sheets = append(in.Sheets, testSheets("D", ms, 2900, 1900, 1000, nil)...)
	add("ties_price", "A、B、C 总分同为 80.00（A、B 的价格分四舍五入后均为 32.00）：报价低者在前，依次为 C、B、A", testMethod(PriceLowBase), in)

	// Equal totals left 并列, one group straddling the third place.
	in = Inputs{Members: ms}
	for i, p := range []int64{5_000_000, 5_000_000, 5_000_000, 5_000_000, 5_000_000} {
		b := string(rune('A' + i))
		in.Bids = append(in.Bids, testBid(b, p, ms))
	}
	in.Sheets = append(in.Sheets, testSheets("A", ms, 2500, 1500, 800, nil)...)
	in.Sheets = append(in.Sheets, testSheets("B", ms, 2500, 1500, 800, nil)...)
	in.Sheets = append(in.Sheets, testSheets("C", ms, 2000, 1500, 800, nil)...)
	in.Sheets = append(in.Sheets, testSheets("D", ms, 2000, 1500, 800, nil)...)
	in.Sheets = append(in.Sheets, testSheets("E", ms, 1000, 1500, 800, nil)...)
	m = testMethod(PriceLowBase)
	m.Ties = []string{TieNone}
	m.Checks.ProgressionRun = 6
	add("ties_none", "并列不再区分：A、B 并列第 1，C、D 并列第 3，跨过第 3 名，只推荐 A、B 并提示委员会确定", m, in)

	// 经评审的最低投标价法 with adjustments.
	ms = testMembers(5)
	in = Inputs{Ceiling: 20_000_000, Members: ms}
	for i, p := range []int64{15_000_000, 14_800_000, 15_500_000, 14_900_000} {
		in.Bids = append(in.Bids, testBid(string(rune('A'+i)), p, ms))
	}
	in.Bids[1].Adjustments = map[string]int64{"payment": 250_000}
	in.Bids[2].Adjustments = map[string]int64{"payment": -100_000, "delivery": -600_000}
	in.Bids[3].Adjustments = map[string]int64{"delivery": 100_000}
	add("lowest_price", "经评审的最低投标价法：评标价 = 报价 + 偏差调整；A、D 评标价同为 150,000.00 元，报价低者 D 在前；B、D、A 的报价依次相差 1,000.00 元，提示规律性报价", Method{
		Kind:        KindLowestPrice,
		Adjustments: []Adjustment{{Code: "payment", Name: "付款条件偏差"}, {Code: "delivery", Name: "交货期偏差"}},
	}, in)

	// Every hard warning.
	in = Inputs{Ceiling: 10_000_000, Members: ms}
	for i, p := range []int64{9_000_000, 10_500_000, 9_300_000} {
		b := string(rune('A' + i))
		in.Bids = append(in.Bids, testBid(b, p, ms))
	}
	in.Sheets = append(in.Sheets, testSheets("A", ms, 3000, 1500, 800, map[int]map[string]int64{1: {"plan": 3001}, 2: {"record": 700}})...)
	in.Sheets = append(in.Sheets, testSheets("B", ms, 2500, 1500, 800, nil)...)
	in.Sheets = append(in.Sheets, testSheets("C", ms, 2500, 1500, 800, nil)...)
	in.Sheets[5].Total = ptr(int64(4700))  // m1 on B: the sum is 48.00
	in.Sheets[14].Total = ptr(int64(4800)) // m5 on C: right
	add("warnings_hard", "必须纠正后才能签署的预警：A 的施工方案被 m2 打出 30.01 分（满分 30）；A 的客观项类似业绩 m3 打分不同；m1 对 B 提交的合计与各项之和不符；B 的报价高于最高投标限价却未被否决", testMethod(PriceLowBase), in)

	// Every soft warning.
	in = Inputs{Ceiling: 10_000_000, Members: ms}
	for i, p := range []int64{9_000_000, 9_100_000, 9_200_000, 9_200_000, 7_000_000} {
		b := string(rune('A' + i))
		in.Bids = append(in.Bids, testBid(b, p, ms))
		in.Sheets = append(in.Sheets, testSheets(b, ms, 2500, 1500, 800, nil)...)
	}
	in.Sheets[7].Scores["schedule"] = 500 // m3 on B
	add("warnings_soft", "需书面说明的预警：m3 对 B 的进度计划打分偏离；E 的报价低于限价的 85% 且低于有效报价平均值的 90%；C、D 报价相同；A、B、C/D 的报价依次相差 1,000.00 元", testMethod(PriceAverageBase), in)

	// Every check at its boundary, none triggered.
	m = testMethod(PriceLowBase)
	m.Criteria[0].Items[0].Max = 10000
	in = Inputs{Ceiling: 10_000_000, Members: ms}
	for i, p := range []int64{8_500_000, 9_990_000, 10_000_000} {
		b := string(rune('A' + i))
		in.Bids = append(in.Bids, testBid(b, p, ms))
	}
	// A: robust z exactly 3.5 (0.6745 × 7000 / 1349); B: exactly 10 % of the maximum away.
	in.Sheets = append(in.Sheets, testSheets("A", ms, 1500, 1500, 800, map[int]map[string]int64{0: {"plan": 151}, 3: {"plan": 2849}, 4: {"plan": 8500}})...)
	in.Sheets = append(in.Sheets, testSheets("B", ms, 2000, 1500, 800, map[int]map[string]int64{4: {"plan": 3000}})...)
	in.Sheets = append(in.Sheets, testSheets("C", ms, 2000, 1500, 800, nil)...)
	add("warnings_boundary", "各项预警恰在阈值上，均不触发：A 报价恰为限价的 85%；m5 对 A 施工方案的稳健 z 值恰为 3.5；m5 对 B 的施工方案恰偏离满分的 10%；C 报价恰等于限价", m, in)
	return out
}

// TestGoldenVectors recomputes every testdata/*.json from its inputs: the computation
// cannot change without this test failing (or -update rewriting the vectors on purpose).
func TestGoldenVectors(t *testing.T) {
	for _, v := range vectorCases() {
		t.Run(v.Name, func(t *testing.T) {
			v.Result = mustCompute(t, v.Method, v.Inputs)
			got, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", v.Name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s differs from the computation (run with -update if the change is intended)", path)
			}
		})
	}
}
