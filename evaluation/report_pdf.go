package evaluation

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/scoring"
	"github.com/kaiping/kaiping/pdfdoc"
	"github.com/kaiping/kaiping/pdfdoc/cms"
	"github.com/kaiping/kaiping/pdfdoc/pdfsign"
)

// Papers is the platform's ReportPapers: the report set in a Chinese PDF with pdfdoc, the
// members' PDF signatures as incremental updates (pdfdoc/pdfsign), SM2 signatures as
// detached CMS (pdfdoc/cms).
type Papers struct{ Fonts *pdfdoc.Fonts }

var _ ReportPapers = Papers{}

// SignatureField is the name of member's signature field in the report's PDF.
func SignatureField(member kaiping.ID) string { return "评委签名-" + string(member) }

// PDFDigest implements ReportPapers: the member's signature goes on the PDF's last page
// (the signature page), invisible, in a field of their own.
func (p Papers) PDFDigest(pdf []byte, field string, at time.Time) ([]byte, error) {
	prep, err := pdfsign.Prepare(pdf, pdfsign.Request{Field: field, Time: at, Reason: "评标委员会成员签署评标报告"})
	if err != nil {
		return nil, err
	}
	return prep.Digest(), nil
}

// AppendSignature implements ReportPapers.
func (p Papers) AppendSignature(pdf []byte, field string, at time.Time, sig, certDER []byte) ([]byte, error) {
	prep, err := pdfsign.Prepare(pdf, pdfsign.Request{Field: field, Time: at, Reason: "评标委员会成员签署评标报告"})
	if err != nil {
		return nil, err
	}
	next, err := prep.Complete(sig)
	if err != nil {
		return nil, err
	}
	sigs, err := pdfsign.Verify(next)
	if err != nil {
		return nil, err
	}
	if last := sigs[len(sigs)-1]; !bytes.Equal(last.Signer.Raw, certDER) {
		return nil, kaiping.E(kaiping.KindInvalid, "report.pdf_signer", "PDF 签名不是用您登记的证书所签")
	}
	return next, nil
}

// VerifyCMS implements ReportPapers.
func (p Papers) VerifyCMS(content, sig, certDER []byte) error {
	cert, _, err := cms.VerifyDetached(content, sig)
	if err != nil {
		return err
	}
	if !bytes.Equal(cert.Raw, certDER) {
		return kaiping.E(kaiping.KindInvalid, "report.cms_signer", "CMS 签名不是用您登记的证书所签")
	}
	return nil
}

// PDFSigners implements ReportPapers.
func (p Papers) PDFSigners(pdf []byte) ([][]byte, error) {
	sigs, err := pdfsign.Verify(pdf)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(sigs))
	for i, s := range sigs {
		out[i] = s.Signer.Raw
	}
	return out, nil
}

// Render implements ReportPapers: the ten sections, the warnings with the committee's notes,
// and the signature page.
func (p Papers) Render(r Report, digest string) ([]byte, error) {
	d := p.Fonts.NewDocument(pdfdoc.Options{Page: pdfdoc.A4Landscape, Title: "评标报告 " + r.TenderCode,
		Creator: "开评 Kaiping", Created: r.BuiltAt, Footer: fmt.Sprintf("评标报告  %s  报告摘要 %s", r.TenderCode, digest[:16])})
	w := d.ContentWidth()
	d.Title("评标报告", 20)
	d.Space(8)
	d.KeyValues([][2]string{{"项目编号", r.TenderCode}, {"项目名称", r.TenderTitle}, {"招标人", r.Tenderer},
		{"评标时间", beijingMinute(r.Window.Start) + " 至 " + beijingMinute(r.Window.End)},
		{"评标地点", strings.Join(r.Sites, "、")}, {"报告摘要（SHA-256）", digest}})
	names := map[string]string{}
	for _, s := range r.Sections {
		for _, b := range s.Bids {
			names[string(b.Bidder)] = b.Name
		}
	}

	d.Heading("一、基本情况和数据表")
	t := d.Table(pdfdoc.Widths(w, 80, 0, 70, 70, 120), []string{"标段", "标段名称", "投标人数", "有效投标", "评标办法"})
	for _, s := range r.Sections {
		valid := 0
		for _, o := range s.Result.Bids {
			if o.Valid {
				valid++
			}
		}
		t.Row(s.Code, s.Name, strconv.Itoa(len(s.Bids)), strconv.Itoa(valid), methodLabel(r.Method))
	}

	d.Heading("二、评标委员会成员名单")
	t = d.Table(pdfdoc.Widths(w, 90, 90, 70, 0, 60, 0), []string{"姓名", "类别", "评标小组", "城市/场地", "组长", "备注"})
	for _, m := range r.Committee {
		kind := "评标专家"
		if m.Kind == MemberRepresentative {
			kind = "招标人代表"
		}
		t.Row(m.Name, kind, m.Group, strings.Trim(m.City+" "+m.Venue, " "), yes(m.Chair), m.Replaced)
	}

	d.Heading("三、开标记录")
	for _, s := range r.Sections {
		d.Paragraph(s.Code+" "+s.Name, 11, 16, 0)
		t = d.Table(pdfdoc.Widths(w, 50, 0, 140, 100), []string{"序号", "投标人", "投标报价（元）", "开标情况"})
		for i, b := range s.Bids {
			state := "已解密"
			if !b.Opened {
				state = "未解密"
			}
			t.Row(strconv.Itoa(i+1), b.Name, yuanOf(b.Price), state)
		}
	}

	d.Heading("四、符合要求的投标一览表")
	for _, s := range r.Sections {
		var valid []string
		for _, o := range s.Result.Bids {
			if o.Valid {
				valid = append(valid, names[o.Bidder])
			}
		}
		d.Paragraph(s.Code+"："+orNone(strings.Join(valid, "、")), 10, 14, 0)
	}

	d.Heading("五、否决投标的情况说明")
	for _, s := range r.Sections {
		if len(s.Rejected) == 0 {
			d.Paragraph(s.Code+"：无", 10, 14, 0)
			continue
		}
		t = d.Table(pdfdoc.Widths(w, 60, 160, 0), []string{"标段", "投标人", "情况说明"})
		for _, rj := range s.Rejected {
			why := []string{}
			if len(rj.Failed) > 0 {
				why = append(why, "初步评审不合格："+strings.Join(rj.Failed, "、"))
			}
			if rj.Ground != "" {
				why = append(why, "否决："+rj.Ground+"。"+rj.Text)
			}
			t.Row(s.Code, rj.Name, strings.Join(why, "；"))
		}
	}

	d.Heading("六、评标标准、评标方法或者评标因素一览表")
	d.Paragraph("评标办法："+methodLabel(r.Method)+"；推荐中标候选人 "+strconv.Itoa(r.Method.Candidates)+" 名。", 10, 14, 0)
	if len(r.Method.Review) > 0 {
		t = d.Table(pdfdoc.Widths(w, 120, 0), []string{"初步评审项", "名称"})
		for _, it := range r.Method.Review {
			t.Row(it.Code, it.Name)
		}
	}
	if len(r.Method.Criteria) > 0 {
		t = d.Table(pdfdoc.Widths(w, 120, 0, 80, 80), []string{"评分因素", "评分项", "分值", "类别"})
		for _, g := range r.Method.Criteria {
			for _, it := range g.Items {
				kind := "主观分"
				if it.Objective {
					kind = "客观分"
				}
				t.Row(g.Name, it.Name, hundredths(it.Max), kind)
			}
		}
	}
	if pr := r.Method.Price; pr != nil {
		d.Paragraph("价格分："+priceLabel(*pr), 10, 14, 0)
	}

	d.Heading("七、经评审的价格或者评分比较一览表")
	for _, s := range r.Sections {
		d.Paragraph(s.Code+" "+s.Name, 11, 16, 0)
		t = d.Table(pdfdoc.Widths(w, 40, 0, 100, 100, 70, 70, 70), []string{"排名", "投标人", "投标报价（元）", "评标价（元）", "评审得分", "价格分", "总分"})
		for _, o := range s.Result.Bids {
			rank := "—"
			if o.Valid {
				rank = strconv.Itoa(o.Rank)
			}
			t.Row(rank, names[o.Bidder], yuanOf(o.Price), yuanOf(o.Evaluated), hundredths(o.Technical), hundredths(o.PriceScore), hundredths(o.Total))
		}
	}

	d.Heading("八、经评审的投标人排序")
	for _, s := range r.Sections {
		var order []string
		for _, o := range s.Result.Bids {
			if o.Valid {
				order = append(order, strconv.Itoa(o.Rank)+". "+names[o.Bidder])
			}
		}
		d.Paragraph(s.Code+"："+orNone(strings.Join(order, "  ")), 10, 14, 0)
	}

	d.Heading("九、推荐的中标候选人名单与签订合同前要处理的事宜")
	for _, s := range r.Sections {
		var cs []string
		for _, c := range s.Candidates {
			cs = append(cs, fmt.Sprintf("第%d名 %s（投标报价 %s 元）", c.Rank, c.Name, yuanOf(c.Price)))
		}
		d.Paragraph(s.Code+"："+orNone(strings.Join(cs, "；")), 10, 14, 0)
	}

	d.Heading("十、澄清、说明、补正事项纪要")
	if len(r.Clarifications) == 0 {
		d.Paragraph("无", 10, 14, 0)
	}
	for i, c := range r.Clarifications {
		d.Paragraph(fmt.Sprintf("%d. 致 %s（%s）：%s", i+1, c.BidderName, beijingMinute(c.AskedAt), c.Question), 10, 14, 0)
		if c.Answer != "" {
			d.Paragraph("答复："+c.Answer, 10, 14, 12)
		}
	}

	d.Heading("附：评审提示及评标委员会的说明")
	noted := false
	for _, s := range r.Sections {
		for _, wn := range s.Warnings {
			noted = true
			note := "（已纠正）"
			if wn.Note != nil {
				note = "说明：" + wn.Note.Text
			}
			d.Paragraph(s.Code+" "+wn.Message+" "+note, 9, 13, 0)
		}
	}
	if !noted {
		d.Paragraph("无", 10, 14, 0)
	}

	d.NewPage()
	d.Title("评标委员会成员签字页", 16)
	d.Space(6)
	d.Paragraph("各成员以本人数字证书对本报告摘要电子签名（见本文件的签名域及平台审计日志）；持不同意见的成员书面说明其意见和理由，"+
		"拒绝签字又不书面说明理由的，视为同意评标结论。", 10, 14, 0)
	t = d.Table(pdfdoc.Widths(w, 120, 90, 0), []string{"姓名", "评标小组", "签字"})
	for _, m := range r.Committee {
		if m.Replaced == "" {
			t.Row(m.Name, m.Group, "（电子签名）")
		}
	}
	b, err := d.Bytes()
	if err != nil {
		return nil, kaiping.Internal("evaluation.RenderReport", err)
	}
	return b, nil
}

func methodLabel(m scoring.Method) string {
	if m.Kind == scoring.KindLowestPrice {
		return "经评审的最低投标价法"
	}
	return "综合评估法"
}

func priceLabel(p scoring.PriceRule) string {
	if p.Rule == scoring.PriceLowBase {
		return "低价优先法，满分 " + hundredths(p.Max) + " 分"
	}
	return "基准价法，满分 " + hundredths(p.Max) + " 分"
}

func yes(b bool) string {
	if b {
		return "是"
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "无"
	}
	return s
}

// yuanOf formats fen as yuan with two decimals.
func yuanOf(fen int64) string { return twoDecimals(fen) }

// twoDecimals writes hundredths (fen, or hundredths of a point) with two decimals.
func twoDecimals(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}
