package seat

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TestVP8DecodesInChromium hands synthetic frames to Chromium's WebCodecs VP8 decoder: the
// real check that the bitstream is valid, since no decoder exists in Go here.
func TestVP8DecodesInChromium(t *testing.T) {
	ctx := mustChromium(t)
	var frames []string
	for i := 0; i < 5; i++ {
		frames = append(frames, base64.StdEncoding.EncodeToString(vp8Frame(320, 240, 100+i*500)))
	}
	js := fmt.Sprintf(`new Promise((resolve) => {
		const out = []; let err = null;
		const d = new VideoDecoder({output: f => { out.push(f.codedWidth+"x"+f.codedHeight); f.close(); }, error: e => { err = String(e); }});
		d.configure({codec: "vp8"});
		const frames = %q.split(",");
		frames.forEach((b, i) => {
			const bin = Uint8Array.from(atob(b), c => c.charCodeAt(0));
			d.decode(new EncodedVideoChunk({type: "key", timestamp: i*33000, data: bin}));
		});
		d.flush().then(() => resolve(JSON.stringify({out, err})), e => resolve(JSON.stringify({out, err: String(e)})));
	})`, strings.Join(frames, ","))
	var got struct {
		Out []string `json:"out"`
		Err *string  `json:"err"`
	}
	evalJSON(t, ctx, js, &got)
	if got.Err != nil || len(got.Out) != len(frames) {
		t.Fatalf("Chromium decoded %v of %d frames, error %v", got.Out, len(frames), got.Err)
	}
	for _, size := range got.Out {
		if size != "320x240" {
			t.Errorf("decoded frame is %s, want 320x240", size)
		}
	}
}

// mustChromium starts headless Chromium on a page from 127.0.0.1 (WebCodecs needs a secure
// context, which loopback is) and stops it when the test ends.
func mustChromium(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Fatalf("chromium is required: %v", err)
	}
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<!doctype html><title>codecs</title>"))
	}))
	t.Cleanup(page.Close)
	// Not t.TempDir: Chromium's helper processes may still write to the profile when the
	// test ends, so the removal is retried (DESIGN.md, Chromium).
	profile, err := os.MkdirTemp("", "kaiping-chromium-*")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath("/usr/bin/chromium"), chromedp.NoSandbox, chromedp.UserDataDir(profile),
		chromedp.Flag("disable-gpu", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		for i := 0; i < 50 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err := chromedp.Run(ctx, chromedp.Navigate(page.URL)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// evalJSON evaluates a script that resolves to JSON and decodes it into v.
func evalJSON(t *testing.T, ctx context.Context, js string, v any) {
	t.Helper()
	var res string
	if err := chromedp.Run(ctx, chromedp.Evaluate(js, &res, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	})); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(res), v); err != nil {
		t.Fatalf("result %q: %v", res, err)
	}
}

// TestOpusSilenceDecodesInChromium hands the synthetic Opus packet to Chromium's WebCodecs
// Opus decoder.
func TestOpusSilenceDecodesInChromium(t *testing.T) {
	ctx := mustChromium(t)
	js := fmt.Sprintf(`new Promise((resolve) => {
		const out = []; let err = null;
		const d = new AudioDecoder({output: a => { out.push(a.numberOfFrames); a.close(); }, error: e => { err = String(e); }});
		d.configure({codec: "opus", sampleRate: 48000, numberOfChannels: 1});
		const bin = Uint8Array.from(atob(%q), c => c.charCodeAt(0));
		for (let i = 0; i < 3; i++) d.decode(new EncodedAudioChunk({type: "key", timestamp: i*20000, data: bin}));
		d.flush().then(() => resolve(JSON.stringify({out, err})), e => resolve(JSON.stringify({out, err: String(e)})));
	})`, base64.StdEncoding.EncodeToString(opusSilence))
	var got struct {
		Out []int   `json:"out"`
		Err *string `json:"err"`
	}
	evalJSON(t, ctx, js, &got)
	if got.Err != nil || len(got.Out) != 3 {
		t.Fatalf("Chromium decoded %v of 3 packets, error %v", got.Out, got.Err)
	}
	for _, n := range got.Out {
		if n != 960 { // 20 ms at 48 kHz
			t.Errorf("decoded %d samples, want 960", n)
		}
	}
}
