package seal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
)

// Screen checks, without any key, what a server can check of an envelope as it streams by:
// that the header parses, and that every stored chunk of the payload looks like ciphertext.
// It is an io.Writer, fed the whole envelope (header and payload) alongside the hashes of
// the one read that checks a stored object, so it costs no second read. Write never fails;
// the verdicts come after the last Write, from Header and Payload.
//
// It keeps at most one header's worth of bytes (MaxHeaderSize, until the header is parsed)
// and, per chunk, only a count of each byte value: never the payload itself.
type Screen struct {
	head    []byte // the envelope's first bytes, until the header is parsed
	hdr     *Header
	hdrErr  error
	parsed  bool
	hist    [4][256]uint32 // byte counts of the current piece, four tables to keep stores apart
	n       int            // bytes of the current piece seen
	index   uint64         // the current piece's chunk index
	failed  bool           // a piece failed; failure is its index
	failure uint64
	done    bool
}

// NewScreen returns a Screen for one envelope.
func NewScreen() *Screen { return &Screen{} }

// Write takes the next bytes of the envelope.
func (s *Screen) Write(p []byte) (int, error) {
	n := len(p)
	if !s.parsed {
		take := min(len(p), MaxHeaderSize-len(s.head))
		s.head = append(s.head, p[:take]...)
		p = p[take:]
		if len(s.head) < MaxHeaderSize {
			return n, nil
		}
		s.parseHeader()
	}
	s.payload(p)
	return n, nil
}

// parseHeader parses the buffered first bytes and feeds what follows the header to the
// payload test. An envelope whose header does not parse has no payload to test.
func (s *Screen) parseHeader() {
	s.parsed = true
	head := s.head
	s.head = nil
	s.hdr, _, s.hdrErr = ParseHeader(bytes.NewReader(head))
	if s.hdrErr != nil {
		return
	}
	s.payload(head[s.hdr.Size():])
	clear(head) // it may hold the start of a payload that is not ciphertext
}

// payload counts p into the current piece, testing each piece as it completes.
func (s *Screen) payload(p []byte) {
	if s.hdrErr != nil || s.failed {
		return
	}
	for len(p) > 0 {
		take := min(len(p), encChunkSize-s.n)
		s.count(p[:take])
		p = p[take:]
		if s.n == encChunkSize {
			s.endPiece()
		}
	}
}

func (s *Screen) count(p []byte) {
	s.n += len(p)
	h := &s.hist
	// Eight bytes per load, spread over four tables so that runs of one byte value do not
	// wait on one counter.
	for len(p) >= 8 {
		v := binary.LittleEndian.Uint64(p)
		h[0][byte(v)]++
		h[1][byte(v>>8)]++
		h[2][byte(v>>16)]++
		h[3][byte(v>>24)]++
		h[0][byte(v>>32)]++
		h[1][byte(v>>40)]++
		h[2][byte(v>>48)]++
		h[3][byte(v>>56)]++
		p = p[8:]
	}
	for _, b := range p {
		h[0][b]++
	}
}

// endPiece tests the piece counted so far and starts the next.
func (s *Screen) endPiece() {
	var counts [256]uint32
	for i := range counts {
		counts[i] = s.hist[0][i] + s.hist[1][i] + s.hist[2][i] + s.hist[3][i]
	}
	if PlaintextEvidence(&counts, s.n) >= NotCiphertextBits {
		s.failed, s.failure = true, s.index
	}
	s.hist = [4][256]uint32{}
	s.n = 0
	s.index++
}

func (s *Screen) finish() {
	if s.done {
		return
	}
	s.done = true
	if !s.parsed {
		s.parseHeader()
	}
	if s.hdrErr == nil && !s.failed && (s.n > 0 || s.index == 0) {
		s.endPiece() // the last piece (or the missing first one), however short
	}
}

// Header returns the envelope's header as ParseHeader reads it, or its error. Call it after
// the last Write.
func (s *Screen) Header() (*Header, error) {
	s.finish()
	return s.hdr, s.hdrErr
}

// Payload returns nil when every stored chunk of the payload looks like ciphertext, and
// otherwise seal.not_ciphertext for the first that does not, with a *ChunkError naming it
// (its message says which chunk and nothing of its content). It says nothing about an
// envelope whose header did not parse. Call it after the last Write.
func (s *Screen) Payload() error {
	s.finish()
	if !s.failed {
		return nil
	}
	offset := s.hdr.Size() + int64(s.failure)*encChunkSize
	return chunkErr(CodeNotCiphertext, fmt.Sprintf(
		"密封文件数据块 #%d（从 0 起计，偏移 %d 字节）不是密文：其内容可以压缩，是未加密的数据", s.failure, offset),
		s.failure, offset)
}

// NotCiphertextBits is how many bits a chunk must compress by for the screen to call it
// not ciphertext. See PlaintextEvidence for why a genuine chunk never does, in practice.
const NotCiphertextBits = 64

// PlaintextEvidence says, in bits, how much a stored piece of n bytes with these byte counts
// compresses under the best of four order-0 coders: log2(Q(x) / 256^-n), where Q is the
// equal mixture of
//
//   - three adaptive (Dirichlet-multinomial, "add-α") byte coders, α = 1/16, 1/4 and 1: the
//     probability they give a string depends only on its byte counts, so the counts are
//     all the screen keeps; small α favours a few distinct bytes (text, zeros), α = 1 a
//     skew over all 256 (compressed or structured binary data);
//   - a coder for strings of printable ASCII (TAB, LF, CR, 0x20–0x7E) only, which sees short
//     text (a summary form of 60 bytes) the adaptive ones cannot yet.
//
// Why a genuine chunk never reaches NotCiphertextBits: a stored chunk is GCM output, a block
// cipher's keystream XORed with the chunk and a tag from a one-time key: as long as AES and
// SM4 are good block ciphers, no test tells it from uniformly random bytes, so take x
// uniform. Q is a probability distribution on strings of n bytes (each coder's is, and so
// is their mixture), so the expectation of Q(x)/256^-n over uniform x is exactly Σ Q(x) = 1,
// and by Markov's inequality P(Q(x)/256^-n ≥ 2^t) ≤ 2^-t: the probability that a genuine
// chunk is refused is at most 2^-64 ≈ 5·10^-20, for any chunk length, with no statistical
// approximation. A trading centre taking a million 100 MiB bids a year (1.6·10^9 chunks)
// would refuse a genuine one about once in 10^10 years. (A plaintext chunk "compresses, a
// ciphertext chunk does not": the bound is the counting argument that random strings are
// incompressible.)
//
// What it catches: text in any encoding, zeros, anything with a skewed byte distribution:
// PDF, Office files' XML and headers, images, thousands of bits past the threshold for a
// full chunk. What it cannot catch: data already compressed or encrypted by something else
// (a gzip or ZIP's deflate stream, a JPEG's entropy-coded body) within one chunk is as
// incompressible as ciphertext, and a piece of text shorter than about 50 bytes cannot
// carry 64 bits of evidence. The bidder's tool, which opens every chunk with the bidder's
// key before sending anything, is the check for those; this one is the server's net under
// a tool that skipped it.
func PlaintextEvidence(counts *[256]uint32, n int) float64 {
	if n == 0 {
		return math.Inf(-1)
	}
	var comps [len(dirichletAlphas) + len(byteClasses)]float64
	uniform := float64(n) * math.Ln2 * 8 // -ln 256^-n
	for k, a := range dirichletAlphas {
		// ln Q_α(x) = lnΓ(256α) − lnΓ(n+256α) + Σ_b [lnΓ(count_b+α) − lnΓ(α)]
		lq := lgamma(256*a) - lgamma(float64(n)+256*a)
		for _, c := range counts {
			if c > 0 {
				lq += lgammaShifted(k, c) - lgamma(a)
			}
		}
		comps[k] = lq + uniform
	}
	for k, class := range byteClasses {
		// A byte is in the class with a probability the coder learns as it goes (the
		// Krichevsky–Trofimov estimator), and uniform within the class or outside it:
		// ln Q(x) = ln KT(in, n−in) − in·ln|class| − (n−in)·ln(256−|class|).
		in := 0
		for _, b := range class {
			in += int(counts[b])
		}
		size := float64(len(class))
		lq := lgamma(float64(in)+0.5) + lgamma(float64(n-in)+0.5) - math.Log(math.Pi) - lgamma(float64(n)+1) -
			float64(in)*math.Log(size) - float64(n-in)*math.Log(256-size)
		comps[len(dirichletAlphas)+k] = lq + uniform
	}
	// ln of the mean of e^comps, computed without overflow.
	top := math.Inf(-1)
	for _, c := range comps {
		top = max(top, c)
	}
	var sum float64
	for _, c := range comps {
		sum += math.Exp(c - top)
	}
	return (top + math.Log(sum/float64(len(comps)))) / math.Ln2
}

// dirichletAlphas are the pseudo-counts of the adaptive coders.
var dirichletAlphas = [...]float64{1.0 / 16, 1.0 / 4, 1}

// byteClasses are the byte values structured data is rich in: text (TAB, LF, CR and
// 0x20–0x7E), the zero byte (binary headers, tables, padding) and 0xFF (fill in Office's
// older binary formats and in images).
var byteClasses = [...][]byte{printable(), {0x00}, {0xff}}

func printable() []byte {
	b := []byte{'\t', '\n', '\r'}
	for c := byte(0x20); c < 0x7f; c++ {
		b = append(b, c)
	}
	return b
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// lgammaTable[k][c] is lnΓ(c + dirichletAlphas[k]) for the counts a ciphertext chunk has
// (about 256 of each byte value), so testing a chunk costs table look-ups, not 768 lgammas.
var (
	lgammaOnce  sync.Once
	lgammaTable [len(dirichletAlphas)][1024]float64
)

func lgammaShifted(k int, c uint32) float64 {
	lgammaOnce.Do(func() {
		for k, a := range dirichletAlphas {
			for c := range lgammaTable[k] {
				lgammaTable[k][c] = lgamma(float64(c) + a)
			}
		}
	})
	if int(c) < len(lgammaTable[k]) {
		return lgammaTable[k][c]
	}
	return lgamma(float64(c) + dirichletAlphas[k])
}
