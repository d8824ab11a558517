package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browser is a headless Chromium for page tests, with its own profile folder and TMPDIR.
// Each tab has its own sessionStorage, so each tab is one person logged in from a link.
type browser struct {
	ctx context.Context
}

// pageTimeout bounds each wait for something to appear on a page.
const pageTimeout = 20 * time.Second

// mustBrowser starts Chromium with the flags of DESIGN.md ("Chromium"); it stops, and its
// folders are removed, when the test ends. A machine without Chromium fails the test: `make
// test` installs it, so a browser test never skips.
func mustBrowser(tb testing.TB) *browser {
	tb.Helper()
	exe, err := exec.LookPath("chromium")
	if err != nil {
		tb.Fatalf("chromium is required for the page tests (make test installs it): %v", err)
	}
	profile, err := os.MkdirTemp("", "kaiping-chromium-profile-*")
	if err != nil {
		tb.Fatal(err)
	}
	tmp, err := os.MkdirTemp("", "kaiping-chromium-tmp-*")
	if err != nil {
		tb.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.NoFirstRun, chromedp.UserDataDir(profile),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.Env("TMPDIR="+tmp),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	tb.Cleanup(func() {
		cancel()
		cancelAlloc()
		// Chromium's helper processes may still write for a moment after it stops.
		for _, dir := range []string{profile, tmp} {
			if err := removeAllRetry(dir); err != nil {
				tb.Logf("remove %s: %v", dir, err)
			}
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	return &browser{ctx: ctx}
}

// page is one tab of the browser, with the script errors it has seen.
type page struct {
	tb  testing.TB
	ctx context.Context

	mu   sync.Mutex
	errs []string
}

// open opens url in a new tab and waits for the document to load. Uncaught script errors
// and error-level console messages (other than failed HTTP answers, which pages show
// themselves) fail the test when it ends.
func (b *browser) open(tb testing.TB, url string) *page {
	tb.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	p := &page{tb: tb, ctx: ctx}
	chromedp.ListenTarget(ctx, func(ev any) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg := ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
			p.errs = append(p.errs, "exception: "+msg)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.LevelError && ev.Entry.Source != log.SourceNetwork {
				p.errs = append(p.errs, fmt.Sprintf("%s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				p.errs = append(p.errs, "console.error: "+strings.Join(parts, " "))
			}
		}
	})
	tb.Cleanup(func() {
		if errs := p.errors(); len(errs) > 0 {
			tb.Errorf("page %s had script errors:\n%s", url, strings.Join(errs, "\n"))
		}
		cancel()
	})
	// The tab's first Run creates the target and ties its event loop to the context it is
	// given: that must be the tab's own, not one of run's timeouts.
	if err := chromedp.Run(ctx); err != nil {
		tb.Fatalf("open a tab: %v", err)
	}
	p.run(chromedp.Navigate(url), chromedp.WaitReady("body", chromedp.ByQuery))
	return p
}

func (p *page) errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errs...)
}

// run runs actions in the tab, failing the test with the page's script errors.
func (p *page) run(actions ...chromedp.Action) {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, pageTimeout)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		p.tb.Fatalf("browser: %v\nscript errors: %v", err, p.errors())
	}
}

// eval evaluates a JavaScript expression into out.
func (p *page) eval(expr string, out any) {
	p.tb.Helper()
	p.run(chromedp.Evaluate(expr, out))
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// text is the visible text of the first element matching the CSS selector ("" if none).
func (p *page) text(sel string) string {
	p.tb.Helper()
	var s string
	p.eval(`(() => { const e = document.querySelector(`+jsString(sel)+`); return e ? e.innerText : ""; })()`, &s)
	return s
}

// count is the number of elements matching the CSS selector.
func (p *page) count(sel string) int {
	p.tb.Helper()
	var n int
	p.eval(`document.querySelectorAll(`+jsString(sel)+`).length`, &n)
	return n
}

// attrs lists attribute name of every element matching sel.
func (p *page) attrs(sel, name string) []string {
	p.tb.Helper()
	var out []string
	p.eval(`[...document.querySelectorAll(`+jsString(sel)+`)].map(e => e.getAttribute(`+jsString(name)+`) || "")`, &out)
	return out
}

// waitText waits until the element matching sel shows every one of want, and returns its text.
func (p *page) waitText(sel string, want ...string) string {
	p.tb.Helper()
	deadline := time.Now().Add(pageTimeout)
	for {
		got := p.text(sel)
		missing := ""
		for _, w := range want {
			if !strings.Contains(got, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return got
		}
		if time.Now().After(deadline) {
			p.tb.Fatalf("waited %v for %s to show %q; it shows:\n%s\nscript errors: %v", pageTimeout, sel, missing, got, p.errors())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitCount waits until exactly n elements match sel.
func (p *page) waitCount(sel string, n int) {
	p.tb.Helper()
	deadline := time.Now().Add(pageTimeout)
	for {
		got := p.count(sel)
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			p.tb.Fatalf("waited %v for %d × %s; there are %d\nscript errors: %v", pageTimeout, n, sel, got, p.errors())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// set sets the value of the form control matching sel as typing would, firing input and
// change, so pages that listen to either see it.
func (p *page) set(sel, value string) {
	p.tb.Helper()
	var ok bool
	p.eval(`(() => { const e = document.querySelector(`+jsString(sel)+`); if (!e) return false; e.value = `+jsString(value)+`;
		e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); return e.value === `+jsString(value)+`; })()`, &ok)
	if !ok {
		p.tb.Fatalf("cannot set %s to %q (no such control or no such option)", sel, value)
	}
}

// click clicks the element matching sel once it is visible.
func (p *page) click(sel string) {
	p.tb.Helper()
	p.run(chromedp.Click(sel, chromedp.ByQuery))
}

// upload chooses the file at path in the file input matching sel.
func (p *page) upload(sel, path string) {
	p.tb.Helper()
	p.run(chromedp.SetUploadFiles(sel, []string{path}, chromedp.ByQuery))
}

// reload reloads the page, as a person pressing F5.
func (p *page) reload() {
	p.tb.Helper()
	p.run(chromedp.Reload(), chromedp.WaitReady("body", chromedp.ByQuery))
}
