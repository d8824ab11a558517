package leakscan

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

// TestEncodedFindsEveryEncoding: the secret is found inside a longer text encoded each way,
// whatever stands before it.
func TestEncodedFindsEveryEncoding(t *testing.T) {
	secret := []byte("KAIPING-CANARY-0123456789abcdef")
	needles := Encoded("canary", secret)
	utf16le := func(s []byte) []byte {
		var b []byte
		for _, u := range utf16.Encode([]rune(string(s))) {
			b = append(b, byte(u), byte(u>>8))
		}
		return b
	}
	encodings := map[string]func([]byte) []byte{
		"raw":       func(b []byte) []byte { return b },
		"base64":    func(b []byte) []byte { return []byte(base64.StdEncoding.EncodeToString(b)) },
		"base64url": func(b []byte) []byte { return []byte(base64.URLEncoding.EncodeToString(b)) },
		"hex":       func(b []byte) []byte { return []byte(hex.EncodeToString(b)) },
		"HEX":       func(b []byte) []byte { return []byte(strings.ToUpper(hex.EncodeToString(b))) },
		"utf-16le":  utf16le,
	}
	for name, encode := range encodings {
		for prefix := range 5 {
			doc := append(bytes.Repeat([]byte{'\xfb'}, prefix), secret...)
			doc = append(doc, "\xff tail"...)
			hits := Bytes("doc", encode(doc), needles)
			if len(hits) == 0 {
				t.Errorf("%s with %d bytes before the secret: not found", name, prefix)
			}
			for _, h := range hits {
				if h.Needle.Encoding != name && !(name == "base64url" && h.Needle.Encoding == "base64") {
					t.Errorf("%s with %d bytes before: found as %s", name, prefix, h.Needle.Encoding)
				}
			}
		}
	}
	if hits := Bytes("noise", []byte(strings.Repeat("KAIPING-CANARY-", 10)), needles); len(hits) != 0 {
		t.Errorf("found in a text without the secret: %v", hits)
	}
}

// TestDirFindsAcrossPieces: a needle straddling two pieces of a large file is found once,
// at its offset, and so is one in a small file of a subfolder.
func TestDirFindsAcrossPieces(t *testing.T) {
	dir := t.TempDir()
	needles := Encoded("canary", []byte("KAIPING-CANARY-ffff"))
	big := append(bytes.Repeat([]byte{'.'}, chunk-5), "KAIPING-CANARY-ffff and KAIPING-CANARY-ffff"...)
	if err := os.WriteFile(filepath.Join(dir, "big"), big, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "small"), []byte("x KAIPING-CANARY-ffff"), 0o600); err != nil {
		t.Fatal(err)
	}
	hits, err := Dir(dir, needles)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]int64{
		filepath.Join(dir, "big"):          {chunk - 5, chunk - 5 + 24},
		filepath.Join(dir, "sub", "small"): {2},
	}
	got := map[string][]int64{}
	for _, h := range hits {
		got[h.Place] = append(got[h.Place], h.Offset)
	}
	for place, offsets := range want {
		if len(got[place]) != len(offsets) || got[place][0] != offsets[0] || got[place][len(offsets)-1] != offsets[len(offsets)-1] {
			t.Errorf("%s: hits at %v, want %v", place, got[place], offsets)
		}
	}
	if len(got) != len(want) {
		t.Errorf("hits %v", hits)
	}
}
