package pdfdoc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
)

func mustFonts(tb testing.TB) *Fonts {
	tb.Helper()
	fs, err := LoadFonts(DefaultCJKFont, DefaultLatinFont)
	if err != nil {
		tb.Fatalf("the PDF fonts (deploy/dev/install-deps.sh installs them): %v", err)
	}
	return fs
}

func codeOf(err error) string {
	var e *kaiping.Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err != nil {
		return "not a kaiping.Error: " + err.Error()
	}
	return ""
}

// TestLoadFonts: Debian's two fonts load; a missing file, CFF outlines, a collection and a
// file that is no font are refused with their codes, and a missing font names its package.
func TestLoadFonts(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	otf := write("cff.otf", append([]byte("OTTO"), make([]byte, 64)...))
	ttc := write("cjk.ttc", append([]byte("ttcf"), make([]byte, 64)...))
	junk := write("junk.ttf", []byte("not a font at all"))
	unreadable := filepath.Join(dir, "a-directory.ttf")
	if err := os.Mkdir(unreadable, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		cjk, latin string
		code       string
	}{
		{"Debian's fonts", DefaultCJKFont, DefaultLatinFont, ""},
		{"CJK font missing", filepath.Join(dir, "none.ttf"), DefaultLatinFont, "pdf.font_missing"},
		{"Latin font missing", DefaultCJKFont, filepath.Join(dir, "none.ttf"), "pdf.font_missing"},
		{"CFF outlines", otf, DefaultLatinFont, "pdf.font_outlines"},
		{"a font collection", ttc, DefaultLatinFont, "pdf.font_outlines"},
		{"not a font", DefaultCJKFont, junk, "pdf.font_invalid"},
		{"unreadable", unreadable, DefaultLatinFont, "pdf.font_invalid"},
	}
	for _, tt := range tests {
		_, err := LoadFonts(tt.cjk, tt.latin)
		if codeOf(err) != tt.code {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.code)
		}
	}
	_, err := LoadFonts(filepath.Join(dir, "none.ttf"), DefaultLatinFont)
	if err == nil || !strings.Contains(err.Error(), "fonts-droid-fallback") {
		t.Errorf("a missing CJK font does not name its Debian package: %v", err)
	}
	_, err = LoadFonts(DefaultCJKFont, filepath.Join(dir, "none.ttf"))
	if err == nil || !strings.Contains(err.Error(), "fonts-dejavu-core") {
		t.Errorf("a missing Latin font does not name its Debian package: %v", err)
	}
}

// TestShown: Chinese from the CJK font, Latin and digits from the Latin font, a character
// in neither shown as '?'.
func TestShown(t *testing.T) {
	fs := mustFonts(t)
	for _, r := range "评标报告ABCxyz0189（），。：；—%" {
		if got := fs.Shown(r); got != r {
			t.Errorf("%q shown as %q", r, got)
		}
	}
	if r := fs.Shown('\U0002A6A5'); r != '?' {
		t.Errorf("a character in neither font is shown as %q, want ?", r)
	}
	if f, _ := fs.fontFor('A'); f != fs.latin {
		t.Errorf("A set in %s, want latin", f.family)
	}
	if f, _ := fs.fontFor('评'); f != fs.cjk {
		t.Errorf("评 set in %s, want cjk", f.family)
	}
	// Full-width punctuation is above U+2E80: the CJK font's, even if DejaVu had it.
	if f, _ := fs.fontFor('，'); f != fs.cjk {
		t.Errorf("， set in %s, want cjk", f.family)
	}
}

// TestWrap: no text lost, no line wider than asked (but for a single character), a newline
// always breaks, a Latin word is not cut when a space allows.
func TestWrap(t *testing.T) {
	fs := mustFonts(t)
	s := "投标人按时提交了正确的密钥，但平台解密队列繁忙未能受理 hall.busy abcdefghijklmnopqrstuvwxyz0123456789"
	for _, width := range []float64{40, 90, 200} {
		lines := fs.Wrap(s, width, 9)
		if strings.ReplaceAll(strings.Join(lines, ""), " ", "") != strings.ReplaceAll(s, " ", "") {
			t.Errorf("width %v: wrapping lost text: %q", width, lines)
		}
		for _, l := range lines {
			if w := fs.Width(l, 9); w > width && len([]rune(l)) > 1 {
				t.Errorf("width %v: line %q is %.1f wide", width, l, w)
			}
		}
	}
	if lines := fs.Wrap("一\n二", 500, 9); len(lines) != 2 {
		t.Errorf("a newline: %q", lines)
	}
	if lines := fs.Wrap("alpha beta gamma", fs.Width("alpha beta", 9)+1, 9); len(lines) != 2 || lines[0] != "alpha beta" || lines[1] != "gamma" {
		t.Errorf("words: %q", lines)
	}
}
