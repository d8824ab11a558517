package seat

// boolEncoder is VP8's boolean entropy encoder (RFC 6386, section 7.3).
type boolEncoder struct {
	out      []byte
	rng      uint32
	bottom   uint32
	bitCount int
}

func newBoolEncoder() *boolEncoder { return &boolEncoder{rng: 255, bitCount: 24} }

// addOne propagates a carry into the bytes already written.
func (e *boolEncoder) addOne() {
	i := len(e.out) - 1
	for i >= 0 && e.out[i] == 255 {
		e.out[i] = 0
		i--
	}
	if i >= 0 {
		e.out[i]++
	}
}

// put writes one boolean whose probability of being false is prob/256.
func (e *boolEncoder) put(prob uint8, value bool) {
	split := 1 + (((e.rng - 1) * uint32(prob)) >> 8)
	if value {
		e.bottom += split
		e.rng -= split
	} else {
		e.rng = split
	}
	for e.rng < 128 {
		e.rng <<= 1
		if e.bottom&(1<<31) != 0 {
			e.addOne()
		}
		e.bottom <<= 1
		e.bitCount--
		if e.bitCount == 0 {
			e.out = append(e.out, byte(e.bottom>>24))
			e.bottom &= 1<<24 - 1
			e.bitCount = 8
		}
	}
}

// literal writes the n low bits of v, most significant first, each at probability 1/2.
func (e *boolEncoder) literal(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		e.put(128, v>>uint(i)&1 == 1)
	}
}

// flush writes out what remains and returns the encoded bytes.
func (e *boolEncoder) flush() []byte {
	c := e.bitCount
	v := e.bottom
	if v&(1<<uint(32-c)) != 0 {
		e.addOne()
	}
	v <<= uint(c & 7)
	for c >>= 3; c > 0; c-- {
		v <<= 8
	}
	for i := 0; i < 4; i++ {
		e.out = append(e.out, byte(v>>24))
		v <<= 8
	}
	return e.out
}
