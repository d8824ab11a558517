package draw

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
)

// The tests in this file pin validation at its edges (make mutate found these unpinned).

// TestNewValidatesRules: New refuses every malformed rule set with its code, so a draw can
// never run under rules Validate would refuse; and the seed is exactly 32 bytes.
func TestNewValidatesRules(t *testing.T) {
	if SeedSize != 32 {
		t.Fatalf("SeedSize = %d, want 32", SeedSize)
	}
	snap := NewSnapshot([]Entry{{Expert: testID(1), City: "410100", Specialties: []string{"A01"}}})
	ok := func() Rules { return testRules(Quota{"A01", 3}, Quota{"B", 2}) }
	for _, c := range []struct {
		name string
		edit func(*Rules)
		code string
	}{
		{"version", func(r *Rules) { r.Version = "kaiping-draw/v2" }, "draw.version"},
		{"no experts", func(r *Rules) { r.Experts = 0; r.Quotas = []Quota{{"A01", 0}} }, "draw.experts"},
		{"negative experts", func(r *Rules) { r.Experts = -1 }, "draw.experts"},
		{"no quotas", func(r *Rules) { r.Quotas = nil }, "draw.quotas"},
		{"empty specialty", func(r *Rules) { r.Quotas[0].Specialty = "" }, "draw.quota"},
		{"zero count", func(r *Rules) { r.Quotas[0].Count = 0; r.Experts = 2 }, "draw.quota"},
		{"negative count", func(r *Rules) { r.Quotas[1].Count = -1; r.Experts = 2 }, "draw.quota"},
		{"same specialty twice", func(r *Rules) { r.Quotas[1].Specialty = "A01" }, "draw.quota_overlap"},
		{"a later quota inside an earlier one", func(r *Rules) { r.Quotas[1].Specialty = "A0101" }, "draw.quota_overlap"},
		{"a later quota around an earlier one", func(r *Rules) { r.Quotas[1].Specialty = "A" }, "draw.quota_overlap"},
		{"sum below", func(r *Rules) { r.Experts = 4 }, "draw.quota_sum"},
		{"sum above", func(r *Rules) { r.Experts = 6 }, "draw.quota_sum"},
		{"outside negative", func(r *Rules) { r.MinOutside = -1 }, "draw.min_outside"},
		{"outside above experts", func(r *Rules) { r.MinOutside = 6 }, "draw.min_outside"},
		{"outside without host city", func(r *Rules) { r.MinOutside = 1; r.HostCity = "" }, "draw.host_city"},
	} {
		r := ok()
		r.Quotas = append([]Quota(nil), r.Quotas...)
		c.edit(&r)
		if err := r.Validate(); kaiping.CodeOf(err) != c.code || kaiping.KindOf(err) != kaiping.KindInvalid {
			t.Errorf("Validate, %s: %v, want %s", c.name, err, c.code)
		}
		d, err := New(testSeed("rules"), snap, r)
		if kaiping.CodeOf(err) != c.code || d != nil {
			t.Errorf("New, %s: %v, want %s", c.name, err, c.code)
		}
	}
	for _, c := range []struct {
		name string
		edit func(*Rules)
	}{
		{"as given", func(*Rules) {}},
		{"every expert from outside", func(r *Rules) { r.MinOutside = 5 }},
		{"no outside minimum, no host city", func(r *Rules) { r.MinOutside = 0; r.HostCity = "" }},
		{"one expert", func(r *Rules) { r.Experts = 1; r.Quotas = []Quota{{"A01", 1}} }},
		{"siblings, not nested", func(r *Rules) { r.Quotas[1].Specialty = "A02" }},
	} {
		r := ok()
		r.Quotas = append([]Quota(nil), r.Quotas...)
		c.edit(&r)
		if err := r.Validate(); err != nil {
			t.Errorf("Validate, %s: %v", c.name, err)
		}
		if _, err := New(testSeed("rules"), snap, r); err != nil {
			t.Errorf("New, %s: %v", c.name, err)
		}
	}
	for _, n := range []int{0, 31, 33, 64} {
		if _, err := New(make([]byte, n), snap, ok()); kaiping.CodeOf(err) != "draw.seed_size" {
			t.Errorf("a %d-byte seed: %v", n, err)
		}
		if err := CheckReveal(Commitment(make([]byte, n)), make([]byte, n)); kaiping.CodeOf(err) != "draw.seed_size" {
			t.Errorf("revealing a %d-byte seed: %v", n, err)
		}
	}
}

// TestDecodeSnapshotRefusesEmptyFields: every field of a snapshot line is required.
func TestDecodeSnapshotRefusesEmptyFields(t *testing.T) {
	a := testID(1)
	for name, line := range map[string]string{
		"empty expert":      "\t410100\tA0101\n",
		"empty city":        a + "\t\tA0101\n",
		"empty specialties": a + "\t410100\t\n",
		"four fields":       a + "\t410100\tA0101\tx\n",
		"empty line":        "\n",
	} {
		_, err := DecodeSnapshot([]byte(snapshotHeader + line))
		if kaiping.CodeOf(err) != "draw.snapshot_format" || kaiping.KindOf(err) != kaiping.KindInvalid {
			t.Errorf("%s: %v, want draw.snapshot_format", name, err)
		}
		if err != nil && (!strings.Contains(err.Error(), "第 2 行") || !strings.Contains(err.Error(), "每行须为")) {
			t.Errorf("%s: %v does not name line 2 and what it must hold", name, err)
		}
	}
	s, err := DecodeSnapshot([]byte(snapshotHeader + a + "\t410100\tA0101,B01\n" + testID(2) + "\t510100\tC\n"))
	if err != nil || len(s.Entries) != 2 || s.Entries[1].City != "510100" || len(s.Entries[0].Specialties) != 2 {
		t.Fatalf("a good snapshot: %+v, %v", s, err)
	}
	_, err = DecodeSnapshot([]byte(snapshotHeader + a + "\t410100\tA0101\n" + a + "\t410100\tB\n"))
	if err == nil || !strings.Contains(err.Error(), "第 3 行") {
		t.Errorf("a duplicate on line 3: %v", err)
	}
}

// TestUniformLimit: uniform keeps exactly the values below the largest multiple of n that
// fits in 64 bits, so every outcome in [0, n) has the same number of values behind it.
func TestUniformLimit(t *testing.T) {
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	for _, n := range []uint64{1, 2, 3, 5, 6, 7, 10, 200, 1000, 1 << 32, 1<<63 - 1, 1 << 63, 1<<63 + 1, math.MaxUint64} {
		bn := new(big.Int).SetUint64(n)
		want := new(big.Int).Div(two64, bn)
		want.Mul(want, bn).Sub(want, big.NewInt(1))
		if got := uniformLimit(n); new(big.Int).SetUint64(got).Cmp(want) != 0 {
			t.Errorf("uniformLimit(%d) = %d, want %s", n, got, want)
		}
	}
}

// TestReasonTimesAreBeijingTime: the dates and minutes in exclusion reasons are Beijing
// time (UTC+8), to the second: a period starting 5 s before a Beijing minute and ending
// 3 s after one, and a penalty ending at Beijing midnight.
func TestReasonTimesAreBeijingTime(t *testing.T) {
	c := Candidate{Expert: testID(1), City: "410100", Specialties: []string{"A0101"}, Status: "active",
		Unavailable: []Period{{Start: time.Date(2026, 6, 1, 0, 59, 55, 0, time.UTC), End: time.Date(2026, 6, 1, 9, 0, 3, 0, time.UTC)}},
		Penalties:   []Penalty{{Until: time.Date(2026, 6, 30, 16, 0, 0, 0, time.UTC), Reason: "迟到"}},
	}
	_, ex := Screen([]Candidate{c}, Conflicts{Session: testSession}, testRules(Quota{"A", 1}))
	if len(ex) != 1 || len(ex[0].Reasons) != 2 {
		t.Fatalf("exclusions %+v", ex)
	}
	for i, want := range []string{"受处理禁止评标至 2026-07-01：迟到", "已申报 2026-06-01 08:59 至 2026-06-01 17:00 不能参加评标"} {
		if got := ex[0].Reasons[i].Message; got != want {
			t.Errorf("reason %d: %q, want %q", i, got, want)
		}
	}
}

// TestDecodeSnapshotNamesLineOne: a snapshot without its version line is refused at line 1.
func TestDecodeSnapshotNamesLineOne(t *testing.T) {
	_, err := DecodeSnapshot([]byte(testID(1) + "\t410100\tA0101\n"))
	if kaiping.CodeOf(err) != "draw.snapshot_format" || !strings.Contains(err.Error(), "第 1 行") {
		t.Errorf("no version line: %v", err)
	}
}

// TestDrawEdges: a pool of exactly the committee is drawn whole, position 0 included;
// Initial runs once, even after every member was replaced away; replacing someone who is
// not a member is refused with ok false.
func TestDrawEdges(t *testing.T) {
	entries := []Entry{
		{Expert: testID(1), City: "410100", Specialties: []string{"A01"}},
		{Expert: testID(2), City: "410100", Specialties: []string{"A01"}},
		{Expert: testID(3), City: "410100", Specialties: []string{"A01"}},
	}
	d, err := New(testSeed("whole pool"), NewSnapshot(entries), testRules(Quota{"A01", 3}))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := d.Initial()
	if err != nil || len(ms) != 3 {
		t.Fatalf("Initial: %+v, %v", ms, err)
	}
	positions := map[int]bool{}
	for _, m := range ms {
		positions[m.Position] = true
	}
	if !positions[0] || !positions[1] || !positions[2] {
		t.Fatalf("positions %v, want 0, 1 and 2", positions)
	}
	m, ok, err := d.Replace(testID(9))
	if kaiping.CodeOf(err) != "draw.not_member" || ok || m != (Member{}) {
		t.Fatalf("Replace(a stranger) = %+v, %v, %v", m, ok, err)
	}

	one, err := New(testSeed("one"), NewSnapshot(entries[:1]), testRules(Quota{"A01", 1}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := one.Initial(); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := one.Replace(testID(1)); ok || err != nil {
		t.Fatalf("Replace with nobody left: %v, %v", ok, err)
	}
	if _, err := one.Initial(); err == nil || kaiping.CodeOf(err) != "internal" {
		t.Fatalf("Initial after its only member left: %v", err)
	}
}

// TestRevealSaysHowLong: a seed of the wrong size is told its size in bytes and hex digits.
func TestRevealSaysHowLong(t *testing.T) {
	err := CheckReveal(Commitment(make([]byte, 16)), make([]byte, 16))
	var ke *kaiping.Error
	if !errors.As(err, &ke) || !strings.Contains(ke.Message, "32 字节（64 位十六进制）") {
		t.Fatalf("%v", err)
	}
}

// TestRecentTendererNeedsBoth: the rest period applies only with a tenderer and a window;
// an empty tenderer never matches an expert's history with no tenderer recorded.
func TestRecentTendererNeedsBoth(t *testing.T) {
	c := Candidate{Expert: testID(1), City: "410100", Specialties: []string{"A0101"}, Status: "active",
		History: []Service{{Tender: "KF-1", Tenderer: "", At: testSession.Start.AddDate(0, 0, -1)},
			{Tender: "KF-2", Tenderer: "某中学", At: testSession.Start.AddDate(0, 0, -1)}}}
	for name, conf := range map[string]Conflicts{
		"no tenderer": {Session: testSession, RecentWindow: 180 * 24 * time.Hour},
		"no window":   {Session: testSession, Tenderer: "某中学"},
	} {
		snap, ex := Screen([]Candidate{c}, conf, testRules(Quota{"A", 1}))
		if len(ex) != 0 || len(snap.Entries) != 1 {
			t.Errorf("%s: excluded %+v", name, ex)
		}
	}
}

// TestQuotaMessageCountsFromOne: a bad quota is named by its position counted from 1.
func TestQuotaMessageCountsFromOne(t *testing.T) {
	r := testRules(Quota{"A01", 1}, Quota{"", 1})
	if err := r.Validate(); kaiping.CodeOf(err) != "draw.quota" || !strings.Contains(err.Error(), "第 2 个专业配额") {
		t.Fatalf("%v", err)
	}
}
