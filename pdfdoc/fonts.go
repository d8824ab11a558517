// Package pdfdoc writes the platform's PDF documents (the opening record, the evaluation
// report 评标报告) in Simplified Chinese with gopdf: a CJK and a Latin font chosen per
// character, wrapped paragraphs, tables whose head repeats on every page, and "第 n 页 共 N
// 页" footers. The documents are views of a canonical JSON record, which is what people sign;
// pdfsign adds the PDF signatures a standard reader checks.
package pdfdoc

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/signintech/gopdf/fontmaker/core"

	"github.com/kaiping/kaiping"
)

// The fonts the platform's PDFs are set in. Debian's CJK TrueType font
// (fonts-droid-fallback) has no Latin letters, digits or ASCII punctuation, so those are set
// in DejaVu Sans (fonts-dejavu-core). gopdf embeds only .ttf fonts with TrueType (glyf)
// outlines, not the .ttc collections or CFF .otf fonts most CJK packages ship.
const (
	DefaultCJKFont   = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"
	DefaultLatinFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
)

// Fonts are the two fonts of a document, loaded and checked once and shared by every
// document the process writes (they are only read).
type Fonts struct {
	cjk, latin *font
}

// font is one TrueType font: its bytes for gopdf and its character map and advance widths,
// to choose the font of each character and to measure text for wrapping.
type font struct {
	family     string
	data       []byte
	chars      map[int]uint
	widths     []uint
	unitsPerEm float64
}

// LoadFonts reads and checks the CJK and Latin fonts. A missing file or one gopdf cannot
// embed is KindInvalid, "pdf.font_missing", "pdf.font_outlines" or "pdf.font_invalid",
// naming the file and the Debian package to install: the operator meets it at start-up,
// not when the first document is due.
func LoadFonts(cjkPath, latinPath string) (*Fonts, error) {
	cjk, err := loadFont("cjk", cjkPath, "fonts-droid-fallback")
	if err != nil {
		return nil, err
	}
	latin, err := loadFont("latin", latinPath, "fonts-dejavu-core")
	if err != nil {
		return nil, err
	}
	return &Fonts{cjk: cjk, latin: latin}, nil
}

func loadFont(family, path, pkg string) (*font, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, kaiping.Errorf(kaiping.KindInvalid, "pdf.font_missing",
			"PDF 所需字体 %s 不存在：请安装 Debian 软件包 %s（apt-get install %s）", path, pkg, pkg)
	}
	if err != nil {
		return nil, kaiping.Errorf(kaiping.KindInvalid, "pdf.font_invalid", "无法读取 PDF 字体 %s：%v", path, err)
	}
	if bytes.HasPrefix(data, []byte("OTTO")) || bytes.HasPrefix(data, []byte("ttcf")) {
		return nil, kaiping.Errorf(kaiping.KindInvalid, "pdf.font_outlines",
			"字体 %s 是 CFF 轮廓的 .otf 或 .ttc 字体集，gopdf 只能嵌入 TrueType（glyf）轮廓的 .ttf 字体：请使用软件包 %s 的字体", path, pkg)
	}
	var p core.TTFParser
	if err := p.ParseFontData(data); err != nil {
		return nil, kaiping.Errorf(kaiping.KindInvalid, "pdf.font_invalid", "PDF 字体 %s 无法解析：%v", path, err)
	}
	if _, ok := p.GetTables()["glyf"]; !ok {
		return nil, kaiping.Errorf(kaiping.KindInvalid, "pdf.font_outlines",
			"字体 %s 没有 TrueType（glyf）轮廓，gopdf 无法嵌入：请使用软件包 %s 的字体", path, pkg)
	}
	return &font{family: family, data: data, chars: p.Chars(), widths: p.Widths(), unitsPerEm: float64(p.UnitsPerEm())}, nil
}

func (f *font) has(r rune) bool {
	_, ok := f.chars[int(r)]
	return ok
}

// advance is the width of r at size points.
func (f *font) advance(r rune, size float64) float64 {
	g := f.chars[int(r)]
	if int(g) >= len(f.widths) {
		g = 0
	}
	if len(f.widths) == 0 || f.unitsPerEm == 0 {
		return size / 2
	}
	return float64(f.widths[g]) * size / f.unitsPerEm
}

// fontFor picks the font of a character: Latin text and general punctuation from the Latin
// font, the rest (CJK ideographs, CJK and full-width punctuation) from the CJK font.
func (fs *Fonts) fontFor(r rune) (*font, rune) {
	switch {
	case r < 0x2E80 && fs.latin.has(r):
		return fs.latin, r
	case fs.cjk.has(r):
		return fs.cjk, r
	case fs.latin.has(r):
		return fs.latin, r
	}
	// Neither font has it (a very rare character in a name): a visible placeholder rather
	// than nothing. The JSON record, which people sign, keeps the character itself.
	return fs.latin, '?'
}

// Shown is the character a document prints for r: r itself when one of the fonts has a
// glyph for it, '?' otherwise.
func (fs *Fonts) Shown(r rune) rune {
	_, g := fs.fontFor(r)
	return g
}

// run is a piece of text in one font.
type run struct {
	font *font
	text string
}

func (fs *Fonts) runs(s string) []run {
	var out []run
	var b strings.Builder
	var cur *font
	for _, r := range s {
		f, r := fs.fontFor(r)
		if f != cur && b.Len() > 0 {
			out = append(out, run{cur, b.String()})
			b.Reset()
		}
		cur = f
		b.WriteRune(r)
	}
	if b.Len() > 0 {
		out = append(out, run{cur, b.String()})
	}
	return out
}

// Width is how wide s is set at size points.
func (fs *Fonts) Width(s string, size float64) float64 {
	w := 0.0
	for _, r := range s {
		f, r := fs.fontFor(r)
		w += f.advance(r, size)
	}
	return w
}

// Wrap breaks s into lines no wider than width at size points: at a space when a Latin word
// would be cut, anywhere in Chinese text, and at every newline. A single character wider
// than width still gets a line of its own.
func (fs *Fonts) Wrap(s string, width, size float64) []string {
	var lines []string
	for para := range strings.SplitSeq(s, "\n") {
		line, w := []rune{}, 0.0
		for _, r := range para {
			f, g := fs.fontFor(r)
			adv := f.advance(g, size)
			if w+adv > width && len(line) > 0 {
				cut := len(line)
				if r != ' ' {
					if i := lastSpace(line); i > 0 {
						cut = i + 1
					}
				}
				lines = append(lines, strings.TrimRight(string(line[:cut]), " "))
				line = append([]rune{}, line[cut:]...)
				w = fs.Width(string(line), size)
				if r == ' ' && len(line) == 0 {
					continue
				}
			}
			line = append(line, r)
			w += adv
		}
		lines = append(lines, string(line))
	}
	return lines
}

func lastSpace(rs []rune) int {
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i] == ' ' {
			return i
		}
	}
	return -1
}
