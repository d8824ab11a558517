package opening

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/pdfdoc"
)

func mustFonts(tb testing.TB) *pdfdoc.Fonts {
	tb.Helper()
	fs, err := pdfdoc.LoadFonts(pdfdoc.DefaultCJKFont, pdfdoc.DefaultLatinFont)
	if err != nil {
		tb.Fatalf("the PDF fonts (make test installs them): %v", err)
	}
	return fs
}

// testRecord is a record of n bids with fields, every third revoked and every fifth
// withdrawn.
func testRecord(n int, fields []SummaryField) RoundRecord {
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	rec := RoundRecord{OpeningRecord: OpeningRecord{Format: RecordFormat, Tender: kaiping.NewID(), TenderCode: "KP-2026-001",
		TenderTitle: "某市滨江大道（一期）道路及配套工程施工——“智慧路灯”子项", Tenderer: "某市城市建设投资有限公司",
		Section: kaiping.NewID(), SectionCode: "BD1", SectionName: "一标段：道路工程", Deadline: at, BidSetDigest: strings.Repeat("ab", 32),
		WindowOpened: at.Add(time.Minute), WindowClosed: at.Add(31 * time.Minute), PublishedAt: at.Add(32 * time.Minute),
		Fields: fields, Bids: []RecordBid{}, MinBids: 3, Outcome: BidOpened}}
	for i := range n {
		b := RecordBid{No: i + 1, Bidder: kaiping.NewID(), BidderName: fmt.Sprintf("第%d建设集团（河南）有限公司", i+1), Status: BidOpened,
			StatusLabel: OutcomeLabel(BidOpened), Values: map[string]string{}}
		for _, f := range fields {
			b.Values[f.Key] = strconv.Itoa(1000000 + i)
		}
		switch {
		case i%5 == 4:
			b.Status, b.Reason, b.Values = OutcomeWithdrawn, ReasonBusy, nil
		case i%3 == 2:
			b.Status, b.Reason, b.Values = OutcomeRevoked, ReasonWrongKey, nil
		default:
			rec.ValidBids++
		}
		b.StatusLabel, b.ReasonText = OutcomeLabel(b.Status), ReasonText(b.Reason)
		rec.Bids = append(rec.Bids, b)
	}
	return rec
}

var pdfPageCount = regexp.MustCompile(`(?s)/Type /Pages\n.*?/Count (\d+)`)

// pages checks b is a PDF and returns its page count.
func pages(t *testing.T, b []byte) int {
	t.Helper()
	m := pdfPageCount.FindSubmatch(b)
	if !bytes.HasPrefix(b, []byte("%PDF-")) || m == nil {
		t.Fatalf("not a PDF with a page tree: %q…", b[:min(len(b), 16)])
	}
	n, _ := strconv.Atoi(string(m[1]))
	if objs := bytes.Count(b, []byte("/Type /Page\n")); objs != n {
		t.Errorf("the page tree counts %d pages, the file holds %d", n, objs)
	}
	return n
}

// TestRenderRecordPDF: records of 3, 60 and 200 bids fill 1, 4 and 10 A4 pages as laid out
// (a row of one or two lines, the table's head repeated on every page, the notes and digest
// after it), and 30 bids with eight fields, sharing one column, 3; rendering is
// deterministic, and every character of the record has a glyph.
func TestRenderRecordPDF(t *testing.T) {
	fs := mustFonts(t)
	many := make([]SummaryField, 8)
	for i := range many {
		many[i] = SummaryField{Key: "f" + strconv.Itoa(i), Label: "字段" + strconv.Itoa(i), Type: FieldText}
	}
	tests := []struct {
		bids   int
		fields []SummaryField
		pages  int
	}{
		{3, testFields, 1},
		{60, testFields, 4},
		{200, testFields, 10},
		{30, many, 3},
	}
	for _, tt := range tests {
		rec := testRecord(tt.bids, tt.fields)
		canonical, _, err := rec.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		pdf, err := RenderRecordPDF(fs, canonical, SingleEnvelope)
		if err != nil {
			t.Fatal(err)
		}
		if n := pages(t, pdf); n != tt.pages {
			t.Errorf("%d bids with %d fields: %d pages, want %d", tt.bids, len(tt.fields), n, tt.pages)
		}
		again, _ := RenderRecordPDF(fs, canonical, SingleEnvelope)
		if !bytes.Equal(pdf, again) {
			t.Errorf("%d bids: two renderings differ", tt.bids)
		}
	}

	rec := testRecord(5, testFields)
	var text []string
	for _, kv := range RecordHead(rec) {
		text = append(text, kv[0], kv[1])
	}
	head, rows := RecordTable(rec)
	text = append(text, head...)
	for _, r := range rows {
		text = append(text, r...)
	}
	text = append(text, recordNotes(RoundRecord{Round: 2})...)
	for _, s := range text {
		for _, r := range s {
			if got := fs.Shown(r); got != r && r != '?' {
				t.Errorf("no glyph for %q in %q", r, s)
			}
		}
	}
}

func TestRecordTable(t *testing.T) {
	rec := testRecord(3, testFields)
	rec.Bids[0].Envelopes = []RecordEnvelope{{Kind: "summary", Via: "rescue"}}
	head, rows := RecordTable(rec)
	if strings.Join(head, "|") != "序号|投标人|投标报价（元）|工期|下浮率|质量标准|状态|说明" {
		t.Errorf("head %v", head)
	}
	if rows[0][2] != "1000000" || !strings.Contains(rows[0][7], "补救") || rows[2][6] != "撤销" || rows[2][2] != "—" ||
		rows[2][7] != ReasonText(ReasonWrongKey) {
		t.Errorf("rows %v", rows)
	}
	many := make([]SummaryField, 6)
	for i := range many {
		many[i] = SummaryField{Key: "k" + strconv.Itoa(i), Label: "项" + strconv.Itoa(i)}
	}
	head, rows = RecordTable(testRecord(1, many))
	if len(head) != 5 || head[2] != "开标一览表" || strings.Count(rows[0][2], "；") != 5 || !strings.HasPrefix(rows[0][2], "项0：") {
		t.Errorf("six fields: head %v, row %q", head, rows[0])
	}
}
