package draw

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math"
)

// SeedSize is the length of a draw seed in bytes.
const SeedSize = 32

// streamLabel separates the draw's HMAC inputs from any other use of the seed.
const streamLabel = Version + "/stream"

// Commitment is the published commitment to seed: lowercase hex SHA-256 of the seed bytes.
func Commitment(seed []byte) string {
	sum := sha256.Sum256(seed)
	return hex.EncodeToString(sum[:])
}

// CheckReveal reports whether seed is the one commitment committed to. A mismatch is
// KindInvalid "draw.seed_mismatch": the draw cannot be trusted and must not be used.
func CheckReveal(commitment string, seed []byte) error {
	if len(seed) != SeedSize {
		return invalid("draw.seed_size", "抽取种子须为 %d 字节（%d 位十六进制）", SeedSize, 2*SeedSize)
	}
	want, err := hex.DecodeString(commitment)
	got := sha256.Sum256(seed)
	if err != nil || !hmac.Equal(want, got[:]) {
		return invalid("draw.seed_mismatch", "揭示的抽取种子与事先公布的承诺值不符（SHA-256 %s ≠ %s），本次抽取结果不可信", hex.EncodeToString(got[:]), commitment)
	}
	return nil
}

// stream is the draw's deterministic random source: block i is
// HMAC-SHA256(key = seed, message = streamLabel || uint64be(i)), read as four big-endian
// uint64 values in order.
type stream struct {
	mac   hash.Hash
	block uint64
	buf   [sha256.Size]byte
	used  int // uint64 values taken from buf; 4 means empty
}

func newStream(seed []byte) *stream {
	return &stream{mac: hmac.New(sha256.New, seed), used: 4}
}

func (s *stream) next() uint64 {
	if s.used == 4 {
		var ctr [8]byte
		binary.BigEndian.PutUint64(ctr[:], s.block)
		s.mac.Reset()
		s.mac.Write([]byte(streamLabel))
		s.mac.Write(ctr[:])
		s.mac.Sum(s.buf[:0])
		s.block++
		s.used = 0
	}
	v := binary.BigEndian.Uint64(s.buf[8*s.used:])
	s.used++
	return v
}

// uniform returns a uniform integer in [0, n) for n ≥ 1, by rejection: values at or above
// the largest multiple of n that fits in 64 bits are discarded, so no outcome is favoured.
func (s *stream) uniform(n uint64) uint64 {
	limit := uniformLimit(n)
	for {
		if v := s.next(); v <= limit {
			return v % n
		}
	}
}

// uniformLimit is the largest value uniform keeps for n: the largest multiple of n that
// fits in 64 bits (2^64 itself for a power of two), minus one.
func uniformLimit(n uint64) uint64 { return math.MaxUint64 - (math.MaxUint64%n+1)%n }
