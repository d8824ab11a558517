package rescue

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudflare/circl/group"

	"github.com/kaiping/kaiping"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// partialVectorsFile holds the test vectors of RESCUE.md §4: the threshold decryption of one
// rescue stanza, from the polynomial's coefficients to the combined secret.
const partialVectorsFile = "testdata/partial-vectors.json"

// partialVector is one vector. Every byte string is lowercase hex; points are 65-byte
// uncompressed SEC 1, scalars 32 bytes big-endian.
type partialVector struct {
	Name         string   `json:"name"`
	Coefficients []string `json:"coefficients"` // a_0 (the rescue scalar s) … a_{k-1}: secret, given for checking only
	PublicKey    string   `json:"public_key"`   // C_0 = s·G
	KeyID        string   `json:"key_id"`
	Commitments  []string `json:"commitments"`
	Envelope     string   `json:"envelope_id"`
	Ephemeral    string   `json:"ephemeral"` // E of the stanza
	Holders      []struct {
		Index  int    `json:"index"`
		Share  string `json:"share"`  // s_i = f(i)
		Public string `json:"public"` // Y_i = Σ C_j·i^j
		Noise  string `json:"noise"`  // the 32 random bytes PartialDecrypt read
		Point  string `json:"point"`  // D_i
		Proof  string `json:"proof"`  // c || z
	} `json:"holders"`
	SharedX string `json:"shared_x"` // X coordinate of s·E: the ECDH secret of seal §5.1
}

// TestPartialVectors checks the committed vectors: the commitments, public shares, partials
// (with the recorded noise), proofs and combined secret all come out byte for byte; every
// k-subset of the partials combines to the secret; and the secret is what the whole scalar
// gives. Run go test -update to regenerate after a deliberate change of RESCUE.md.
func TestPartialVectors(t *testing.T) {
	if *update {
		var vs []partialVector
		for i, kn := range [][2]int{{2, 3}, {3, 5}} {
			vs = append(vs, makeVector(t, i, kn[0], kn[1]))
		}
		b, err := json.MarshalIndent(vs, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(partialVectorsFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(partialVectorsFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(partialVectorsFile)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	var vs []partialVector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) { checkVector(t, v) })
	}
}

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// makeVector derives a vector's secrets from its number, so that -update is reproducible.
func makeVector(tb testing.TB, n, k, holders int) partialVector {
	tb.Helper()
	derive := func(what string) group.Scalar {
		return group.P256.HashToScalar([]byte(fmt.Sprintf("vector %d %s", n, what)), []byte("kaiping.org/rescue/v1/test-vectors"))
	}
	v := partialVector{Name: fmt.Sprintf("%d-of-%d", k, holders), Envelope: fmt.Sprintf("0193a2b4-0000-7000-8000-00000000000%d", n)}
	coef := make([]group.Scalar, k)
	for j := range coef {
		coef[j] = derive(fmt.Sprintf("coefficient %d", j))
		b, _ := coef[j].MarshalBinary()
		v.Coefficients = append(v.Coefficients, hex.EncodeToString(b))
	}
	e := derive("ephemeral")
	eb, _ := group.P256.NewElement().MulGen(e).MarshalBinary()
	v.Ephemeral = hex.EncodeToString(eb)
	for i := 1; i <= holders; i++ {
		sb, _ := evalPoly(coef, i).MarshalBinary()
		noise := derive(fmt.Sprintf("noise %d", i))
		nb, _ := noise.MarshalBinary()
		v.Holders = append(v.Holders, struct {
			Index  int    `json:"index"`
			Share  string `json:"share"`
			Public string `json:"public"`
			Noise  string `json:"noise"`
			Point  string `json:"point"`
			Proof  string `json:"proof"`
		}{Index: i, Share: hex.EncodeToString(sb), Noise: hex.EncodeToString(nb)})
	}
	fill(tb, &v)
	return v
}

// fill computes everything public in v from its coefficients, shares and noise.
func fill(tb testing.TB, v *partialVector) {
	tb.Helper()
	v.Commitments = nil
	for _, a := range v.Coefficients {
		s := group.P256.NewScalar()
		if err := s.UnmarshalBinary(unhex(tb, a)); err != nil {
			tb.Fatal(err)
		}
		b, _ := group.P256.NewElement().MulGen(s).MarshalBinary()
		v.Commitments = append(v.Commitments, hex.EncodeToString(b))
	}
	v.PublicKey = v.Commitments[0]
	pub, err := ecdh.P256().NewPublicKey(unhex(tb, v.PublicKey))
	if err != nil {
		tb.Fatal(err)
	}
	c, _ := commitmentsOf(tb, v)
	if v.KeyID, _, err = parseSetup(c, pub); err != nil {
		tb.Fatal(err)
	}
	for i := range v.Holders {
		h := &v.Holders[i]
		y, err := HolderKey(c, pub, h.Index)
		if err != nil {
			tb.Fatal(err)
		}
		h.Public = hex.EncodeToString(y)
		p, err := PartialDecrypt(bytes.NewReader(unhex(tb, h.Noise)), Share{KeyID: v.KeyID, Index: h.Index, Value: unhex(tb, h.Share)},
			kaiping.ID(v.Envelope), unhex(tb, v.Ephemeral))
		if err != nil {
			tb.Fatal(err)
		}
		h.Point, h.Proof = hex.EncodeToString(p.Point), hex.EncodeToString(p.Proof)
	}
	a0 := group.P256.NewScalar()
	if err := a0.UnmarshalBinary(unhex(tb, v.Coefficients[0])); err != nil {
		tb.Fatal(err)
	}
	e := group.P256.NewElement()
	if err := e.UnmarshalBinary(unhex(tb, v.Ephemeral)); err != nil {
		tb.Fatal(err)
	}
	sb, _ := group.P256.NewElement().Mul(e, a0).MarshalBinary()
	v.SharedX = hex.EncodeToString(sb[1:33])
}

func commitmentsOf(tb testing.TB, v *partialVector) (Commitments, *ecdh.PublicKey) {
	tb.Helper()
	var c Commitments
	for _, p := range v.Commitments {
		c.Points = append(c.Points, unhex(tb, p))
	}
	pub, err := ecdh.P256().NewPublicKey(unhex(tb, v.PublicKey))
	if err != nil {
		tb.Fatal(err)
	}
	return c, pub
}

// evalPoly is f(x) = Σ a_j·x^j.
func evalPoly(coef []group.Scalar, x int) group.Scalar {
	xs := group.P256.NewScalar().SetUint64(uint64(x))
	y := group.P256.NewScalar()
	for j := len(coef) - 1; j >= 0; j-- {
		y.Mul(y, xs)
		y.Add(y, coef[j])
	}
	return y
}

func checkVector(t *testing.T, want partialVector) {
	got := want
	got.Holders = append(got.Holders[:0:0], want.Holders...)
	fill(t, &got)
	wb, _ := json.Marshal(want)
	gb, _ := json.Marshal(got)
	if !bytes.Equal(wb, gb) {
		t.Fatalf("recomputed vector differs:\n got %s\nwant %s", gb, wb)
	}
	c, pub := commitmentsOf(t, &want)
	eph := unhex(t, want.Ephemeral)
	ps := make([]Partial, len(want.Holders))
	for i, h := range want.Holders {
		ps[i] = Partial{Envelope: kaiping.ID(want.Envelope), Index: h.Index, Point: unhex(t, h.Point), Proof: unhex(t, h.Proof)}
		if err := VerifyPartial(ps[i], eph, c, pub); err != nil {
			t.Errorf("holder %d: %v", h.Index, err)
		}
	}
	peer, err := ecdh.P256().NewPublicKey(eph)
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range subsets(len(ps), len(c.Points)) {
		key, err := CombinePartials(pickPartials(ps, set...), eph, c, pub)
		if err != nil {
			t.Fatalf("subset %v: %v", set, err)
		}
		x, err := key.ECDH(peer)
		if err != nil || hex.EncodeToString(x) != want.SharedX {
			t.Errorf("subset %v: %x, %v; want %s", set, x, err, want.SharedX)
		}
	}
}
