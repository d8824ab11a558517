package pdfsign

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/pdfdoc"
)

// BenchmarkSignVerify6531 has five members (RSA and ECDSA in turn) sign a report holding a
// 6,531-row table, then verifies all five signatures: what the signing stage costs the
// server for the largest report.
func BenchmarkSignVerify6531(b *testing.B) {
	fs, err := pdfdoc.LoadFonts(pdfdoc.DefaultCJKFont, pdfdoc.DefaultLatinFont)
	if err != nil {
		b.Fatal(err)
	}
	d := fs.NewDocument(pdfdoc.Options{Title: "评标报告", Footer: "评标报告"})
	t := d.Table(pdfdoc.Widths(d.ContentWidth(), 40, 170, 60, 60, 0, 40, 50, 0), []string{"序号", "投标人", "评委", "评审类别", "评审因素", "分值", "得分", "说明"})
	for i := range 6531 {
		t.Row(strconv.Itoa(i+1), fmt.Sprintf("第%d建设集团（河南）有限公司", i%97+1), "专家"+strconv.Itoa(i%7+1), "技术标", "施工组织设计", "10", "8.50", "")
	}
	pdf, err := d.Bytes()
	if err != nil {
		b.Fatal(err)
	}
	var members []member
	for i := range 5 {
		alg := devpki.RSA
		if i%2 == 1 {
			alg = devpki.ECDSA
		}
		members = append(members, mustMember(b, alg, "成员"+strconv.Itoa(i+1)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		revs := signInTurn(b, pdf, members)
		sigs, err := Verify(revs[len(revs)-1])
		if err != nil || len(sigs) != 5 {
			b.Fatalf("%d signatures: %v", len(sigs), err)
		}
	}
	b.ReportMetric(float64(len(pdf))/(1<<20), "MiB-pdf")
}
