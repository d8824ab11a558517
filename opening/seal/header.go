package seal

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kaiping/kaiping"
)

// Sizes and limits of format version 1 (FORMAT.md, "Limits").
const (
	// FileKeySize is the length of the random per-envelope file key.
	FileKeySize = 32
	// NonceSize is the length of the random per-envelope payload nonce (the HKDF salt of
	// the payload key).
	NonceSize = 16
	// KeyCheckSize is the length of the key check value in the header.
	KeyCheckSize = 16
	// MACSize is the length of the header MAC (HMAC-SHA256 and HMAC-SM3 alike).
	MACSize = 32
	// MaxHeaderSize bounds the header, so a server can read and check it in bounded memory
	// before it has any key.
	MaxHeaderSize = 64 << 10
	// MaxStanzas bounds the recipient stanzas in one header.
	MaxStanzas = 16
	// maxLineLen bounds one header line, LF included.
	maxLineLen = 1024
)

// magic is the first line of every envelope: the format and its version.
const (
	magicPrefix = "kaiping.org/seal/"
	magic       = magicPrefix + "v1"
	macPrefix   = "---"
)

// Header is an envelope's header: suite, binding, payload nonce, key check, recipient
// stanzas and MAC. ParseHeader reads one; Seal writes one.
//
// The fields are what the header says. The MAC covers the exact bytes that were parsed (or
// written), and the format has one encoding for every header, so changing a field here
// changes nothing the MAC checks.
type Header struct {
	Suite    Suite
	Binding  Binding
	Nonce    [NonceSize]byte    // payload nonce: the HKDF salt of the payload key
	KeyCheck [KeyCheckSize]byte // HKDF(file key, "keycheck"): tells a wrong key from an altered header
	Stanzas  []Stanza
	MAC      []byte

	covered []byte // the header bytes from the first through "---", which the MAC covers
}

// Size is the encoded length of the header: the offset of the payload in the envelope.
func (h *Header) Size() int64 {
	return int64(len(h.covered)) + int64(1+b64.EncodedLen(MACSize)+1)
}

// Bytes returns the header exactly as it appears at the start of the envelope.
func (h *Header) Bytes() []byte {
	b := make([]byte, 0, h.Size())
	b = append(b, h.covered...)
	b = append(b, ' ')
	b = b64.AppendEncode(b, h.MAC)
	return append(b, '\n')
}

// Stanza returns the stanza for a recipient identifier: a certificate fingerprint (as
// identity.Fingerprint computes it) or a rescue key ID (RescueKeyID). The server uses it to
// check, from the header alone, that the bidder's registered certificate and the tender's
// rescue key can open the envelope.
func (h *Header) Stanza(recipientID string) (Stanza, bool) {
	for _, s := range h.Stanzas {
		if s.RecipientID() == recipientID && recipientID != "" {
			return s, true
		}
	}
	return Stanza{}, false
}

// VerifyFileKey checks that fileKey opens this header: the key check first (a mismatch is
// seal.wrong_key: the key is not this envelope's), then the MAC (a mismatch with the right
// key is seal.header_mac: the header was altered after sealing). The server calls it when a
// bidder hands over the file key at the opening.
func (h *Header) VerifyFileKey(fileKey []byte) error {
	if len(fileKey) != FileKeySize {
		return errWrongKey(fmt.Sprintf("文件密钥应为 %d 字节，收到 %d 字节", FileKeySize, len(fileKey)))
	}
	keys, err := deriveKeys(h.Suite, fileKey, h.Nonce)
	if err != nil {
		return kaiping.Internal("seal.VerifyFileKey", err)
	}
	if subtle.ConstantTimeCompare(keys.keyCheck[:], h.KeyCheck[:]) != 1 {
		return errWrongKey("文件密钥与此密封文件不符")
	}
	if !hmac.Equal(headerMAC(h.Suite, keys.macKey, h.covered), h.MAC) {
		return errHeaderMAC()
	}
	return nil
}

// UnwrapFileKey finds the stanza of the first identity that has one, unwraps the file key
// and verifies it against the header (VerifyFileKey). With no stanza for any of the
// identities it returns seal.no_stanza.
func (h *Header) UnwrapFileKey(ids ...Identity) ([]byte, error) {
	var tried []string
	for _, id := range ids {
		s, ok := h.Stanza(id.RecipientID())
		if !ok {
			tried = append(tried, id.RecipientID())
			continue
		}
		key, err := id.Unwrap(s)
		if err != nil {
			return nil, err
		}
		if len(key) != FileKeySize {
			return nil, errWrongKey("解出的文件密钥长度不对")
		}
		if err := h.VerifyFileKey(key); err != nil {
			return nil, err
		}
		return key, nil
	}
	return nil, errNoStanza(tried)
}

// encodeCovered returns the header bytes the MAC covers: everything up to and including
// "---". Parsing is strict, so for a parsed header this equals what was read.
func (h *Header) encodeCovered() []byte {
	var b bytes.Buffer
	b.WriteString(magic + "\n")
	fmt.Fprintf(&b, "suite %s\n", h.Suite)
	fmt.Fprintf(&b, "tender %s\n", h.Binding.Tender)
	fmt.Fprintf(&b, "section %s\n", h.Binding.Section)
	fmt.Fprintf(&b, "bidder %s\n", h.Binding.Bidder)
	fmt.Fprintf(&b, "kind %s\n", h.Binding.Kind)
	fmt.Fprintf(&b, "nonce %s\n", b64.EncodeToString(h.Nonce[:]))
	fmt.Fprintf(&b, "keycheck %s\n", b64.EncodeToString(h.KeyCheck[:]))
	for _, s := range h.Stanzas {
		s.encode(&b)
	}
	b.WriteString(macPrefix)
	return b.Bytes()
}

// ParseHeader reads and checks an envelope header without any key: grammar, limits, suite,
// binding syntax and the stanzas of known types. It returns the header and the payload
// offset (the header's length).
//
// ParseHeader reads through a buffer and may consume bytes past the header. To go on
// reading the payload from the same stream, pass a *bufio.Reader (of at least 4 KiB): it
// is used as is, and holds the unread payload bytes afterwards. Otherwise read the payload
// again from the offset, or use Open, which does both in one pass.
func ParseHeader(r io.Reader) (*Header, int64, error) {
	br := bufio.NewReaderSize(r, readBufferSize)
	h, err := parseHeader(br)
	if err != nil {
		return nil, 0, err
	}
	return h, h.Size(), nil
}

func parseHeader(br *bufio.Reader) (*Header, error) {
	// Tell "not an envelope at all" (a PDF, a zip) from a damaged one by the magic prefix,
	// without reading a long first line.
	if p, err := br.Peek(len(magicPrefix)); err != nil || string(p) != magicPrefix {
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("seal.ParseHeader: %w", err)
		}
		return nil, errNotEnvelope()
	}
	lr := newLineReader(br, MaxHeaderSize)
	first, err := lr.line()
	if err != nil {
		return nil, err
	}
	if first != magic {
		return nil, errUnsupportedVersion(first)
	}
	h := &Header{}
	field := func(name string) (string, error) {
		line, err := lr.line()
		if err != nil {
			return "", err
		}
		v, ok := strings.CutPrefix(line, name+" ")
		if !ok {
			return "", errMalformed(fmt.Sprintf("此处应为 %q 行", name))
		}
		return v, nil
	}
	suite, err := field("suite")
	if err != nil {
		return nil, err
	}
	if h.Suite = Suite(suite); !h.Suite.Valid() {
		return nil, errUnsupportedSuite(suite)
	}
	for _, f := range []struct {
		name string
		dst  *kaiping.ID
	}{{"tender", &h.Binding.Tender}, {"section", &h.Binding.Section}, {"bidder", &h.Binding.Bidder}} {
		v, err := field(f.name)
		if err != nil {
			return nil, err
		}
		if !validID(v) {
			return nil, errMalformed(fmt.Sprintf("%s 编号为空、过长或含非法字符", f.name))
		}
		*f.dst = kaiping.ID(v)
	}
	kind, err := field("kind")
	if err != nil {
		return nil, err
	}
	if h.Binding.Kind = EnvelopeKind(kind); !h.Binding.Kind.Valid() {
		return nil, errMalformed("信封类型应为 summary、technical 或 commercial")
	}
	for _, f := range []struct {
		name string
		dst  []byte
	}{{"nonce", h.Nonce[:]}, {"keycheck", h.KeyCheck[:]}} {
		v, err := field(f.name)
		if err != nil {
			return nil, err
		}
		raw, ok := decodeB64(v)
		if !ok || len(raw) != len(f.dst) {
			return nil, errMalformed(fmt.Sprintf("%s 应为 %d 字节的 base64", f.name, len(f.dst)))
		}
		copy(f.dst, raw)
	}
	seen := map[string]bool{}
	for {
		line, err := lr.line()
		if err != nil {
			return nil, err
		}
		if mac, ok := strings.CutPrefix(line, macPrefix+" "); ok {
			if len(h.Stanzas) == 0 {
				return nil, errMalformed("没有任何接收方段落")
			}
			raw, ok := decodeB64(mac)
			if !ok || len(raw) != MACSize {
				return nil, errMalformed("文件头校验码应为 32 字节的 base64")
			}
			h.MAC = raw
			// The MAC covers the header up to and including "---", not the space after it.
			covered := lr.raw[:len(lr.raw)-(len(line)+1)+len(macPrefix)]
			// Parsing is meant to be as strict as encoding, so that every header has one
			// encoding; this guards that the MAC is checked over exactly the bytes read.
			if !bytes.Equal(covered, h.encodeCovered()) {
				return nil, errMalformed("文件头编码不规范")
			}
			h.covered = covered
			return h, nil
		}
		if !strings.HasPrefix(line, stanzaPrefix) {
			return nil, errMalformed("此处应为接收方段落（\"-> \"）或文件头结束行（\"--- \"）")
		}
		if len(h.Stanzas) == MaxStanzas {
			return nil, errMalformed(fmt.Sprintf("接收方段落超过 %d 个", MaxStanzas))
		}
		s, err := parseStanza(lr, line)
		if err != nil {
			return nil, err
		}
		if err := s.validate(FileKeySize); err != nil {
			return nil, err
		}
		if id := s.RecipientID(); id != "" {
			if seen[id] {
				return nil, errMalformed("同一接收方出现了两个段落")
			}
			seen[id] = true
		}
		h.Stanzas = append(h.Stanzas, s)
	}
}

// lineReader reads LF-terminated header lines within a byte budget.
type lineReader struct {
	br  *bufio.Reader
	n   int    // bytes consumed so far
	raw []byte // the bytes consumed, for the MAC
	max int
}

func newLineReader(br *bufio.Reader, max int) *lineReader {
	return &lineReader{br: br, max: max}
}

// line returns the next line without its LF. A line must be at most maxLineLen bytes with
// its LF, contain no CR, and end within the budget.
func (l *lineReader) line() (string, error) {
	var buf []byte
	for {
		frag, err := l.br.ReadSlice('\n')
		l.n += len(frag)
		if l.n > l.max {
			return "", errMalformed(fmt.Sprintf("文件头超过 %d 字节", l.max))
		}
		buf = append(buf, frag...)
		l.raw = append(l.raw, frag...)
		if len(buf) > maxLineLen {
			return "", errMalformed(fmt.Sprintf("文件头的一行超过 %d 字节", maxLineLen))
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			return "", errMalformed("文件头不完整")
		}
		return "", fmt.Errorf("seal.ParseHeader: %w", err)
	}
	line := buf[:len(buf)-1]
	if bytes.IndexByte(line, '\r') >= 0 {
		return "", errMalformed("文件头含回车符（应只用 LF 换行）")
	}
	return string(line), nil
}
