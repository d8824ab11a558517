package pdfdoc

import (
	"fmt"
	"time"

	"github.com/signintech/gopdf"

	"github.com/kaiping/kaiping"
)

// Size is a page's width and height in points.
type Size struct{ W, H float64 }

// The page sizes the platform's documents use.
var (
	A4Landscape = Size{W: 841.89, H: 595.28}
	A4Portrait  = Size{W: 595.28, H: 841.89}
)

// Options shape a document. The zero value is an A4 landscape page with 36-point margins.
type Options struct {
	Page   Size    // zero: A4Landscape
	Margin float64 // zero: 36 points
	// Title, Creator and Created go into the document's information dictionary; Created is
	// given, not read from the clock, so the same content always gives the same bytes.
	Title   string
	Creator string
	Created time.Time
	// Footer is printed at the bottom left of every page, "第 n 页 共 N 页" at the bottom
	// right: a page torn from a printed document still says what it belongs to.
	Footer string
}

// footerH is the band kept free for the footer at the bottom of every page.
const footerH = 22.0

// Document lays out one PDF top to bottom, breaking pages as text reaches the footer. The
// first error sticks: later calls do nothing and Bytes returns it, so a caller writes the
// whole layout and checks once.
type Document struct {
	fs     *Fonts
	pdf    *gopdf.GoPdf
	page   Size
	margin float64
	footer string
	y      float64
	pages  int
	err    error
	// font and size last set in gopdf, to skip setting them again for every run.
	curFont *font
	curSize float64
}

// NewDocument starts a document with its first page.
func (fs *Fonts) NewDocument(o Options) *Document {
	if o.Page == (Size{}) {
		o.Page = A4Landscape
	}
	if o.Margin == 0 {
		o.Margin = 36
	}
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: gopdf.Rect{W: o.Page.W, H: o.Page.H}})
	pdf.SetInfo(gopdf.PdfInfo{Title: o.Title, Creator: o.Creator, Producer: "kaiping (gopdf)", CreationDate: o.Created})
	d := &Document{fs: fs, pdf: pdf, page: o.Page, margin: o.Margin, footer: o.Footer}
	for _, f := range []*font{fs.cjk, fs.latin} {
		if err := pdf.AddTTFFontData(f.family, f.data); err != nil {
			d.err = kaiping.Internal("pdfdoc.NewDocument font "+f.family, err)
			return d
		}
	}
	d.NewPage()
	return d
}

// ContentWidth is the width between the margins: what a table's column widths share.
func (d *Document) ContentWidth() float64 { return d.page.W - 2*d.margin }

// Pages is the number of pages so far.
func (d *Document) Pages() int { return d.pages }

// Err is the first error the layout met, if any.
func (d *Document) Err() error { return d.err }

// NewPage starts a new page: for a part of the document that must begin on a page of its
// own, such as the signature page.
func (d *Document) NewPage() {
	if d.err != nil {
		return
	}
	d.pdf.AddPage()
	d.pages++
	d.y = d.margin
}

// Space moves down h points, without starting a page.
func (d *Document) Space(h float64) { d.y += h }

// room starts a new page unless h more points fit on this one, and says whether it did.
func (d *Document) room(h float64) bool {
	if d.y+h <= d.page.H-d.margin-footerH {
		return false
	}
	d.NewPage()
	return true
}

// text draws s with its top-left corner at x, y.
func (d *Document) text(x, y float64, s string, size float64) {
	for _, r := range d.fs.runs(s) {
		if d.err != nil {
			return
		}
		if r.font != d.curFont || size != d.curSize {
			if d.err = d.pdf.SetFont(r.font.family, "", size); d.err != nil {
				return
			}
			d.curFont, d.curSize = r.font, size
		}
		d.pdf.SetXY(x, y)
		d.err = d.pdf.Cell(nil, r.text)
		x += d.fs.Width(r.text, size)
	}
}

// Title writes s centred, at size points.
func (d *Document) Title(s string, size float64) {
	d.room(size * 1.5)
	d.text((d.page.W-d.fs.Width(s, size))/2, d.y, s, size)
	d.y += size * 1.6
}

// Heading writes s as a section's heading (12 points), kept on the page of what follows
// when the page has room for little else.
func (d *Document) Heading(s string) {
	d.room(16 + 3*12)
	d.Paragraph(s, 12, 16, 0)
}

// Paragraph writes s wrapped to the page's width, indented by indent, at size points with
// leading points between lines.
func (d *Document) Paragraph(s string, size, leading, indent float64) {
	for _, line := range d.fs.Wrap(s, d.ContentWidth()-indent, size) {
		d.room(leading)
		d.text(d.margin+indent, d.y, line, size)
		d.y += leading
	}
}

// KeyValues writes a document's head: one "label：value" paragraph (10 points) a pair.
func (d *Document) KeyValues(kv [][2]string) {
	for _, p := range kv {
		d.Paragraph(p[0]+"："+p[1], 10, 14, 0)
	}
}

// Bytes draws every page's footer, now that the page count is known, and returns the PDF.
// It is called once, last.
func (d *Document) Bytes() ([]byte, error) {
	if d.err != nil {
		return nil, d.err
	}
	foot := d.page.H - d.margin + 8
	for p := 1; p <= d.pages; p++ {
		if err := d.pdf.SetPage(p); err != nil {
			return nil, kaiping.Internal("pdfdoc.Bytes", err)
		}
		d.text(d.margin, foot, d.footer, 8)
		n := fmt.Sprintf("第 %d 页 共 %d 页", p, d.pages)
		d.text(d.page.W-d.margin-d.fs.Width(n, 8), foot, n, 8)
	}
	if d.err != nil {
		return nil, d.err
	}
	b, err := d.pdf.GetBytesPdfReturnErr()
	if err != nil {
		return nil, kaiping.Internal("pdfdoc.Bytes", err)
	}
	return b, nil
}
