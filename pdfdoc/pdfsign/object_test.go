package pdfsign

import (
	"bytes"
	"strings"
	"testing"
)

// TestValue: the object syntax a signature reads (names, numbers kept as written,
// references, literal strings with their escapes, hex strings with their span, nested
// dictionaries and arrays) reads back and writes out again; malformed input is an error,
// and nesting is bounded.
func TestValue(t *testing.T) {
	src := `<< /Type /Page /MediaBox [0 0 841.89 595.28] /Parent 2 0 R /N -3 /Ok true /No null
	% a comment
	/S (a\(b\)c\n\101\\ (nested)) /H <FEFF 8BC4> /Odd <F> /D << /K [1 0 R 2] >> >>`
	l := &lexer{b: []byte(src)}
	v, err := l.value(0)
	if err != nil {
		t.Fatal(err)
	}
	d := v.(*dict)
	if d.get("Type") != name("Page") || d.get("Parent") != (ref{2, 0}) || d.get("N") != number("-3") || d.get("Ok") != keyword("true") ||
		d.get("No") != keyword("null") {
		t.Errorf("dict %v", d.m)
	}
	if mb := d.get("MediaBox").(array); len(mb) != 4 || mb[2] != number("841.89") {
		t.Errorf("MediaBox %v", mb)
	}
	if s := d.get("S").(str); string(s.b) != "a(b)c\nA\\ (nested)" {
		t.Errorf("literal %q", s.b)
	}
	h := d.get("H").(str)
	if !bytes.Equal(h.b, []byte{0xFE, 0xFF, 0x8B, 0xC4}) || decodeText(h.b) != "评" || src[h.start:h.end] != "<FEFF 8BC4>" {
		t.Errorf("hex %x at %d..%d", h.b, h.start, h.end)
	}
	if o := d.get("Odd").(str); !bytes.Equal(o.b, []byte{0xF0}) {
		t.Errorf("odd hex %x", o.b)
	}
	if k := d.get("D").(*dict).get("K").(array); len(k) != 2 || k[0] != (ref{1, 0}) || k[1] != number("2") {
		t.Errorf("nested %v", k)
	}
	var buf bytes.Buffer
	write(&buf, d)
	again, err := (&lexer{b: buf.Bytes()}).value(0)
	if err != nil {
		t.Fatalf("written %q: %v", buf.String(), err)
	}
	var buf2 bytes.Buffer
	write(&buf2, again)
	if buf.String() != buf2.String() || !strings.HasPrefix(buf.String(), "<< /Type /Page /MediaBox [0 0 841.89 595.28] /Parent 2 0 R") {
		t.Errorf("written %q, again %q", buf.String(), buf2.String())
	}

	for _, bad := range []string{"", "<< /A", "(open", "<0G>", "<abc", "<< 1 2 >>", "[1 2", "@", "<< /A ) >>",
		strings.Repeat("[", maxDepth+2)} {
		if _, err := (&lexer{b: []byte(bad)}).value(0); err == nil {
			t.Errorf("%q read without error", bad)
		}
	}
	if v, err := (&lexer{b: []byte(strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth))}).value(0); err != nil || v == nil {
		t.Errorf("nesting at the limit: %v", err)
	}
}

// TestParseFileRefusals: what parseFile refuses, each with its reason.
func TestParseFileRefusals(t *testing.T) {
	good := report(t)
	cut := func(b []byte, old, new string) []byte {
		return bytes.Replace(bytes.Clone(b), []byte(old), []byte(new), 1)
	}
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"no header", good[1:], "no %PDF- header"},
		{"no startxref", cut(good, "startxref", "startxxef"), "no startxref"},
		{"startxref not a number", cut(good, "startxref\n", "startxref\nx"), "not a number"},
		{"xref offset beyond the file", append(bytes.Clone(good), "\nstartxref\n99999999\n%%EOF\n"...), "outside the file"},
		{"no Root", cut(good, "/Root", "/Roof"), "no /Root"},
		{"no Size", cut(good, "/Size", "/Sise"), "no /Size"},
		{"a loop in /Prev", append(bytes.Clone(good), []byte("\nxref\n0 0\ntrailer\n<< /Size 3 /Root 1 0 R /Prev "+itoa(int64(len(good)+1))+" >>\nstartxref\n"+itoa(int64(len(good)+1))+"\n%%EOF\n")...), "loops"},
	}
	for _, tt := range tests {
		_, err := parseFile(tt.b)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}
