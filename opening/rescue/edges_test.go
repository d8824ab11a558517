package rescue

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
)

// The tests in this file pin limits and decoders at their edges, by value rather than
// through the constants (make mutate found these unpinned).

// TestLimitValues: the limits RESCUE.md states, by value.
func TestLimitValues(t *testing.T) {
	for name, c := range map[string]struct{ got, want int }{
		"MinThreshold":  {MinThreshold, 2},
		"MaxHolders":    {MaxHolders, 32},
		"pointSize":     {pointSize, 65},
		"scalarSize":    {scalarSize, 32},
		"proofSize":     {proofSize, 64},
		"maxEnvelopeID": {maxEnvelopeID, 64},
		"shareSize":     {shareSize, 86},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", name, c.got, c.want)
		}
	}
}

// TestSplitBounds: 2 of 2 and 2 of 32 are accepted, 33 holders refused.
func TestSplitBounds(t *testing.T) {
	ths := mustHolders(t, 33)
	for _, c := range []struct{ k, n int }{{2, 2}, {2, 32}, {32, 32}} {
		s, err := Split(rand.Reader, c.k, c.n, holdersOf(ths[:c.n]))
		if err != nil {
			t.Fatalf("Split(%d of %d): %v", c.k, c.n, err)
		}
		if s.Threshold() != c.k || len(s.Shares) != c.n {
			t.Fatalf("Split(%d of %d): threshold %d, %d shares", c.k, c.n, s.Threshold(), len(s.Shares))
		}
		for i, es := range s.Shares {
			if es.Index != i+1 {
				t.Fatalf("share %d has index %d", i, es.Index)
			}
		}
	}
	_, err := Split(rand.Reader, 2, 33, holdersOf(ths))
	wantCode(t, err, kaiping.KindInvalid, CodeHolderCount)
	_, err = Split(rand.Reader, 1, 1, holdersOf(ths[:1]))
	wantCode(t, err, kaiping.KindInvalid, CodeThreshold)
	_, err = Split(rand.Reader, 2, 1, holdersOf(ths[:1]))
	wantCode(t, err, kaiping.KindInvalid, CodeHolderCount)
}

// TestParsePublicKeyRefuses: anything but a 65-byte uncompressed point on P-256 is
// rescue.setup_invalid, never a panic.
func TestParsePublicKeyRefuses(t *testing.T) {
	s := mustSplit(t, 2, mustHolders(t, 2))
	good := s.PublicKey.Bytes()
	if pub, err := ParsePublicKey(good); err != nil || !pub.Equal(s.PublicKey) {
		t.Fatalf("ParsePublicKey(a good key): %v", err)
	}
	offCurve := bytes.Clone(good)
	offCurve[64] ^= 1
	compressed := append([]byte{2 + good[64]&1}, good[1:33]...)
	for name, b := range map[string][]byte{
		"nil":               nil,
		"empty":             {},
		"one byte":          {0x04},
		"64 bytes":          good[:64],
		"66 bytes":          append(bytes.Clone(good), 0),
		"compressed":        compressed,
		"prefix 0x02":       append([]byte{0x02}, good[1:]...),
		"prefix 0x00":       append([]byte{0x00}, good[1:]...),
		"off the curve":     offCurve,
		"PEM":               []byte("-----BEGIN PUBLIC KEY-----\n" + strings.Repeat("A", 64) + "\n-----END PUBLIC KEY-----\n"),
		"the point at zero": append([]byte{0x04}, make([]byte, 64)...),
	} {
		t.Run(name, func(t *testing.T) {
			pub, err := ParsePublicKey(b)
			wantCode(t, err, kaiping.KindInvalid, CodeSetupInvalid)
			if pub != nil {
				t.Fatal("a refused key was returned")
			}
		})
	}
}
