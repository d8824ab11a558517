package draw_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"strings"
	"testing"
)

// This file re-implements DRAW.md from the text alone, without the package's code, and
// checks it against the golden vector: the document is precise enough to reproduce a draw.

type specVector struct {
	Seed       string `json:"seed_hex"`
	Commitment string `json:"commitment"`
	Rules      struct {
		Quotas []struct {
			Specialty string `json:"specialty"`
			Count     int    `json:"count"`
		} `json:"quotas"`
		HostCity   string `json:"host_city"`
		MinOutside int    `json:"min_outside"`
	} `json:"rules"`
	SnapshotDigest string   `json:"snapshot_digest"`
	FirstPositions []string `json:"first_positions"`
	Members        []struct {
		Expert   string `json:"expert"`
		Quota    int    `json:"quota"`
		Position int    `json:"position"`
	} `json:"members"`
	Declined    string `json:"declined"`
	Replacement struct {
		Expert   string `json:"expert"`
		Position int    `json:"position"`
	} `json:"replacement"`
}

type specExpert struct {
	id, city string
	specs    []string
}

func TestSpecReimplementation(t *testing.T) {
	raw, err := os.ReadFile("testdata/vector.json")
	if err != nil {
		t.Fatal(err)
	}
	var v specVector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	snap, err := os.ReadFile("testdata/vector.snapshot")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(snap)
	if "sha256:"+hex.EncodeToString(sum[:]) != v.SnapshotDigest {
		t.Fatal("snapshot digest (§2)")
	}
	seed, _ := hex.DecodeString(v.Seed)
	if c := sha256.Sum256(seed); hex.EncodeToString(c[:]) != v.Commitment {
		t.Fatal("commitment (§1)")
	}
	lines := strings.Split(strings.TrimSuffix(string(snap), "\n"), "\n")[1:]
	experts := make([]specExpert, len(lines))
	for i, l := range lines {
		f := strings.Split(l, "\t")
		experts[i] = specExpert{f[0], f[1], strings.Split(f[2], ",")}
	}

	// §4.1 and §4.2, computing the whole permutation up front.
	var values []uint64
	for b := uint64(0); len(values) < 4*len(experts)+64; b++ {
		m := hmac.New(sha256.New, seed)
		var ctr [8]byte
		binary.BigEndian.PutUint64(ctr[:], b)
		m.Write([]byte("kaiping-draw/v1/stream"))
		m.Write(ctr[:])
		s := m.Sum(nil)
		for k := 0; k < 32; k += 8 {
			values = append(values, binary.BigEndian.Uint64(s[k:]))
		}
	}
	next := 0
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	uniform := func(n int) int {
		bn := big.NewInt(int64(n))
		limit := new(big.Int).Sub(two64, new(big.Int).Mod(two64, bn))
		for {
			x := new(big.Int).SetUint64(values[next])
			next++
			if x.Cmp(limit) < 0 {
				return int(new(big.Int).Mod(x, bn).Int64())
			}
		}
	}
	perm := make([]int, len(experts))
	for i := range perm {
		perm[i] = i
	}
	for i := 0; i < len(perm)-1; i++ {
		j := i + uniform(len(perm)-i)
		perm[i], perm[j] = perm[j], perm[i]
	}
	for p, id := range v.FirstPositions {
		if experts[perm[p]].id != id {
			t.Fatalf("position %d: %s, vector %s", p, experts[perm[p]].id, id)
		}
	}

	// §4.3 and §5.
	open := make([]int, len(v.Rules.Quotas))
	for q, x := range v.Rules.Quotas {
		open[q] = x.Count
	}
	ever := map[string]bool{}
	type member struct {
		id       string
		quota, p int
		outside  bool
	}
	var current []member
	take := func(p int) (member, bool) {
		e := experts[perm[p]]
		if ever[e.id] {
			return member{}, false
		}
		outside := e.city != v.Rules.HostCity
		have, vacant := 0, 0
		for _, m := range current {
			if m.outside {
				have++
			}
		}
		for _, o := range open {
			vacant += o
		}
		if !outside && vacant-1 < max(0, v.Rules.MinOutside-have) {
			return member{}, false
		}
		for q, x := range v.Rules.Quotas {
			if open[q] == 0 {
				continue
			}
			for _, s := range e.specs {
				if strings.HasPrefix(s, x.Specialty) {
					open[q]--
					ever[e.id] = true
					m := member{e.id, q, p, outside}
					current = append(current, m)
					return m, true
				}
			}
		}
		return member{}, false
	}
	var got []string
	for p := 0; p < len(perm) && len(current) < len(v.Members); p++ {
		if m, ok := take(p); ok {
			got = append(got, fmt.Sprintf("%s/%d/%d", m.id, m.quota, m.p))
		}
	}
	var want []string
	for _, m := range v.Members {
		want = append(want, fmt.Sprintf("%s/%d/%d", m.Expert, m.Quota, m.Position))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("committee\n got %v\nwant %v", got, want)
	}
	for i, m := range current {
		if m.id == v.Declined {
			open[m.quota]++
			current = append(current[:i], current[i+1:]...)
			break
		}
	}
	for p := range perm {
		if m, ok := take(p); ok {
			if m.id != v.Replacement.Expert || m.p != v.Replacement.Position {
				t.Fatalf("replacement %s at %d, vector %s at %d", m.id, m.p, v.Replacement.Expert, v.Replacement.Position)
			}
			return
		}
	}
	t.Fatal("no replacement found")
}
