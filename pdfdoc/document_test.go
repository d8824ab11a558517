package pdfdoc

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var pageCount = regexp.MustCompile(`(?s)/Type /Pages\n.*?/Count (\d+)`)

// pagesOf checks b is a PDF and returns its page count.
func pagesOf(tb testing.TB, b []byte) int {
	tb.Helper()
	m := pageCount.FindSubmatch(b)
	if !bytes.HasPrefix(b, []byte("%PDF-")) || m == nil {
		tb.Fatalf("not a PDF with a page tree: %q…", b[:min(len(b), 16)])
	}
	n, _ := strconv.Atoi(string(m[1]))
	if objs := bytes.Count(b, []byte("/Type /Page\n")); objs != n {
		tb.Errorf("the page tree counts %d pages, the file holds %d", n, objs)
	}
	return n
}

// reportRow is row i of a score sheet like the report's: 8 columns.
func reportRow(i int) []string {
	return []string{strconv.Itoa(i + 1), fmt.Sprintf("第%d建设集团（河南）有限公司", i%97+1), "专家" + strconv.Itoa(i%7+1),
		"技术标", fmt.Sprintf("施工组织设计 %d", i%13), strconv.Itoa(60 + i%40), fmt.Sprintf("%d.%02d", 80+i%20, i%100), "符合招标文件要求"}
}

var reportHead = []string{"序号", "投标人", "评委", "评审类别", "评审因素", "分值", "得分", "说明"}

func reportWidths(d *Document) []float64 {
	return Widths(d.ContentWidth(), 40, 170, 60, 60, 0, 40, 50, 0)
}

// writeTable writes a document holding an n-row score sheet.
func writeTable(tb testing.TB, fs *Fonts, n int) []byte {
	b, err := renderTable(fs, n)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func renderTable(fs *Fonts, n int) ([]byte, error) {
	d := fs.NewDocument(Options{Title: "评标报告", Footer: "评标报告 KP-2026-001", Created: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
	d.Title("评标报告", 18)
	d.KeyValues([][2]string{{"项目名称", "某市滨江大道（一期）道路及配套工程施工"}, {"项目编号", "KP-2026-001"}})
	d.Heading("评分明细")
	t := d.Table(reportWidths(d), reportHead)
	for i := range n {
		t.Row(reportRow(i)...)
	}
	return d.Bytes()
}

// TestDocument: a table's rows fill pages at the rate one row a line gives (the head
// repeated on each), the same content gives the same bytes, every page carries its
// "第 n 页 共 N 页", and NewPage starts a page.
func TestDocument(t *testing.T) {
	fs := mustFonts(t)
	// An A4 landscape page: 595.28 − 2×36 − 22 = 501.28 points of body; a row is 18 points.
	// The first page holds the title (28.8), two head lines (28), the heading (16) and the
	// table head: (501.28−28.8−28−16−18)/18 = 22 rows; the next pages (501.28−18)/18 = 26.
	tests := []struct{ rows, pages int }{{1, 1}, {22, 1}, {23, 2}, {48, 2}, {49, 3}}
	for _, tt := range tests {
		b := writeTable(t, fs, tt.rows)
		if n := pagesOf(t, b); n != tt.pages {
			t.Errorf("%d rows: %d pages, want %d", tt.rows, n, tt.pages)
		}
		if again := writeTable(t, fs, tt.rows); !bytes.Equal(b, again) {
			t.Errorf("%d rows: two renderings differ", tt.rows)
		}
	}

	d := fs.NewDocument(Options{Page: A4Portrait})
	d.Paragraph("第一页", 10, 14, 0)
	d.NewPage()
	d.Paragraph("签名页", 10, 14, 0)
	if d.Pages() != 2 || d.ContentWidth() != A4Portrait.W-72 {
		t.Errorf("pages %d, content width %v", d.Pages(), d.ContentWidth())
	}
	b, err := d.Bytes()
	if err != nil || pagesOf(t, b) != 2 {
		t.Fatalf("two pages: %v", err)
	}
}

// TestText: what a reader extracts (poppler's pdftotext, from poppler-utils, which
// deploy/dev/install-deps.sh installs): the Chinese text itself, the table's head on each of
// the three pages, and every page's footer with its number and the page count.
func TestText(t *testing.T) {
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatalf("pdftotext (Debian package poppler-utils; deploy/dev/install-deps.sh installs it): %v", err)
	}
	path := filepath.Join(t.TempDir(), "t.pdf")
	if err := os.WriteFile(path, writeTable(t, mustFonts(t), 49), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", path, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	if n := strings.Count(text, "序号"); n != 3 {
		t.Errorf("the table's head %d times in 3 pages", n)
	}
	for p := 1; p <= 3; p++ {
		// pdftotext drops the spaces around the Latin digits.
		if !strings.Contains(text, fmt.Sprintf("第%d页共3页", p)) {
			t.Errorf("no footer of page %d", p)
		}
	}
	if strings.Count(text, "评标报告 KP-2026-001") != 3 || !strings.Contains(text, "某市滨江大道（一期）道路及配套工程施工") ||
		!strings.Contains(text, "第49建设集团（河南）有限公司") {
		t.Errorf("pdftotext:\n%s", text)
	}
}

// TestConcurrentDocuments: one Fonts serves documents written at the same time (the
// opening record's exporter and the report), each as it would be alone.
func TestConcurrentDocuments(t *testing.T) {
	fs := mustFonts(t)
	want := writeTable(t, fs, 30)
	got := make([][]byte, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() { got[i], errs[i] = renderTable(fs, 30) })
	}
	wg.Wait()
	for i, b := range got {
		if errs[i] != nil || !bytes.Equal(b, want) {
			t.Errorf("document %d written concurrently differs: %v", i, errs[i])
		}
	}
}

// TestWidths: fixed columns keep their width, the zero ones share the rest.
func TestWidths(t *testing.T) {
	got := Widths(400, 40, 0, 100, 0)
	if fmt.Sprint(got) != "[40 130 100 130]" {
		t.Errorf("Widths: %v", got)
	}
}

// TestRowCells: a row with fewer cells than columns leaves the rest empty, one with more
// drops the extra, and a row taller than the room left starts a page with the head.
func TestRowCells(t *testing.T) {
	fs := mustFonts(t)
	d := fs.NewDocument(Options{})
	tb := d.Table(Widths(d.ContentWidth(), 100, 0), []string{"甲", "乙"})
	tb.Row("only one")
	tb.Row("a", "b", "dropped")
	long := ""
	for range 40 {
		long += "很长的说明文字很长的说明文字\n"
	}
	tb.Row("1", long)
	if d.Pages() != 2 {
		t.Errorf("a row of 40 lines after two rows: %d pages, want 2", d.Pages())
	}
	if _, err := d.Bytes(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkTable6531 writes the evaluation report's largest table: 6,531 rows of 8
// columns (a committee's every mark), and reports the PDF's size and the heap in use after
// the last row (the peak, since the rows stream and only the PDF grows).
func BenchmarkTable6531(b *testing.B) {
	fs := mustFonts(b)
	b.ReportAllocs()
	var size, heap uint64
	for b.Loop() {
		d := fs.NewDocument(Options{Title: "评标报告", Footer: "评标报告 KP-2026-001"})
		t := d.Table(reportWidths(d), reportHead)
		for i := range 6531 {
			t.Row(reportRow(i)...)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = max(heap, ms.HeapInuse)
		pdf, err := d.Bytes()
		if err != nil {
			b.Fatal(err)
		}
		runtime.ReadMemStats(&ms)
		heap = max(heap, ms.HeapInuse)
		size = uint64(len(pdf))
		b.ReportMetric(float64(d.Pages()), "pages")
	}
	b.ReportMetric(float64(size)/(1<<20), "MiB-pdf")
	b.ReportMetric(float64(heap)/(1<<20), "MiB-heap")
}
