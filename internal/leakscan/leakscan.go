// Package leakscan looks for secrets where they must not be: the canary suite plants a random
// string in a bid and searches every byte the platform keeps (log lines, temporary files, a
// database's files and rows, objects) for it, in the clear and in the encodings a careless
// writer would use. Later suites (key wrapping, rescue shares) search for their own secrets
// with it.
package leakscan

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf16"
)

// Needle is one byte string to look for: a secret in one encoding.
type Needle struct {
	Secret   string // which secret, as the test names it ("technical canary")
	Encoding string // "raw", "base64", "base64url", "hex", "HEX", "utf-16le", "utf-16be"
	Bytes    []byte
}

// Encoded returns the needles of secret: itself, and its base64 (standard and URL alphabets,
// at each of the three alignments it can have inside a longer encoded text), lower- and
// upper-case hex (PostgreSQL prints bytea as lower-case hex) and UTF-16 in both byte orders.
func Encoded(name string, secret []byte) []Needle {
	ns := []Needle{
		{name, "raw", secret},
		{name, "hex", []byte(hex.EncodeToString(secret))},
		{name, "HEX", []byte(strings.ToUpper(hex.EncodeToString(secret)))},
	}
	for _, enc := range []struct {
		name string
		enc  *base64.Encoding
	}{{"base64", base64.RawStdEncoding}, {"base64url", base64.RawURLEncoding}} {
		for _, b := range base64Aligned(enc.enc, secret) {
			ns = append(ns, Needle{name, enc.name, b})
		}
	}
	units := utf16.Encode([]rune(string(secret)))
	le, be := make([]byte, 0, 2*len(units)), make([]byte, 0, 2*len(units))
	for _, u := range units {
		le = append(le, byte(u), byte(u>>8))
		be = append(be, byte(u>>8), byte(u))
	}
	ns = append(ns, Needle{name, "utf-16le", le}, Needle{name, "utf-16be", be})
	// The two base64 alphabets differ only in two characters, and hex has no case without
	// letters: each string is looked for once, under its first name.
	seen := map[string]bool{}
	out := ns[:0]
	for _, n := range ns {
		if !seen[string(n.Bytes)] {
			seen[string(n.Bytes)] = true
			out = append(out, n)
		}
	}
	return out
}

// base64Aligned returns the characters of secret's base64 that do not depend on the bytes
// around it, for each offset modulo 3 it may sit at in the encoded text: a secret in the
// middle of an encoded document is found whatever precedes it.
func base64Aligned(enc *base64.Encoding, secret []byte) [][]byte {
	var out [][]byte
	for k := range 3 {
		buf := append(make([]byte, k), secret...)
		e := enc.EncodeToString(buf)
		skip := (8*k + 5) / 6    // characters holding bits of the k bytes before the secret
		keep := 8 * len(buf) / 6 // characters made only of known bits
		if keep > skip {
			out = append(out, []byte(e[skip:keep]))
		}
	}
	return out
}

// Hit is a needle found: where (a file, "log", a table and row, an object), at which byte.
type Hit struct {
	Place  string
	Offset int64
	Needle Needle
}

func (h Hit) String() string {
	return fmt.Sprintf("%s in %s at byte %d (%s)", h.Needle.Secret, h.Place, h.Offset, h.Needle.Encoding)
}

// Bytes returns every occurrence of every needle in b, found at place.
func Bytes(place string, b []byte, needles []Needle) []Hit {
	var hits []Hit
	for _, n := range needles {
		if len(n.Bytes) == 0 {
			continue
		}
		// bytes.Index is fast for a short string whose first byte is rare; a long one, or
		// one starting with a zero byte (UTF-16BE of ASCII) in files mostly of zeros, falls
		// back to a slow search. So look for a short anchor inside the needle and compare
		// the whole needle where it is found.
		off, anchor := anchorOf(n.Bytes)
		for from := 0; ; {
			i := bytes.Index(b[from:], anchor)
			if i < 0 {
				break
			}
			if start := from + i - off; start >= 0 && start+len(n.Bytes) <= len(b) && bytes.Equal(b[start:start+len(n.Bytes)], n.Bytes) {
				hits = append(hits, Hit{Place: place, Offset: int64(start), Needle: n})
			}
			from += i + 1
		}
	}
	return hits
}

// anchorOf is the part of needle searched for first: at most 32 bytes, from its first byte
// that is not zero.
func anchorOf(needle []byte) (int, []byte) {
	off := 0
	for off < len(needle)-1 && needle[off] == 0 {
		off++
	}
	return off, needle[off:min(len(needle), off+32)]
}

// chunk is how much of a file Reader holds at a time.
const chunk = 4 << 20

// Reader scans r in pieces that overlap by the longest needle, so a needle across two pieces
// is found once, and a file larger than memory can be scanned.
func Reader(place string, r io.Reader, needles []Needle) ([]Hit, error) {
	longest := 0
	for _, n := range needles {
		longest = max(longest, len(n.Bytes))
	}
	if longest == 0 {
		return nil, nil
	}
	var hits []Hit
	buf := make([]byte, 0, chunk+longest)
	var base int64 // file offset of buf[0]
	for {
		n, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		end := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !end {
			return hits, fmt.Errorf("leakscan: %s: %w", place, err)
		}
		// A match starting in the last longest-1 bytes may not be whole yet: it is looked for
		// again with the next piece, unless this is the last.
		keep := 0
		if !end {
			keep = min(len(buf), longest-1)
		}
		for _, h := range Bytes(place, buf, needles) {
			if h.Offset < int64(len(buf)-keep) {
				h.Offset += base
				hits = append(hits, h)
			}
		}
		if end {
			return hits, nil
		}
		base += int64(len(buf) - keep)
		buf = buf[:copy(buf, buf[len(buf)-keep:])]
	}
}

// Dir scans every regular file under root (sockets, pipes and symbolic links are not
// followed). Files that vanish during the walk are skipped: root may belong to a running
// server, which removes its temporary files at any moment.
func Dir(root string, needles []Needle) ([]Hit, error) {
	var hits []Hit
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		// Most files (a database's relations, MinIO's metadata) are small: read at once
		// instead of through Reader's piece buffer, which costs more than the search.
		if info.Size() <= chunk {
			b, err := os.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			hits = append(hits, Bytes(path, b, needles)...)
			return err
		}
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		defer f.Close()
		h, err := Reader(path, f, needles)
		hits = append(hits, h...)
		return err
	})
	if err != nil {
		return hits, fmt.Errorf("leakscan: walk %s: %w", root, err)
	}
	return hits, nil
}
