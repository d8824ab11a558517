package draw

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
)

func TestPickDeterministic(t *testing.T) {
	pool := mustPool(t, 300)
	r := testRules(Quota{"A01", 3}, Quota{"B03", 2}, Quota{"D01", 2})
	r.MinOutside = 5
	a, err := mustDrawer(t, testSeed("one"), pool, r).Initial()
	if err != nil {
		t.Fatal(err)
	}
	// The same inputs, with the pool handed over in another order, give the same committee.
	reversed := make([]Candidate, len(pool))
	for i, c := range pool {
		reversed[len(pool)-1-i] = c
	}
	b, err := mustDrawer(t, testSeed("one"), reversed, r).Initial()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, same pool: %v then %v", a, b)
	}
	c, err := mustDrawer(t, testSeed("two"), pool, r).Initial()
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a, c) {
		t.Fatalf("different seeds drew the same committee %v", a)
	}
}

func TestPickQuotas(t *testing.T) {
	pool := mustPool(t, 120)
	byID := map[string]Candidate{}
	for _, c := range pool {
		byID[c.Expert] = c
	}
	tests := []struct {
		name  string
		rules Rules
	}{
		{"one quota", testRules(Quota{"A", 5})},
		{"three quotas", testRules(Quota{"A01", 3}, Quota{"A10", 1}, Quota{"B", 3})},
		{"all outside", func() Rules { r := testRules(Quota{"A0101", 5}); r.MinOutside = 5; return r }()},
		{"multi-specialty experts count once", testRules(Quota{"D01", 4}, Quota{"A0101", 3})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for s := range 20 {
				ms, err := mustDrawer(t, testSeed(tt.name+string(rune('a'+s))), pool, tt.rules).Initial()
				if err != nil {
					t.Fatal(err)
				}
				if len(ms) != tt.rules.Experts {
					t.Fatalf("%d members, want %d", len(ms), tt.rules.Experts)
				}
				filled := make([]int, len(tt.rules.Quotas))
				outside := 0
				seen := map[string]bool{}
				for _, m := range ms {
					c := byID[m.Expert]
					if seen[m.Expert] {
						t.Fatalf("%s drawn twice", m.Expert)
					}
					seen[m.Expert] = true
					if !matches(c.Specialties, tt.rules.Quotas[m.Quota].Specialty) {
						t.Fatalf("%s (%v) fills quota %s", m.Expert, c.Specialties, tt.rules.Quotas[m.Quota].Specialty)
					}
					filled[m.Quota]++
					if m.Outside != (c.City != tt.rules.HostCity) {
						t.Fatalf("%s outside=%v, city %s", m.Expert, m.Outside, c.City)
					}
					if m.Outside {
						outside++
					}
				}
				for qi, q := range tt.rules.Quotas {
					if filled[qi] != q.Count {
						t.Fatalf("quota %s filled %d, want %d", q.Specialty, filled[qi], q.Count)
					}
				}
				if outside < tt.rules.MinOutside {
					t.Fatalf("%d outside, want at least %d", outside, tt.rules.MinOutside)
				}
			}
		})
	}
}

func TestPickUnsatisfiable(t *testing.T) {
	pool := mustPool(t, 12) // 4 per specialty; 3 hold D01; cities cycle over 4, 3 in the host city
	tests := []struct {
		name  string
		rules Rules
		want  []Shortfall
	}{
		{"one quota short", testRules(Quota{"A01", 5}), []Shortfall{{"A01", 5, 4}}},
		{"two quotas short", testRules(Quota{"B03", 6}, Quota{"D01", 5}, Quota{"A10", 1}),
			[]Shortfall{{"B03", 6, 4}, {"D01", 5, 4}}},
		{"unknown specialty", testRules(Quota{"C09", 1}, Quota{"A01", 1}), []Shortfall{{"C09", 1, 0}}},
		{"outside minimum", func() Rules { r := testRules(Quota{"A0101", 4}); r.MinOutside = 4; return r }(),
			[]Shortfall{{"outside", 4, 3}}},
		// Every count suffices on its own, but the only B expert left is local: the walk
		// ends with one B seat and one outside seat missing.
		{"walk exhausted", func() Rules { r := testRules(Quota{"A", 5}, Quota{"B", 4}); r.MinOutside = 9; return r }(),
			[]Shortfall{{"B", 4, 3}, {"outside", 9, 8}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mustDrawer(t, testSeed("x"), pool, tt.rules).Initial()
			var se *ShortageError
			if !errors.As(err, &se) || kaiping.CodeOf(err) != "draw.unsatisfiable" || kaiping.KindOf(err) != kaiping.KindConflict {
				t.Fatalf("err = %v, want draw.unsatisfiable", err)
			}
			if !reflect.DeepEqual(se.Shortfalls, tt.want) {
				t.Fatalf("shortfalls %+v, want %+v (%v)", se.Shortfalls, tt.want, err)
			}
		})
	}
	// The message says by how many experts.
	_, err := mustDrawer(t, testSeed("x"), pool, testRules(Quota{"A01", 5})).Initial()
	if want := "专业 A01需 5 人，可抽 4 人，缺 1 人"; !strings.Contains(err.Error(), want) {
		t.Errorf("message %q lacks %q", err, want)
	}
}

func TestRulesValidate(t *testing.T) {
	ok := testRules(Quota{"A01", 3}, Quota{"B", 2})
	tests := []struct {
		name string
		edit func(*Rules)
		code string
	}{
		{"version", func(r *Rules) { r.Version = "v0" }, "draw.version"},
		{"no quotas", func(r *Rules) { r.Quotas = nil }, "draw.quotas"},
		{"zero count", func(r *Rules) { r.Quotas[1].Count = 0 }, "draw.quota"},
		{"nested", func(r *Rules) { r.Quotas[1].Specialty = "A0101" }, "draw.quota_overlap"},
		{"sum", func(r *Rules) { r.Experts = 7 }, "draw.quota_sum"},
		{"outside above experts", func(r *Rules) { r.MinOutside = 6 }, "draw.min_outside"},
		{"outside without host city", func(r *Rules) { r.MinOutside = 1; r.HostCity = "" }, "draw.host_city"},
	}
	for _, tt := range tests {
		r := ok
		r.Quotas = append([]Quota(nil), ok.Quotas...)
		tt.edit(&r)
		if err := r.Validate(); kaiping.CodeOf(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := New(make([]byte, 16), Snapshot{}, ok); kaiping.CodeOf(err) != "draw.seed_size" {
		t.Errorf("short seed: %v", err)
	}
}

func TestReplaceContinuesSequence(t *testing.T) {
	pool := mustPool(t, 200)
	r := testRules(Quota{"A01", 3}, Quota{"B03", 2})
	r.MinOutside = 3
	seed := testSeed("replace")
	d := mustDrawer(t, seed, pool, r)
	first, err := d.Initial()
	if err != nil {
		t.Fatal(err)
	}
	out := first[1]
	rep, ok, err := d.Replace(out.Expert)
	if err != nil || !ok {
		t.Fatalf("Replace: %v %v", ok, err)
	}
	if rep.Quota != out.Quota {
		t.Fatalf("replacement fills quota %d, want %d", rep.Quota, out.Quota)
	}
	// The replacement is the earliest position of the sequence that fits: no earlier
	// unused expert of that quota exists who would have kept the outside minimum.
	check := mustDrawer(t, seed, pool, r)
	if _, err := check.Initial(); err != nil {
		t.Fatal(err)
	}
	for p := 0; p < rep.Position; p++ {
		e := check.at(p)
		if slices.ContainsFunc(first, func(m Member) bool { return m.Expert == e.Expert }) {
			continue
		}
		if matches(e.Specialties, r.Quotas[out.Quota].Specialty) && (e.City != r.HostCity || !out.Outside) {
			t.Fatalf("position %d (%s) fits the vacancy before the replacement at %d", p, e.Expert, rep.Position)
		}
	}
	// Replaying from scratch gives the same replacement; the declined expert never returns.
	again := mustDrawer(t, seed, pool, r)
	if _, err := again.Initial(); err != nil {
		t.Fatal(err)
	}
	rep2, _, _ := again.Replace(out.Expert)
	if rep2 != rep {
		t.Fatalf("replay replaced with %+v, first time %+v", rep2, rep)
	}
	if _, _, err := again.Replace(out.Expert); kaiping.CodeOf(err) != "draw.not_member" {
		t.Fatalf("replacing a non-member: %v", err)
	}
	for _, m := range again.Active() {
		if m.Expert == out.Expert {
			t.Fatal("declined expert still active")
		}
	}
}

func TestReplaceExhausted(t *testing.T) {
	pool := mustPool(t, 12) // exactly 4 A0101 experts
	d := mustDrawer(t, testSeed("tight"), pool, testRules(Quota{"A0101", 3}))
	ms, err := d.Initial()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := d.Replace(ms[0].Expert); !ok || err != nil {
		t.Fatalf("first replacement: %v %v", ok, err)
	}
	if m, ok, err := d.Replace(ms[1].Expert); ok || err != nil {
		t.Fatalf("second replacement from an empty pool: %+v %v %v", m, ok, err)
	}
	if n := len(d.Active()); n != 2 {
		t.Fatalf("%d active, want 2 and one vacancy", n)
	}
}

// TestStreamUniform checks the rejection sampler is unbiased enough to notice a modulo bug:
// 60,000 draws over 6 outcomes, each within 5 % of 10,000.
func TestStreamUniform(t *testing.T) {
	s := newStream(testSeed("uniform"))
	var counts [6]int
	for range 60000 {
		counts[s.uniform(6)]++
	}
	for i, c := range counts {
		if math.Abs(float64(c)-10000) > 500 {
			t.Errorf("outcome %d: %d of 60000", i, c)
		}
	}
	if v := s.uniform(1); v != 0 {
		t.Errorf("uniform(1) = %d", v)
	}
}

func TestCheckReveal(t *testing.T) {
	seed := testSeed("reveal")
	c := Commitment(seed)
	if err := CheckReveal(c, seed); err != nil {
		t.Fatal(err)
	}
	other := testSeed("other")
	if err := CheckReveal(c, other); kaiping.CodeOf(err) != "draw.seed_mismatch" || kaiping.KindOf(err) != kaiping.KindInvalid {
		t.Errorf("wrong seed: %v", err)
	}
	if err := CheckReveal(c, seed[:16]); kaiping.CodeOf(err) != "draw.seed_size" {
		t.Errorf("short seed: %v", err)
	}
	if err := CheckReveal("not hex", seed); kaiping.CodeOf(err) != "draw.seed_mismatch" {
		t.Errorf("bad commitment: %v", err)
	}
}
