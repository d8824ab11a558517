package draw

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"
)

// testSeed is a fixed seed derived from label, so tests are reproducible and distinct.
func testSeed(label string) []byte {
	s := sha256.Sum256([]byte(label))
	return s[:]
}

// testID is the i-th expert ID in canonical UUID form; IDs sort in i order.
func testID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// cities the tests place experts in: the host city first.
var testCities = []string{"410200", "410100", "410400", "510100"}

// mustPool builds n candidates: specialties cycle over A0101, A1001, B0301 (every third also
// holds D01), cities cycle over testCities, all active.
func mustPool(tb testing.TB, n int) []Candidate {
	tb.Helper()
	specs := []string{"A0101", "A1001", "B0301"}
	out := make([]Candidate, n)
	for i := range out {
		s := []string{specs[i%3]}
		if i%3 == 0 {
			s = append(s, "D01")
		}
		out[i] = Candidate{
			Expert: testID(i), City: testCities[i%len(testCities)], Specialties: s,
			Status: "active", Employer: fmt.Sprintf("第%d建设咨询有限公司", i%97),
		}
	}
	return out
}

func testRules(quotas ...Quota) Rules {
	n := 0
	for _, q := range quotas {
		n += q.Count
	}
	return Rules{Version: Version, Experts: n, Quotas: quotas, HostCity: "410200"}
}

// mustDrawer screens pool (with no conflicts) and prepares the draw.
func mustDrawer(tb testing.TB, seed []byte, pool []Candidate, r Rules) *Drawer {
	tb.Helper()
	snap, _ := Screen(pool, Conflicts{Session: testSession}, r)
	d, err := New(seed, snap, r)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return d
}

var testSession = Period{
	Start: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC),
	End:   time.Date(2026, 6, 1, 17, 0, 0, 0, time.UTC),
}
