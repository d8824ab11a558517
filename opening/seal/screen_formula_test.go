package seal

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
)

// evidenceByFormula is PlaintextEvidence written straight from its doc comment, with every
// lnΓ computed on the spot (no table): the mixture of three Dirichlet coders and three
// byte-class coders against the uniform model, in bits.
func evidenceByFormula(counts *[256]uint32, n int) float64 {
	lg := func(x float64) float64 { v, _ := math.Lgamma(x); return v }
	uniform := float64(n) * 8 * math.Ln2
	var comps []float64
	for _, a := range []float64{1.0 / 16, 1.0 / 4, 1} {
		lq := lg(256*a) - lg(float64(n)+256*a)
		for _, c := range counts {
			if c > 0 {
				lq += lg(float64(c)+a) - lg(a)
			}
		}
		comps = append(comps, lq+uniform)
	}
	text := []int{'\t', '\n', '\r'}
	for c := 0x20; c < 0x7f; c++ {
		text = append(text, c)
	}
	for _, class := range [][]int{text, {0x00}, {0xff}} {
		in := 0
		for _, b := range class {
			in += int(counts[b])
		}
		size := float64(len(class))
		lq := lg(float64(in)+0.5) + lg(float64(n-in)+0.5) - math.Log(math.Pi) - lg(float64(n)+1) -
			float64(in)*math.Log(size) - float64(n-in)*math.Log(256-size)
		comps = append(comps, lq+uniform)
	}
	var sum float64
	for _, c := range comps {
		sum += math.Exp(c - comps[0])
	}
	return (comps[0] + math.Log(sum/float64(len(comps)))) / math.Ln2
}

// TestPlaintextEvidenceFollowsItsFormula checks the screen's score against its formula on
// ciphertext-like, text-like and degenerate histograms, to a part in a billion: a changed
// constant or a table left unfilled moves it far more.
func TestPlaintextEvidenceFollowsItsFormula(t *testing.T) {
	random := make([]byte, encChunkSize)
	rand.Read(random)
	for name, piece := range map[string][]byte{
		"random (ciphertext-like)": random,
		"Chinese text":             chineseText[:encChunkSize],
		"English text, 61 bytes":   englishText[:61],
		"zeros":                    make([]byte, 4096),
		"0xFF fill":                []byte(strings.Repeat("\xff", 300)),
		"one byte":                 {'a'},
	} {
		var counts [256]uint32
		for _, b := range piece {
			counts[b]++
		}
		got, want := PlaintextEvidence(&counts, len(piece)), evidenceByFormula(&counts, len(piece))
		if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("%s: %.12f bits, the formula gives %.12f", name, got, want)
		}
	}
}

// TestScreenPayloadAlone: Payload tests the last, short piece even when Header was never
// asked for (ReadBack may ask only for the payload's verdict).
func TestScreenPayloadAlone(t *testing.T) {
	fx := mustFixtures(t)
	env := mustSeal(t, pattern(3000), testBinding(), []*party{fx["p256"]}) // one short chunk
	s := screen(withBody(t, env, englishText), 4096)
	wantCode(t, s.Payload(), CodeNotCiphertext)
}

// TestCertAlgRSABounds: RSA certificates from 2048 to 8192 bits wrap with RSA-OAEP, by bits
// (a 2047-bit modulus also takes 256 bytes); outside that range they are refused.
func TestCertAlgRSABounds(t *testing.T) {
	for _, tt := range []struct {
		bits int
		ok   bool
	}{{2047, false}, {2048, true}, {8192, true}, {8193, false}} {
		n := new(big.Int).Lsh(big.NewInt(1), uint(tt.bits-1)) // exactly tt.bits bits
		typ, err := certAlg(&rsa.PublicKey{N: n, E: 65537})
		if tt.ok != (err == nil) || tt.ok && typ != TypeRSAOAEP {
			t.Errorf("%d bits: %q, %v", tt.bits, typ, err)
		}
	}
}

// TestDecryptKeepsTheMessage: a failing chunk's error reaches the caller as the chunk's own
// error, its message unchanged (only internal errors get Decrypt's context).
func TestDecryptKeepsTheMessage(t *testing.T) {
	fx := mustFixtures(t)
	env := mustSeal(t, pattern(200_000), testBinding(), []*party{fx["p256"]})
	key := mustFileKey(t, env, fx["p256"])
	env[len(env)-10] ^= 1
	_, err := Decrypt(devNull{}, strings.NewReader(string(env)), key)
	var ke *kaiping.Error
	if !errors.As(err, &ke) || err.Error() != ke.Error() {
		t.Fatalf("Decrypt of a tampered envelope: %v (want the chunk's own error, unwrapped)", err)
	}
}

type devNull struct{}

func (devNull) Write(p []byte) (int, error) { return len(p), nil }
