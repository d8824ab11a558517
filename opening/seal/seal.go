// Package seal is the sealed-bid envelope format (密封投标文件) of Kaiping: how a bidder's
// tool encrypts one part of a bid (the summary, technical or commercial envelope) on the
// bidder's own machine, and how the server checks and, at the opening, decrypts it.
//
// The format is specified in FORMAT.md, next to this file; age (C2SP age-encryption.org/v1)
// is its model. In short: a fresh random file key per envelope; a text header naming the
// suite and the tender, section, bidder and kind the envelope is sealed for, and wrapping
// the file key to each recipient (the bidder's certificate: P-256, RSA or SM2; the tender's
// rescue key); a header MAC keyed from the file key; then the payload, a STREAM of 64 KiB
// AES-256-GCM or SM4-GCM chunks under a key derived from the file key and a per-envelope
// nonce.
//
// Before the deadline nobody can decrypt an envelope: the server holds only the header and
// ciphertext, and can check from the header alone (ParseHeader, Header.Check,
// Header.Stanza) that it is sealed for this tender, bidder and kind, to the bidder's
// registered certificate and the tender's rescue key. At the opening the bidder's client
// unwraps the file key (Header.UnwrapFileKey) and hands it over; the server checks it
// (Header.VerifyFileKey) and every chunk (Verify, Decrypt, Open).
package seal

import (
	"bufio"
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"runtime"

	"github.com/kaiping/kaiping"
)

// Option tunes Seal, Open, Decrypt and Verify.
type Option func(*options)

type options struct {
	suite   Suite
	rand    io.Reader
	workers int
	digest  bool
}

func newOptions(opts []Option) options {
	o := options{suite: AES256GCM, rand: rand.Reader, workers: runtime.GOMAXPROCS(0)}
	for _, opt := range opts {
		opt(&o)
	}
	if o.workers < 1 {
		o.workers = 1
	}
	return o
}

// WithSuite chooses the payload suite when sealing: AES256GCM (the default) or SM4GCM for
// national-crypto mode (国密). Opening takes the suite from the header and ignores this.
func WithSuite(s Suite) Option { return func(o *options) { o.suite = s } }

// WithRand replaces the source of every random value Seal draws (file key, payload nonce,
// ephemeral keys, OAEP seeds, SM2 nonces), in the order FORMAT.md gives. It exists for the
// test vectors and for tests only: a sealed bid is only as secret as this source, which
// must be crypto/rand (the default) in production.
func WithRand(r io.Reader) Option { return func(o *options) { o.rand = r } }

// WithConcurrency sets how many goroutines encrypt or decrypt chunks; the default is
// GOMAXPROCS, every core.
func WithConcurrency(n int) Option { return func(o *options) { o.workers = n } }

// WithDigest has Seal also compute the SHA-256 of the whole envelope (Sealed.SHA256). It is
// off by default: one SHA-256 stream runs slower than chunk encryption on every core and
// would halve sealing speed, and the bidder's tool hashes the file anyway when it submits it.
func WithDigest() Option { return func(o *options) { o.digest = true } }

// Sealed describes an envelope Seal wrote.
type Sealed struct {
	Header        *Header
	PlaintextSize int64
	// Size is the envelope's length in bytes, header included.
	Size int64
	// SHA256 is the lowercase hex SHA-256 of the whole envelope, what the server records in
	// the receipt; empty unless Seal was given WithDigest.
	SHA256 string
}

// Seal encrypts everything read from r into an envelope written to w, bound to b and
// openable by each of to (at most MaxStanzas, with distinct recipient identifiers). Memory
// stays flat whatever the size of r, and chunks are encrypted on every core.
//
// A failed Seal may have written part of an envelope to w; discard it.
func Seal(w io.Writer, r io.Reader, b Binding, to []Recipient, opts ...Option) (*Sealed, error) {
	o := newOptions(opts)
	h, keys, err := newHeader(o, b, to)
	if err != nil {
		return nil, err
	}
	aeads, err := newAEADs(h.Suite, keys.payload, o.workers)
	if err != nil {
		return nil, kaiping.Internal("seal.Seal", err)
	}

	dst, sum := w, hash.Hash(nil)
	if o.digest {
		sum = sha256.New()
		dst = io.MultiWriter(w, sum)
	}
	hdr := h.Bytes()
	if _, err := dst.Write(hdr); err != nil {
		return nil, fmt.Errorf("seal.Seal: write: %w", err)
	}
	p := &pipeline{aeads: aeads, inSize: ChunkSize, inPlace: true,
		process: func(aead cipher.AEAD, j *job) {
			j.out = sealChunk(aead, j.index, j.final, j.in)
		}}
	st, err := p.run(bufio.NewReaderSize(r, readBufferSize), dst, 0)
	if err != nil {
		return nil, fmt.Errorf("seal.Seal: %w", err)
	}
	sealed := &Sealed{Header: h, PlaintextSize: st.in, Size: int64(len(hdr)) + st.out}
	if sum != nil {
		sealed.SHA256 = hex.EncodeToString(sum.Sum(nil))
	}
	return sealed, nil
}

// newHeader draws the file key and payload nonce, wraps the file key to every recipient
// and computes the key check and MAC. It returns the header and the keys derived from the
// file key; the file key itself is forgotten.
func newHeader(o options, b Binding, to []Recipient) (*Header, fileKeys, error) {
	var none fileKeys
	if !o.suite.Valid() {
		return nil, none, errUnsupportedSuite(string(o.suite))
	}
	if err := b.Validate(); err != nil {
		return nil, none, err
	}
	if len(to) == 0 || len(to) > MaxStanzas {
		return nil, none, kaiping.Errorf(kaiping.KindInvalid, CodeNoRecipients,
			"密封文件需要 1 至 %d 个接收方，收到 %d 个", MaxStanzas, len(to))
	}
	h := &Header{Suite: o.suite, Binding: b}
	fileKey := make([]byte, FileKeySize)
	if _, err := io.ReadFull(o.rand, fileKey); err != nil {
		return nil, none, kaiping.Internal("seal.Seal", fmt.Errorf("random file key: %w", err))
	}
	if _, err := io.ReadFull(o.rand, h.Nonce[:]); err != nil {
		return nil, none, kaiping.Internal("seal.Seal", fmt.Errorf("random nonce: %w", err))
	}
	seen := map[string]bool{}
	for _, r := range to {
		if seen[r.RecipientID()] {
			return nil, none, kaiping.Errorf(kaiping.KindInvalid, CodeRecipientDuplicate,
				"同一接收方（%s）出现了两次", r.RecipientID())
		}
		seen[r.RecipientID()] = true
		s, err := r.Wrap(o.rand, fileKey)
		if err != nil {
			return nil, none, err
		}
		if err := s.validate(FileKeySize); err != nil {
			return nil, none, kaiping.Internal("seal.Seal", fmt.Errorf("recipient %T made a bad stanza: %w", r, err))
		}
		h.Stanzas = append(h.Stanzas, s)
	}
	keys, err := deriveKeys(h.Suite, fileKey, h.Nonce)
	clear(fileKey)
	if err != nil {
		return nil, none, kaiping.Internal("seal.Seal", err)
	}
	h.KeyCheck = keys.keyCheck
	h.covered = h.encodeCovered()
	h.MAC = headerMAC(h.Suite, keys.macKey, h.covered)
	// Read the header back with the parser: Seal never writes what ParseHeader would
	// refuse (too large, a line too long, a stanza from a Recipient outside this package
	// breaking the grammar).
	if _, err := parseHeader(bufio.NewReader(bytes.NewReader(h.Bytes()))); err != nil {
		return nil, none, err
	}
	return h, keys, nil
}

// newAEADs returns one payload AEAD per worker.
func newAEADs(s Suite, key []byte, n int) ([]cipher.AEAD, error) {
	aeads := make([]cipher.AEAD, n)
	for i := range aeads {
		a, err := s.newAEAD(key)
		if err != nil {
			return nil, err
		}
		aeads[i] = a
	}
	return aeads, nil
}
