package draw

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"testing"

	"github.com/kaiping/kaiping"
)

var update = flag.Bool("update", false, "rewrite the golden test vector in testdata/")

func TestSnapshotRoundTrip(t *testing.T) {
	snap, _ := Screen(mustPool(t, 50), Conflicts{Session: testSession}, testRules(Quota{"A", 1}))
	b := snap.Encode()
	got, err := DecodeSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, snap) || !bytes.Equal(got.Encode(), b) {
		t.Fatal("decode(encode(s)) differs from s")
	}
	if d := Digest(b); len(d) != len("sha256:")+64 || d != Digest(got.Encode()) {
		t.Fatalf("digest %q", d)
	}
}

func TestDecodeSnapshotRefusesNonCanonical(t *testing.T) {
	a, b := testID(1), testID(2)
	tests := map[string]string{
		"no header":            a + "\t410100\tA0101\n",
		"unsorted experts":     snapshotHeader + b + "\t410100\tA0101\n" + a + "\t410100\tA0101\n",
		"duplicate expert":     snapshotHeader + a + "\t410100\tA0101\n" + a + "\t410100\tA0101\n",
		"unsorted specialties": snapshotHeader + a + "\t410100\tB01,A0101\n",
		"repeated specialty":   snapshotHeader + a + "\t410100\tA0101,A0101\n",
		"missing field":        snapshotHeader + a + "\t410100\n",
		"empty specialty":      snapshotHeader + a + "\t410100\tA0101,\n",
		"no final newline":     snapshotHeader + a + "\t410100\tA0101",
	}
	for name, in := range tests {
		if _, err := DecodeSnapshot([]byte(in)); kaiping.CodeOf(err) != "draw.snapshot_format" {
			t.Errorf("%s: %v, want draw.snapshot_format", name, err)
		}
	}
	if s, err := DecodeSnapshot([]byte(snapshotHeader)); err != nil || len(s.Entries) != 0 {
		t.Errorf("empty snapshot: %v %v", s, err)
	}
}

// vector is the golden test vector DRAW.md points re-implementers to.
type vector struct {
	Seed           string   `json:"seed_hex"`
	Commitment     string   `json:"commitment"`
	Rules          Rules    `json:"rules"`
	SnapshotFile   string   `json:"snapshot_file"`
	SnapshotDigest string   `json:"snapshot_digest"`
	FirstPositions []string `json:"first_positions"` // the experts at positions 0..9
	Members        []Member `json:"members"`
	Declined       string   `json:"declined"`
	Replacement    Member   `json:"replacement"`
}

// TestGoldenVector recomputes testdata/vector.json from its inputs: the algorithm cannot
// change without this test failing (or -update rewriting the vector on purpose).
func TestGoldenVector(t *testing.T) {
	seed := testSeed("kaiping golden vector")
	rules := testRules(Quota{"A01", 2}, Quota{"A10", 1}, Quota{"B03", 2})
	rules.MinOutside = 3
	snap, _ := Screen(mustPool(t, 40), Conflicts{Session: testSession}, rules)
	enc := snap.Encode()
	d, err := New(seed, snap, rules)
	if err != nil {
		t.Fatal(err)
	}
	v := vector{Seed: hex.EncodeToString(seed), Commitment: Commitment(seed), Rules: rules,
		SnapshotFile: "vector.snapshot", SnapshotDigest: Digest(enc)}
	for p := range 10 {
		v.FirstPositions = append(v.FirstPositions, d.at(p).Expert)
	}
	if v.Members, err = d.Initial(); err != nil {
		t.Fatal(err)
	}
	v.Declined = v.Members[0].Expert
	if v.Replacement, _, err = d.Replace(v.Declined); err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(v, "", "  ")
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile("testdata/vector.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("testdata/vector.snapshot", enc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/vector.json")
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the draw no longer reproduces testdata/vector.json:\n%s", got)
	}
	stored, err := os.ReadFile("testdata/vector.snapshot")
	if err != nil || !bytes.Equal(stored, enc) {
		t.Fatalf("testdata/vector.snapshot differs from the encoded snapshot (%v)", err)
	}
}
