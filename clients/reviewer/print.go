package reviewer

import (
	"fmt"
	"io"
	"time"

	"github.com/kaiping/kaiping/evaluation"
)

// PrintSigned writes what the member signed for a person to read: the report (its tender and
// each section's recommended candidates), its digest, and the signature the server recorded,
// in the PDF (which revision) or as an SM2 CMS beside it, with the dissent if any; times in
// Beijing time.
func PrintSigned(w io.Writer, s Signed) {
	bj := time.FixedZone("CST", 8*3600)
	r := s.Report
	fmt.Fprintf(w, "== 评标报告 %s %s（招标人：%s）\n", r.TenderCode, r.TenderTitle, r.Tenderer)
	for _, sec := range r.Sections {
		fmt.Fprintf(w, "标段 %s %s：推荐中标候选人", sec.Code, sec.Name)
		if len(sec.Candidates) == 0 {
			fmt.Fprint(w, " 无")
		}
		for _, c := range sec.Candidates {
			fmt.Fprintf(w, " 第%d名 %s（%s 元）", c.Rank, c.Name, yuan(c.Price))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "评标报告摘要（SHA-256，正本已在本机核对）：%s\n", s.Digest)
	g := s.Signature
	stance := "签字同意"
	if g.Kind == evaluation.SignatureDissent {
		stance = "签字并书面说明不同意见"
	}
	fmt.Fprintf(w, "已签署（%s，成员 %s，证书 %.16s…，%s 北京时间，审计日志第 %d 条）\n", stance, s.Member, g.Certificate,
		g.At.In(bj).Format(time.DateTime), g.LedgerSeq)
	switch {
	case s.CMS:
		fmt.Fprintln(w, "SM2 证书：已对报告正本作 CMS 分离签名，与报告 PDF 一并保存")
	case g.PDFRevision > 0:
		fmt.Fprintf(w, "已在评标报告 PDF 上签名（增量签名，PDF 第 %d 版）\n", g.PDFRevision)
	default:
		fmt.Fprintln(w, "本平台不生成报告 PDF：仅签署了报告摘要")
	}
	if g.Dissent != "" {
		fmt.Fprintf(w, "不同意见：%s\n", g.Dissent)
	}
}

// yuan formats fen as 元 with two decimals.
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}
