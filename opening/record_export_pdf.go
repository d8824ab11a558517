package opening

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/signintech/gopdf"
	"github.com/signintech/gopdf/fontmaker/core"

	"github.com/kaiping/kaiping"
)

// The fonts the opening record's PDF is set in. Debian's CJK TrueType font
// (fonts-droid-fallback) has no Latin letters, digits or ASCII punctuation, so those are set
// in DejaVu Sans (fonts-dejavu-core). gopdf embeds only .ttf fonts with TrueType (glyf)
// outlines, not the .ttc collections or CFF .otf fonts most CJK packages ship.
const (
	DefaultCJKFont   = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"
	DefaultLatinFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
)

// RecordFonts are the two fonts of the PDF, loaded and checked once.
type RecordFonts struct {
	cjk, latin *pdfFont
}

// pdfFont is one TrueType font: its bytes for gopdf and its character map and advance
// widths, to choose the font of each character and to measure text for wrapping.
type pdfFont struct {
	family     string
	data       []byte
	chars      map[int]uint
	widths     []uint
	unitsPerEm float64
}

// LoadRecordFonts reads and checks the CJK and Latin fonts. A missing file or one gopdf
// cannot embed is KindInvalid, "record.font_missing", "record.font_outlines" or
// "record.font_invalid", naming the file and the Debian package to install.
func LoadRecordFonts(cjkPath, latinPath string) (*RecordFonts, error) {
	cjk, err := loadFont("cjk", cjkPath, "fonts-droid-fallback")
	if err != nil {
		return nil, err
	}
	latin, err := loadFont("latin", latinPath, "fonts-dejavu-core")
	if err != nil {
		return nil, err
	}
	return &RecordFonts{cjk: cjk, latin: latin}, nil
}

func loadFont(family, path, pkg string) (*pdfFont, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, kaiping.Errorf(kaiping.KindInvalid, "record.font_missing",
			"开标记录 PDF 所需字体 %s 不存在：请安装 Debian 软件包 %s（apt-get install %s）", path, pkg, pkg)
	}
	if err != nil {
		return nil, kaiping.Errorf(kaiping.KindInvalid, "record.font_invalid", "无法读取开标记录 PDF 字体 %s：%v", path, err)
	}
	if bytes.HasPrefix(data, []byte("OTTO")) || bytes.HasPrefix(data, []byte("ttcf")) {
		return nil, kaiping.Errorf(kaiping.KindInvalid, "record.font_outlines",
			"字体 %s 是 CFF 轮廓的 .otf 或 .ttc 字体集，gopdf 只能嵌入 TrueType（glyf）轮廓的 .ttf 字体：请使用软件包 %s 的字体", path, pkg)
	}
	var p core.TTFParser
	if err := p.ParseFontData(data); err != nil {
		return nil, kaiping.Errorf(kaiping.KindInvalid, "record.font_invalid", "开标记录 PDF 字体 %s 无法解析：%v", path, err)
	}
	if _, ok := p.GetTables()["glyf"]; !ok {
		return nil, kaiping.Errorf(kaiping.KindInvalid, "record.font_outlines",
			"字体 %s 没有 TrueType（glyf）轮廓，gopdf 无法嵌入：请使用软件包 %s 的字体", path, pkg)
	}
	return &pdfFont{family: family, data: data, chars: p.Chars(), widths: p.Widths(), unitsPerEm: float64(p.UnitsPerEm())}, nil
}

func (f *pdfFont) has(r rune) bool {
	_, ok := f.chars[int(r)]
	return ok
}

// advance is the width of r at size points.
func (f *pdfFont) advance(r rune, size float64) float64 {
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
func (fs *RecordFonts) fontFor(r rune) (*pdfFont, rune) {
	switch {
	case r < 0x2E80 && fs.latin.has(r):
		return fs.latin, r
	case fs.cjk.has(r):
		return fs.cjk, r
	case fs.latin.has(r):
		return fs.latin, r
	}
	// Neither font has it (a very rare character in a name): a visible placeholder rather
	// than nothing. The JSON record, which bidders sign, keeps the character itself.
	return fs.latin, '?'
}

// run is a piece of text in one font.
type run struct {
	font *pdfFont
	text string
}

func (fs *RecordFonts) runs(s string) []run {
	var out []run
	var b strings.Builder
	var cur *pdfFont
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

func (fs *RecordFonts) width(s string, size float64) float64 {
	w := 0.0
	for _, r := range s {
		f, r := fs.fontFor(r)
		w += f.advance(r, size)
	}
	return w
}

// wrap breaks s into lines no wider than width: at a space when a Latin word would be cut,
// anywhere in Chinese text, and at every newline.
func (fs *RecordFonts) wrap(s string, width, size float64) []string {
	var lines []string
	for _, para := range strings.Split(s, "\n") {
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
				w = fs.width(string(line), size)
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

// Page geometry: A4 landscape, in points.
const (
	pageW, pageH  = 841.89, 595.28
	margin        = 36.0
	footerH       = 22.0
	tableSize     = 9.0
	tableLeading  = 12.0
	cellPad       = 3.0
	maxOwnColumns = 5 // more summary fields share one column
)

// RenderRecordPDF sets a published record (its canonical bytes) as an A4 landscape PDF in
// Simplified Chinese: title, tender, section, deadline, decrypt window, the table of bids
// with the tender's summary fields, the 撤销/撤回 lines with their reasons, the record's
// digest, and page numbers. plan names the round of a two-envelope tender. The same record
// always gives the same bytes (the document's date is the record's publication time).
func (fs *RecordFonts) RenderRecordPDF(canonical []byte, plan EnvelopePlan) ([]byte, error) {
	rec, err := DecodeRoundRecord(canonical)
	if err != nil {
		return nil, err
	}
	digest := RecordDigest(canonical)
	return fs.twice(rec, plan, digest, nil, "")
}

// RenderFinalRecordPDF sets a final record (its canonical bytes) as RenderRecordPDF sets the
// published one, titled 开标记录（最终）, followed by each bidder's answer to the record
// (signed confirmation with its time and certificate, objection, not confirmed or 视为认可),
// the objections with their answers, and both digests.
func (fs *RecordFonts) RenderFinalRecordPDF(canonical []byte, plan EnvelopePlan) ([]byte, error) {
	final, err := DecodeFinalRecord(canonical)
	if err != nil {
		return nil, err
	}
	rec, err := DecodeRoundRecord(final.Record)
	if err != nil {
		return nil, err
	}
	return fs.twice(rec, plan, final.RecordDigest, &final, RecordDigest(canonical))
}

// twice lays the document out once to count the pages, then again with "第 n 页 共 N 页".
func (fs *RecordFonts) twice(rec RoundRecord, plan EnvelopePlan, digest string, final *FinalRecord, finalDigest string) ([]byte, error) {
	first, err := fs.render(rec, plan, digest, 0, final, finalDigest)
	if err != nil {
		return nil, err
	}
	out, err := fs.render(rec, plan, digest, first.GetNumberOfPages(), final, finalDigest)
	if err != nil {
		return nil, err
	}
	b, err := out.GetBytesPdfReturnErr()
	if err != nil {
		return nil, kaiping.Internal("opening.RenderRecordPDF", err)
	}
	return b, nil
}

// pdfWriter lays out one document.
type pdfWriter struct {
	fs     *RecordFonts
	pdf    *gopdf.GoPdf
	y      float64
	pages  int
	total  int
	footer string
	err    error
}

func (fs *RecordFonts) render(rec RoundRecord, plan EnvelopePlan, digest string, total int, final *FinalRecord, finalDigest string) (*gopdf.GoPdf, error) {
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: gopdf.Rect{W: pageW, H: pageH}})
	title := "开标记录表"
	if l := roundLabel(plan, rec.Round); l != "" {
		title += "（" + l + "）"
	}
	created := rec.PublishedAt
	if final != nil {
		title += "（最终）"
		created = final.ClosedAt
	}
	pdf.SetInfo(gopdf.PdfInfo{Title: title + " " + rec.TenderCode + " " + rec.SectionCode, Creator: "开评 Kaiping",
		Producer: "kaiping (gopdf)", CreationDate: created})
	for _, f := range []*pdfFont{fs.cjk, fs.latin} {
		if err := pdf.AddTTFFontData(f.family, f.data); err != nil {
			return nil, kaiping.Internal("opening.RenderRecordPDF font "+f.family, err)
		}
	}
	w := &pdfWriter{fs: fs, pdf: pdf, total: total,
		footer: fmt.Sprintf("%s  %s %s  开标记录摘要 %s", title, rec.TenderCode, rec.SectionCode, digest[:16])}
	w.newPage()
	w.centered(title, 18)
	w.y += 8
	for _, kv := range RecordHead(rec) {
		w.paragraph(kv[0]+"："+kv[1], 10, 14, 0)
	}
	w.y += 8
	w.table(rec)
	w.y += 8
	for _, note := range recordNotes(rec) {
		w.paragraph(note, 9, 12, 0)
	}
	w.y += 6
	w.paragraph("开标记录摘要（SHA-256）："+digest, 11, 15, 0)
	w.paragraph("投标人以报名时登记的数字证书对“KAIPING-RECORD-V1”加换行符加上述摘要签名，即确认本开标记录。"+
		"本文件依据开标记录 JSON 正本生成，二者的 SHA-256 均记入平台审计日志，并在对象存储中合规保留。", 9, 12, 0)
	if final != nil {
		w.final(*final, finalDigest)
	}
	return pdf, w.err
}

// final writes what followed the record's publication: each bidder's answer to it, the
// objections with their answers, and the final record's digest.
func (w *pdfWriter) final(f FinalRecord, digest string) {
	w.y += 10
	w.paragraph("开标结束时间："+chinaDate(f.ClosedAt)+"（"+closedByLabel(f.ClosedBy)+"）", 10, 14, 0)
	if f.ConfirmEndsAt != nil {
		w.paragraph("确认期截止时间："+chinaDate(*f.ConfirmEndsAt), 10, 14, 0)
	}
	w.y += 6
	w.paragraph("投标人对开标记录的确认情况", 12, 16, 0)
	head, rows := FinalAnswerTable(f)
	widths := columnWidths(len(head))
	w.row(head, widths, nil)
	for _, r := range rows {
		w.row(r, widths, head)
	}
	w.y += 8
	w.paragraph("异议及答复", 12, 16, 0)
	if len(f.Objections) == 0 {
		w.paragraph("本轮开标无异议。", 10, 14, 0)
	}
	for i, o := range f.Objections {
		w.paragraph(fmt.Sprintf("%d. %s 于 %s 提出异议：%s", i+1, o.BidderName, chinaDate(o.RaisedAt), o.Text), 10, 14, 0)
		if o.AnsweredAt != nil {
			w.paragraph("主持人于 "+chinaDate(*o.AnsweredAt)+" 答复："+o.Answer, 10, 14, 16)
		}
	}
	w.y += 6
	w.paragraph("最终开标记录摘要（SHA-256）："+digest, 11, 15, 0)
	w.paragraph("本文件依据最终开标记录 JSON 正本生成，二者的 SHA-256 均记入平台审计日志，并与开标时公布的开标记录一并在对象存储中合规保留。", 9, 12, 0)
}

// FinalAnswerTable is the final record's table of answers: 序号, 投标人, 对开标记录的意见,
// 开标结果, and the confirmation's time and certificate.
func FinalAnswerTable(f FinalRecord) (head []string, rows [][]string) {
	head = []string{"序号", "投标人", "对开标记录的意见", "开标结果", "确认时间及证书"}
	for _, b := range f.Bids {
		note := ""
		if b.ConfirmedAt != nil {
			note = chinaDate(*b.ConfirmedAt) + "，证书 " + b.Certificate
		}
		rows = append(rows, []string{fmt.Sprint(b.No), b.BidderName, b.AnswerLabel, b.StatusLabel, note})
	}
	return head, rows
}

func closedByLabel(by By) string {
	if by == BySystem {
		return "确认期届满，由平台自动结束"
	}
	return "由主持人宣布结束"
}

func (w *pdfWriter) newPage() {
	w.pdf.AddPage()
	w.pages++
	w.y = margin
	foot := pageH - margin + 8
	w.text(margin, foot, w.footer, 8)
	if w.total > 0 {
		n := fmt.Sprintf("第 %d 页 共 %d 页", w.pages, w.total)
		w.text(pageW-margin-w.fs.width(n, 8), foot, n, 8)
	}
}

// room starts a new page unless h more points fit on this one, and says whether it did.
func (w *pdfWriter) room(h float64) bool {
	if w.y+h <= pageH-margin-footerH {
		return false
	}
	w.newPage()
	return true
}

// text draws s with its top-left corner at x, y.
func (w *pdfWriter) text(x, y float64, s string, size float64) {
	for _, r := range w.fs.runs(s) {
		if w.err != nil {
			return
		}
		if w.err = w.pdf.SetFont(r.font.family, "", size); w.err != nil {
			return
		}
		w.pdf.SetXY(x, y)
		w.err = w.pdf.Cell(nil, r.text)
		x += w.fs.width(r.text, size)
	}
}

func (w *pdfWriter) centered(s string, size float64) {
	w.room(size * 1.5)
	w.text((pageW-w.fs.width(s, size))/2, w.y, s, size)
	w.y += size * 1.6
}

// paragraph writes s wrapped to the page's width, indented by indent.
func (w *pdfWriter) paragraph(s string, size, leading, indent float64) {
	for _, line := range w.fs.wrap(s, pageW-2*margin-indent, size) {
		w.room(leading)
		w.text(margin+indent, w.y, line, size)
		w.y += leading
	}
}

// table writes the bids, repeating the head on every page it spans.
func (w *pdfWriter) table(rec RoundRecord) {
	head, rows := RecordTable(rec)
	widths := columnWidths(len(head))
	w.row(head, widths, nil)
	for _, r := range rows {
		w.row(r, widths, head)
	}
}

// row draws one row of cells, wrapped; on a new page it repeats head first. The head
// itself (head nil) is shaded.
func (w *pdfWriter) row(r []string, widths []float64, head []string) {
	cells := make([][]string, len(r))
	lines := 1
	for i, c := range r {
		cells[i] = w.fs.wrap(c, widths[i]-2*cellPad, tableSize)
		lines = max(lines, len(cells[i]))
	}
	h := float64(lines)*tableLeading + 2*cellPad
	if w.room(h) && head != nil {
		w.row(head, widths, nil)
	}
	x := margin
	for i, c := range cells {
		if head == nil {
			// The fill colour is also the text's: back to black once the cell is shaded.
			w.pdf.SetFillColor(232, 232, 232)
			w.pdf.RectFromUpperLeftWithStyle(x, w.y, widths[i], h, "FD")
			w.pdf.SetFillColor(0, 0, 0)
		} else {
			w.pdf.RectFromUpperLeftWithStyle(x, w.y, widths[i], h, "D")
		}
		for j, line := range c {
			w.text(x+cellPad, w.y+cellPad+float64(j)*tableLeading, line, tableSize)
		}
		x += widths[i]
	}
	w.y += h
}

// columnWidths shares the page's width among 序号, 投标人, the field column(s), 状态 and 说明.
func columnWidths(columns int) []float64 {
	const no, name, status, noteMin = 30.0, 150.0, 58.0, 160.0
	rest := pageW - 2*margin - no - name - status - noteMin
	valueCols := columns - 4
	out := []float64{no, name}
	for range valueCols {
		out = append(out, rest/float64(valueCols))
	}
	return append(out, status, noteMin)
}

// RecordHead is the record's heading as label and value pairs: what the PDF prints above
// the table and the command line before the bids.
func RecordHead(rec RoundRecord) [][2]string {
	result := "开标"
	if rec.Outcome == string(HallFailed) {
		result = "流标：" + rec.Reason
	}
	head := [][2]string{
		{"项目名称", rec.TenderTitle},
		{"项目编号", rec.TenderCode},
		{"招标人", rec.Tenderer},
		{"标段", rec.SectionCode + " " + rec.SectionName},
		{"投标截止时间（开标时间）", chinaDate(rec.Deadline) + "（北京时间）"},
		{"解密时间", chinaDate(rec.WindowOpened) + " 至 " + chinaDate(rec.WindowClosed)},
		{"开标记录公布时间", chinaDate(rec.PublishedAt)},
		{"投标文件集合摘要（截标时记入审计日志）", rec.BidSetDigest},
	}
	if rec.Round >= 2 {
		head = append(head, [2]string{"第一轮开标记录摘要", rec.FirstRecordDigest})
	}
	return append(head,
		[2]string{"投标人", fmt.Sprintf("%d 家，解密成功的有效投标 %d 家（不少于 %d 家方可开标）", len(rec.Bids), rec.ValidBids, rec.MinBids)},
		[2]string{"开标结果", result})
}

// RecordTable is the record's table: the head (序号, 投标人, the tender's summary fields, 状态,
// 说明) and a row per bid. Up to five fields have a column each; more share one column,
// "名称：值" joined by "；". The PDF and the command line both print it.
func RecordTable(rec RoundRecord) (head []string, rows [][]string) {
	own := len(rec.Fields) <= maxOwnColumns
	head = []string{"序号", "投标人"}
	if own {
		for _, f := range rec.Fields {
			head = append(head, f.Label)
		}
	} else {
		head = append(head, "开标一览表")
	}
	head = append(head, "状态", "说明")
	for _, b := range rec.Bids {
		row := []string{fmt.Sprint(b.No), b.BidderName}
		var lines []string
		for _, f := range rec.Fields {
			v, ok := b.Values[f.Key]
			if !ok {
				v = "—"
			}
			if own {
				row = append(row, v)
			} else {
				lines = append(lines, f.Label+"："+v)
			}
		}
		if !own {
			row = append(row, strings.Join(lines, "；"))
		}
		row = append(row, b.StatusLabel, bidNote(b))
		rows = append(rows, row)
	}
	return head, rows
}

// bidNote is a bid's 说明: why it was not opened, or how it was.
func bidNote(b RecordBid) string {
	if b.ReasonText != "" {
		return b.ReasonText
	}
	for _, e := range b.Envelopes {
		if e.Via == "rescue" {
			return "经解密失败补救方案，由监督人员合成补救密钥开启"
		}
	}
	return ""
}

// recordNotes explain the statuses the record uses.
func recordNotes(rec RoundRecord) []string {
	notes := []string{
		"注：撤销——因投标人自身原因（未在解密时限内提交密钥、密钥错误、投标文件损坏或开标一览表不符合要求）未能解密的投标；",
		"撤回——因投标人以外的原因（如平台故障、解密队列繁忙）未能解密的投标，投标人可依法要求赔偿损失。",
	}
	if rec.Round >= 2 {
		notes = append(notes, "未通过技术评审——该投标人的商务标不予开启，在平台中永久密封。")
	}
	return notes
}
