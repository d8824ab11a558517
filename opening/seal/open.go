package seal

import (
	"bufio"
	"crypto/cipher"
	"fmt"
	"io"

	"github.com/kaiping/kaiping"
)

// Reader decrypts an envelope's payload. Read decrypts one chunk at a time in the caller's
// goroutine; WriteTo (and so io.Copy) decrypts the rest on every core. Either way a chunk's
// plaintext is released only once that chunk has been authenticated, but the envelope as
// a whole is valid only when the Reader reaches io.EOF: an error may still come at the
// last chunk (truncation), after earlier plaintext has been handed out.
type Reader struct {
	hdr     *Header
	src     *bufio.Reader
	aeads   []cipher.AEAD // aeads[0] serves Read; all serve WriteTo
	base    int64         // envelope offset of chunk 0, for error messages
	next    uint64        // index of the next chunk to read
	in, out []byte        // Read's buffers
	plain   []byte        // decrypted and not yet returned
	done    bool          // the final chunk has been decrypted
	err     error         // sticky
}

// Open reads an envelope's header from r, checks fileKey against it (seal.wrong_key,
// seal.header_mac) and returns a Reader for the payload that follows.
func Open(r io.Reader, fileKey []byte, opts ...Option) (*Reader, error) {
	br := bufio.NewReaderSize(r, readBufferSize)
	h, err := parseHeader(br)
	if err != nil {
		return nil, err
	}
	return OpenPayload(h, br, fileKey, opts...)
}

// OpenPayload is Open for a header already parsed (by ParseHeader, or returned by Seal):
// payload must start at the payload offset (the byte after the header), for instance a
// ranged read of the stored object.
func OpenPayload(h *Header, payload io.Reader, fileKey []byte, opts ...Option) (*Reader, error) {
	if err := h.VerifyFileKey(fileKey); err != nil {
		return nil, err
	}
	keys, err := deriveKeys(h.Suite, fileKey, h.Nonce)
	if err != nil {
		return nil, kaiping.Internal("seal.Open", err)
	}
	o := newOptions(opts)
	aeads, err := newAEADs(h.Suite, keys.payload, o.workers)
	if err != nil {
		return nil, kaiping.Internal("seal.Open", err)
	}
	return &Reader{hdr: h, src: bufio.NewReaderSize(payload, readBufferSize), aeads: aeads, base: h.Size()}, nil
}

// Header is the envelope's header.
func (r *Reader) Header() *Header { return r.hdr }

// Read reads decrypted plaintext.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.plain) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.done {
			return 0, io.EOF
		}
		r.fill()
	}
	n := copy(p, r.plain)
	r.plain = r.plain[n:]
	return n, nil
}

// fill decrypts the next chunk into r.plain, or sets r.err.
func (r *Reader) fill() {
	if r.in == nil {
		r.in = make([]byte, encChunkSize)
		r.out = make([]byte, encChunkSize)
	}
	n, final, err := readPiece(r.src, r.in)
	if err != nil {
		r.err = readErr("seal.Open", err)
		return
	}
	pt, err := openChunk(r.aeads[0], r.next, final, r.in[:n], r.out, r.chunkOffset(r.next))
	if err != nil {
		r.err = err
		return
	}
	r.plain = pt
	r.next++
	r.done = final
}

func (r *Reader) chunkOffset(index uint64) int64 {
	return r.base + int64(index)*encChunkSize
}

// WriteTo writes the rest of the plaintext to w, decrypting chunks on every core (or as
// many as WithConcurrency allows) and writing them in order. It returns nil only if the
// whole payload was authentic and complete.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	if len(r.plain) > 0 {
		n, err := w.Write(r.plain)
		total += int64(n)
		r.plain = r.plain[n:]
		if err != nil {
			return total, err
		}
	}
	if r.err != nil {
		return total, r.err
	}
	if r.done {
		return total, nil
	}
	p := &pipeline{aeads: r.aeads, inSize: encChunkSize,
		process: func(aead cipher.AEAD, j *job) {
			j.out, j.err = openChunk(aead, j.index, j.final, j.in, j.slot.out, r.chunkOffset(j.index))
		}}
	st, err := p.run(r.src, w, r.next)
	total += st.out
	r.next = st.next
	if err != nil {
		r.err = err
		return total, err
	}
	r.done = st.finished
	return total, nil
}

// Result describes an envelope opened in full.
type Result struct {
	Header        *Header
	PlaintextSize int64
	// Chunks is how many payload chunks were authenticated.
	Chunks uint64
	// Digest is the plaintext's hash under the suite's hash: SHA-256 for aes256gcm, SM3 for
	// sm4gcm (国密 mode keeps to national algorithms). The bidder can compare it with the
	// digest of the file they sealed.
	Digest []byte
}

// Decrypt opens the envelope read from r with fileKey and writes the plaintext to w, on
// every core. Each chunk is written only after it is authenticated, but the plaintext is
// valid only if Decrypt returns nil: discard what was written otherwise.
func Decrypt(w io.Writer, r io.Reader, fileKey []byte, opts ...Option) (*Result, error) {
	rd, err := Open(r, fileKey, opts...)
	if err != nil {
		return nil, err
	}
	digest := rd.hdr.Suite.Hash()()
	n, err := rd.WriteTo(io.MultiWriter(w, digest))
	if err != nil {
		if kaiping.CodeOf(err) == "internal" {
			err = fmt.Errorf("seal.Decrypt: %w", err)
		}
		return nil, err
	}
	return &Result{Header: rd.hdr, PlaintextSize: n, Chunks: rd.next, Digest: digest.Sum(nil)}, nil
}

// Verify checks every chunk of the envelope read from r with fileKey without writing the
// plaintext anywhere, and returns its size and digest: what the server does when a bidder
// hands over the file key at the opening, before it marks the bid decrypted.
func Verify(r io.Reader, fileKey []byte, opts ...Option) (*Result, error) {
	return Decrypt(io.Discard, r, fileKey, opts...)
}
