package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/pdfdoc"
)

// The report-pdf scenario: the evaluation report (评标报告) of the scoring scenario's session,
// every section summarized from its stored marks, built and set in a PDF as the evaluation
// host's "生成评标报告" does (evaluation.Service.BuildReport), against one plain pdfdoc table
// of as many rows as the report's tables hold.

// reportPDFAnchorName names the anchor of the report figures.
const reportPDFAnchorName = "one plain pdfdoc table with as many rows as the report's tables (7 columns of a comparison table's kind), A4 landscape"

// The goals (issue's Benchmarks): the report of 6,531 bidders in under a minute and 256 MiB.
var (
	reportPDFTimeGoal   = &benchGoal{Below: 60_000}
	reportPDFMemoryGoal = &benchGoal{Below: 256}
)

func benchReportPDFCommand() *cli.Command {
	return &cli.Command{
		Name: "report-pdf",
		Usage: "the evaluation report of the scoring scenario's session, summarized from its stored marks, built and rendered as a PDF " +
			"(evaluation.Service.BuildReport) against one plain pdfdoc table of as many rows",
		Flags:  scoringFlags(),
		Action: benchReportPDF,
	}
}

// pdfPageCount finds the page count of a pdfdoc PDF in its page tree.
var pdfPageCount = regexp.MustCompile(`(?s)/Type /Pages\n.*?/Count (\d+)`)

func benchReportPDF(ctx context.Context, cmd *cli.Command) error {
	plan, b, err := scoringScenario(cmd)
	if err != nil {
		return err
	}
	defer os.RemoveAll(b.dir)
	runs := b.runs
	fonts, err := pdfdoc.LoadFonts(pdfdoc.DefaultCJKFont, pdfdoc.DefaultLatinFont)
	if err != nil {
		return fmt.Errorf("the PDF fonts (deploy/dev/install-deps.sh installs them): %w", err)
	}
	fmt.Fprintf(os.Stderr, "bench: report-pdf: seeding %d bidders in %d sections\n", plan.bidders, plan.groups*plan.sections)
	w, err := newScoringWorld(ctx, b.dir, plan)
	if err != nil {
		return err
	}
	defer w.close()
	w.svc.ReportWith(evaluation.Papers{Fonts: fonts}, nil)
	host, err := w.summarize(ctx)
	if err != nil {
		return fmt.Errorf("summarizing the sections: %w", err)
	}

	var stored evaluation.StoredReport
	ours := func() (err error) {
		host.At = time.Now().UTC().Truncate(kaiping.RecordPrecision)
		stored, err = w.svc.BuildReport(ctx, host, w.session)
		return err
	}
	// One run first: it checks the report and counts the rows the anchor sets.
	if err := ours(); err != nil {
		return err
	}
	var rep evaluation.Report
	if err := json.Unmarshal(stored.Body, &rep); err != nil {
		return err
	}
	rows, bids := 0, 0
	for _, s := range rep.Sections {
		bids += len(s.Bids)
		rows += len(s.Bids) + len(s.Rejected) + len(s.Result.Bids)
	}
	var anchorPages int
	anchor := func() (err error) { anchorPages, err = plainTable(fonts, rows); return err }

	var oursMS, anchorMS, oursRSS, anchorRSS, oursHeap, anchorHeap []float64
	for run := range runs {
		for k := range 2 {
			side, f := "ours  ", ours
			if (k+run)%2 == 1 {
				side, f = "anchor", anchor
			}
			p, err := measurePeak(f)
			if err != nil {
				return err
			}
			if side == "anchor" {
				anchorMS, anchorRSS, anchorHeap = append(anchorMS, p.ms), append(anchorRSS, p.rssMiB), append(anchorHeap, p.heapMiB)
			} else {
				oursMS, oursRSS, oursHeap = append(oursMS, p.ms), append(oursRSS, p.rssMiB), append(oursHeap, p.heapMiB)
			}
			fmt.Fprintf(os.Stderr, "bench: report-pdf run %d/%d %s %9.1f ms, peak %6.1f MiB resident, %6.1f MiB Go heap\n", run+1, runs, side, p.ms, p.rssMiB, p.heapMiB)
		}
	}
	pages := 0
	if m := pdfPageCount.FindSubmatch(stored.PDF); m != nil {
		pages, _ = strconv.Atoi(string(m[1]))
	}

	r := b.result(fmt.Sprintf("The evaluation report: %d bidders in %d groups × %d sections, %d members a group, %d criteria (size: the report's PDF)",
		plan.bidders, plan.groups, plan.sections, plan.members, plan.items), "")
	r.Size = int64(len(stored.PDF))
	r.Method = "Ours is evaluation.Service.BuildReport on the scoring scenario's session (its marks seeded by COPY, every one submitted), once every section's review holds " +
		"the chair's summary (ComputeSession's outcome stored as the summary, before the runs) and the session is signing: it reads the session, the tender, the reviews and every " +
		"section's recorded bids, builds the report, encodes its canonical JSON, renders the PDF (evaluation.Papers with pdfdoc: the ten sections, every warning with its note, " +
		"the signature page) and stores both with their ledger entry; timed from the call to its return. The anchor sets the same number of rows as the report's tables " +
		"(sections 三, 五 and 七) in one pdfdoc table and writes the PDF, in the same process (one warm-up run of ours first). Memory is measured the same way for both, after a " +
		"collection that returns freed memory to the system: the growth of this process's peak resident set (VmHWM, reset through /proc/self/clear_refs before the run, less " +
		"VmRSS then), and the Go heap's live objects sampled every 2 ms."
	r.Figures = append(r.Figures,
		newFigure("the report built and rendered as a PDF", "ms", reportPDFAnchorName, "median", oursMS, anchorMS, reportPDFTimeGoal),
		newFigure("peak memory: growth of the resident set (VmHWM)", "MiB", reportPDFAnchorName, "max", oursRSS, anchorRSS, reportPDFMemoryGoal),
		newFigure("peak memory: Go heap objects, sampled", "MiB", reportPDFAnchorName, "max", oursHeap, anchorHeap, nil))
	r.Notes = append(r.Notes,
		fmt.Sprintf("The report: %d sections, %d bids, %d table rows in sections 三, 五 and 七 (the anchor's rows), %d warnings listed with their notes; "+
			"the PDF is %.1f MiB in %d pages (the anchor's %d pages), its canonical JSON %.1f MiB.",
			len(rep.Sections), bids, rows, warningsOf(rep), float64(len(stored.PDF))/(1<<20), pages, anchorPages, float64(len(stored.Body))/(1<<20)))
	return emitResult(cmd, r)
}

// warningsOf counts the report's warnings.
func warningsOf(r evaluation.Report) int {
	n := 0
	for _, s := range r.Sections {
		n += len(s.Warnings)
	}
	return n
}

// summarize stores every section's computation as the chair's summary and puts the session
// in signing, as the chairs and the evaluation host would; it returns the actor the report
// is built by. The rules that lead there are the review's tests' business: here only their
// outcome is needed, written straight into the tables.
func (w *scoringWorld) summarize(ctx context.Context) (kaiping.Actor, error) {
	outs, err := w.svc.ComputeSession(ctx, w.session)
	if err != nil {
		return kaiping.Actor{}, err
	}
	var body []byte
	if err := w.db.Pool.QueryRow(ctx, `SELECT body FROM eval_sessions WHERE id = $1`, w.session).Scan(&body); err != nil {
		return kaiping.Actor{}, err
	}
	var sess evaluation.Session
	if err := json.Unmarshal(body, &sess); err != nil {
		return kaiping.Actor{}, err
	}
	chairs := map[string]kaiping.ID{}
	for _, g := range sess.Groups {
		chairs[g.ID] = g.Chair
	}
	at := time.Now().UTC().Truncate(kaiping.RecordPrecision)
	for _, o := range outs {
		if o.Outcome == nil {
			return kaiping.Actor{}, fmt.Errorf("section %s not computed: %s", o.Section, o.Pending)
		}
		var body []byte
		if err := w.db.Pool.QueryRow(ctx, `SELECT body FROM eval_reviews WHERE session_id = $1 AND section_id = $2`, w.session, o.Section).Scan(&body); err != nil {
			return kaiping.Actor{}, err
		}
		var rev evaluation.Review
		if err := json.Unmarshal(body, &rev); err != nil {
			return kaiping.Actor{}, err
		}
		rev.Stage = evaluation.ReviewSummarized
		rev.Summary = &evaluation.ReviewSummary{InputsDigest: o.Outcome.InputsDigest, Result: o.Outcome.Result, Warnings: o.Outcome.Warnings,
			By: chairs[o.Group], At: at}
		if body, err = json.Marshal(rev); err != nil {
			return kaiping.Actor{}, err
		}
		if _, err := w.db.Pool.Exec(ctx, `UPDATE eval_reviews SET body = $3 WHERE session_id = $1 AND section_id = $2`, w.session, o.Section, body); err != nil {
			return kaiping.Actor{}, err
		}
	}
	sess.State = evaluation.SessionSigning
	if body, err = json.Marshal(sess); err != nil {
		return kaiping.Actor{}, err
	}
	if _, err := w.db.Pool.Exec(ctx, `UPDATE eval_sessions SET state = 'signing', body = $2 WHERE id = $1`, w.session, body); err != nil {
		return kaiping.Actor{}, err
	}
	return kaiping.Actor{Principal: kaiping.NewID(), Address: netip.MustParseAddr("127.0.0.1"), At: at}, nil
}

// plainTable sets rows rows of a comparison table's kind in one pdfdoc table and returns the
// page count.
func plainTable(fonts *pdfdoc.Fonts, rows int) (int, error) {
	d := fonts.NewDocument(pdfdoc.Options{Page: pdfdoc.A4Landscape, Title: "评标报告 BENCH-SCORING", Creator: "开评 Kaiping", Footer: "评标报告  BENCH-SCORING"})
	t := d.Table(pdfdoc.Widths(d.ContentWidth(), 40, 0, 100, 100, 70, 70, 70), []string{"排名", "投标人", "投标报价（元）", "评标价（元）", "评审得分", "价格分", "总分"})
	for i := range rows {
		price := fmt.Sprintf("%d.%02d", 800_000+i*37%180_000, i%100)
		t.Row(strconv.Itoa(i%120+1), fmt.Sprintf("投标人%05d", i+1), price, price, fmt.Sprintf("%d.%02d", 40+i%30, i%100),
			fmt.Sprintf("%d.%02d", 20+i%10, i%100), fmt.Sprintf("%d.%02d", 60+i%40, i%100))
	}
	if _, err := d.Bytes(); err != nil {
		return 0, err
	}
	return d.Pages(), nil
}

// peak is one measured run: its wall time and its peak memory, two ways.
type peak struct {
	ms      float64
	rssMiB  float64 // growth of VmHWM over VmRSS at the start
	heapMiB float64 // the Go heap's live and unswept objects, sampled
}

// measurePeak runs f after a collection that returns freed memory to the system, with the
// peak resident set reset to the current one (/proc/self/clear_refs) and the Go heap sampled
// every 2 ms.
func measurePeak(f func() error) (peak, error) {
	runtime.GC()
	debug.FreeOSMemory()
	before := statusKiB("VmRSS:")
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return peak{}, fmt.Errorf("resetting the peak resident set: %w", err)
	}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	heap := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		top := heap()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				done <- max(top, heap())
				return
			case <-tick.C:
				top = max(top, heap())
			}
		}
	}()
	s, err := timeIt(f)
	close(stop)
	top := <-done
	if err != nil {
		return peak{}, err
	}
	return peak{ms: 1000 * s, rssMiB: float64(peakRSSKiB()-before) / 1024, heapMiB: float64(top) / (1 << 20)}, nil
}
