package draw

import (
	"fmt"
	"testing"
)

// BenchmarkDraw is one whole draw over a pool of 50,000 experts for a tender with 500
// bidders, 2,000 of the experts working for one of them: screening with reasons, the
// canonical snapshot and its digest, and the pick of a 9-expert committee with quotas and an
// outside-city minimum. Goal: under 200 ms.
func BenchmarkDraw(b *testing.B) {
	const experts, bidders = 50000, 500
	pool := mustPool(b, experts)
	conflicts := Conflicts{Tenderer: "开封市城市建设投资有限公司", Session: testSession}
	for i := range bidders {
		conflicts.Bidders = append(conflicts.Bidders, fmt.Sprintf("投标人%03d建设有限公司", i))
	}
	for i := range pool {
		pool[i].Employer = fmt.Sprintf("单位%05d", i)
		if i%25 == 0 {
			pool[i].Employer = fmt.Sprintf("投标人%03d建设有限公司", i%bidders)
		}
		if i%50 == 1 {
			pool[i].Relations = []Relation{{Organisation: conflicts.Bidders[i%bidders], Kind: "近亲属任职"}}
		}
	}
	rules := testRules(Quota{"A01", 3}, Quota{"A10", 2}, Quota{"B03", 2}, Quota{"D01", 2})
	rules.MinOutside = 6
	seed := testSeed("bench")
	b.ReportAllocs()
	var excluded int
	for b.Loop() {
		snap, ex := Screen(pool, conflicts, rules)
		_ = Digest(snap.Encode())
		d, err := New(seed, snap, rules)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.Initial(); err != nil {
			b.Fatal(err)
		}
		excluded = len(ex)
	}
	b.ReportMetric(float64(excluded), "excluded")
}
