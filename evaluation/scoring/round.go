package scoring

import "math/big"

// round returns num/den (den > 0) rounded to a multiple of r.Unit by r.Mode: the one place
// a quotient becomes a figure (SCORING.md §3). A negative quotient rounds as its magnitude
// does, with the sign put back.
func (r Rounding) round(num, den int64) int64 {
	if num < 0 {
		return -r.round(-num, den)
	}
	d := den * r.Unit
	q, rem := num/d, num%d
	if 2*rem > d || 2*rem == d && (r.Mode == RoundHalfUp || q%2 == 1) {
		q++
	}
	return q * r.Unit
}

// roundBig is round for quotients of prices, whose products do not fit in 64 bits; the
// result is a multiple of unit (1 for fen, r.Unit for points) and fits. Its quotients are
// never negative.
func (r Rounding) roundBig(num, den *big.Int, unit int64) int64 {
	d := new(big.Int).Mul(den, big.NewInt(unit))
	q, rem := new(big.Int).QuoRem(num, d, new(big.Int))
	c := rem.Lsh(rem, 1).Cmp(d)
	if c > 0 || c == 0 && (r.Mode == RoundHalfUp || q.Bit(0) == 1) {
		q.Add(q, big.NewInt(1))
	}
	return q.Int64() * unit
}
