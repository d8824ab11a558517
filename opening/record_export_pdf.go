package opening

import (
	"fmt"
	"strings"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/pdfdoc"
)

// maxOwnColumns is how many summary fields get a column each in the record's table; more
// share one column, so the bidder's name and the notes keep a readable width.
const maxOwnColumns = 5

// RenderRecordPDF sets a published record (its canonical bytes) as an A4 landscape PDF in
// Simplified Chinese: title, tender, section, deadline, decrypt window, the table of bids
// with the tender's summary fields, the 撤销/撤回 lines with their reasons, the record's
// digest, and page numbers. plan names the round of a two-envelope tender. The same record
// always gives the same bytes (the document's date is the record's publication time).
func RenderRecordPDF(fs *pdfdoc.Fonts, canonical []byte, plan EnvelopePlan) ([]byte, error) {
	rec, err := DecodeRoundRecord(canonical)
	if err != nil {
		return nil, err
	}
	digest := RecordDigest(canonical)
	return renderRecord(fs, rec, plan, digest, nil, "")
}

// RenderFinalRecordPDF sets a final record (its canonical bytes) as RenderRecordPDF sets the
// published one, titled 开标记录（最终）, followed by each bidder's answer to the record
// (signed confirmation with its time and certificate, objection, not confirmed or 视为认可),
// the objections with their answers, and both digests.
func RenderFinalRecordPDF(fs *pdfdoc.Fonts, canonical []byte, plan EnvelopePlan) ([]byte, error) {
	final, err := DecodeFinalRecord(canonical)
	if err != nil {
		return nil, err
	}
	rec, err := DecodeRoundRecord(final.Record)
	if err != nil {
		return nil, err
	}
	return renderRecord(fs, rec, plan, final.RecordDigest, &final, RecordDigest(canonical))
}

func renderRecord(fs *pdfdoc.Fonts, rec RoundRecord, plan EnvelopePlan, digest string, final *FinalRecord, finalDigest string) ([]byte, error) {
	title := "开标记录表"
	if l := roundLabel(plan, rec.Round); l != "" {
		title += "（" + l + "）"
	}
	created := rec.PublishedAt
	if final != nil {
		title += "（最终）"
		created = final.ClosedAt
	}
	d := fs.NewDocument(pdfdoc.Options{Page: pdfdoc.A4Landscape, Title: title + " " + rec.TenderCode + " " + rec.SectionCode,
		Creator: "开评 Kaiping", Created: created,
		Footer: fmt.Sprintf("%s  %s %s  开标记录摘要 %s", title, rec.TenderCode, rec.SectionCode, digest[:16])})
	d.Title(title, 18)
	d.Space(8)
	d.KeyValues(RecordHead(rec))
	d.Space(8)
	head, rows := RecordTable(rec)
	t := d.Table(columnWidths(d.ContentWidth(), len(head)), head)
	for _, r := range rows {
		t.Row(r...)
	}
	d.Space(8)
	for _, note := range recordNotes(rec) {
		d.Paragraph(note, 9, 12, 0)
	}
	d.Space(6)
	d.Paragraph("开标记录摘要（SHA-256）："+digest, 11, 15, 0)
	d.Paragraph("投标人以报名时登记的数字证书对“KAIPING-RECORD-V1”加换行符加上述摘要签名，即确认本开标记录。"+
		"本文件依据开标记录 JSON 正本生成，二者的 SHA-256 均记入平台审计日志，并在对象存储中合规保留。", 9, 12, 0)
	if final != nil {
		finalPart(d, *final, finalDigest)
	}
	b, err := d.Bytes()
	if err != nil {
		return nil, kaiping.Internal("opening.RenderRecordPDF", err)
	}
	return b, nil
}

// final writes what followed the record's publication: each bidder's answer to it, the
// objections with their answers, and the final record's digest.
func finalPart(d *pdfdoc.Document, f FinalRecord, digest string) {
	d.Space(10)
	d.Paragraph("开标结束时间："+chinaDate(f.ClosedAt)+"（"+closedByLabel(f.ClosedBy)+"）", 10, 14, 0)
	if f.ConfirmEndsAt != nil {
		d.Paragraph("确认期截止时间："+chinaDate(*f.ConfirmEndsAt), 10, 14, 0)
	}
	d.Space(6)
	d.Paragraph("投标人对开标记录的确认情况", 12, 16, 0)
	head, rows := FinalAnswerTable(f)
	t := d.Table(columnWidths(d.ContentWidth(), len(head)), head)
	for _, r := range rows {
		t.Row(r...)
	}
	d.Space(8)
	d.Paragraph("异议及答复", 12, 16, 0)
	if len(f.Objections) == 0 {
		d.Paragraph("本轮开标无异议。", 10, 14, 0)
	}
	for i, o := range f.Objections {
		d.Paragraph(fmt.Sprintf("%d. %s 于 %s 提出异议：%s", i+1, o.BidderName, chinaDate(o.RaisedAt), o.Text), 10, 14, 0)
		if o.AnsweredAt != nil {
			d.Paragraph("主持人于 "+chinaDate(*o.AnsweredAt)+" 答复："+o.Answer, 10, 14, 16)
		}
	}
	d.Space(6)
	d.Paragraph("最终开标记录摘要（SHA-256）："+digest, 11, 15, 0)
	d.Paragraph("本文件依据最终开标记录 JSON 正本生成，二者的 SHA-256 均记入平台审计日志，并与开标时公布的开标记录一并在对象存储中合规保留。", 9, 12, 0)
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

// columnWidths shares the page's width among 序号, 投标人, the field column(s), 状态 and 说明.
func columnWidths(total float64, columns int) []float64 {
	const no, name, status, noteMin = 30.0, 150.0, 58.0, 160.0
	rest := total - no - name - status - noteMin
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
