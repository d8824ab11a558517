package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping/httpapi"
)

// mustServer mounts Routes the way the app does, behind the real error handler.
func mustServer(tb testing.TB) *fiber.App {
	tb.Helper()
	f := fiber.New(fiber.Config{ErrorHandler: httpapi.ErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil))),
		DisableStartupMessage: true})
	var reg httpapi.Registry
	reg.Mount(f, nil, Routes()...)
	for _, r := range reg.Routes {
		if !r.Public {
			tb.Fatalf("route %s %s is not public: pages carry no data and need no session", r.Method, r.Path)
		}
	}
	return f
}

func get(tb testing.TB, f *fiber.App, path string, header ...string) (*http.Response, string) {
	tb.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := f.Test(req, -1)
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func TestPagesServed(t *testing.T) {
	f := mustServer(t)
	tests := []struct {
		path, contentType, contains string
	}{
		{"/", "text/html; charset=utf-8", "远程异地评标"},
		{"/assets/kaiping.js", "text/javascript; charset=utf-8", "export async function api"},
		{"/assets/kaiping.css", "text/css; charset=utf-8", "svg.map"},
		{"/assets/inbox.js", "text/javascript; charset=utf-8", "/api/v1/inbox"},
		{"/evaluation/host.html", "text/html; charset=utf-8", "专家抽取与工位调度"},
		{"/evaluation/admin.html", "text/html; charset=utf-8", "导入专家"},
		{"/evaluation/venue.html", "text/html; charset=utf-8", "当日工位"},
		{"/evaluation/expert.html", "text/html; charset=utf-8", "我的抽取通知"},
		{"/evaluation/host.js", "text/javascript; charset=utf-8", "/api/v1/draws"},
		{"/session/", "text/html; charset=utf-8", "评标工位"},
		{"/session/console/", "text/html; charset=utf-8", "评标会议主持台"},
		{"/session/review/", "text/html; charset=utf-8", "评审与打分"},
		{"/session/venue/", "text/html; charset=utf-8", "现场核验"},
		{"/session/watch/", "text/html; charset=utf-8", "评标会议监督"},
		{"/inquiry/bidder.html", "text/html; charset=utf-8", "评标委员会的澄清与修正请求"},
		{"/inquiry/committee.html", "text/html; charset=utf-8", "书面澄清、算术修正与低于成本说明"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, f, tt.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if got := resp.Header.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
				t.Errorf("Content-Security-Policy %q", got)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" ||
				resp.Header.Get("X-Frame-Options") != "SAMEORIGIN" {
				t.Errorf("headers %v", resp.Header)
			}
			if !strings.Contains(body, tt.contains) {
				t.Errorf("body lacks %q", tt.contains)
			}
		})
	}
}

// TestCSPAllowsOnlySelf reads the policy directive by directive: nothing but 'self' (or
// 'none') may appear, so no inline script and no other origin can slip in.
func TestCSPAllowsOnlySelf(t *testing.T) {
	for _, d := range strings.Split(ContentSecurityPolicy, ";") {
		fields := strings.Fields(d)
		if len(fields) < 2 {
			t.Fatalf("directive %q has no source", d)
		}
		for _, src := range fields[1:] {
			// The bid reader frames a PDF from an object URL (blob:), made by this origin only.
			if fields[0] == "frame-src" && src == "blob:" {
				continue
			}
			// The local signing agent, on the user's own loopback only.
			if fields[0] == "connect-src" && src == "http://127.0.0.1:*" {
				continue
			}
			if src != "'self'" && src != "'none'" {
				t.Errorf("directive %q allows %s", fields[0], src)
			}
		}
	}
}

// TestCSPFraming: the hall pages embed the media room, so frames from this origin are
// allowed, and only from it; every other directive stays as strict as before.
func TestCSPFraming(t *testing.T) {
	directives := map[string]string{}
	for _, d := range strings.Split(ContentSecurityPolicy, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	for name, want := range map[string]string{
		"frame-ancestors": "'self'", "frame-src": "'self' blob:", "default-src": "'self'", "script-src": "'self'",
		"object-src": "'none'", "base-uri": "'none'", "connect-src": "'self' http://127.0.0.1:*",
	} {
		if got := directives[name]; got != want {
			t.Errorf("%s %q, want %q", name, got, want)
		}
	}
}

func TestPagesRefused(t *testing.T) {
	f := mustServer(t)
	for _, path := range []string{"/evaluation/nothing.html", "/assets/../web.go", "/evaluation/%2e%2e/web.go", "/static/index.html", "/assets/"} {
		resp, body := get(t, f, path)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "not_found") {
			t.Errorf("%s: %d %s, want 404", path, resp.StatusCode, body)
		}
	}
}

func TestPagesRevalidate(t *testing.T) {
	f := mustServer(t)
	resp, _ := get(t, f, "/evaluation/host.html")
	etag := resp.Header.Get("ETag")
	if etag == "" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, resp.Header.Get("Cache-Control"))
	}
	if resp, _ := get(t, f, "/evaluation/host.html", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation with the current ETag: %d, want 304", resp.StatusCode)
	}
	if resp, _ := get(t, f, "/evaluation/host.html", "If-None-Match", `"stale"`); resp.StatusCode != http.StatusOK {
		t.Errorf("revalidation with a stale ETag: %d, want 200", resp.StatusCode)
	}
}

// TestReferencesResolve checks that every script, style sheet, import and link a page names
// on this origin is served: a typo would otherwise show only in a browser.
func TestReferencesResolve(t *testing.T) {
	f := mustServer(t)
	ref := regexp.MustCompile(`(?:src|href)="(/[^"#?]*)|from '(/[^']+|\./[^']+)'`)
	for p, file := range files() {
		for _, m := range ref.FindAllStringSubmatch(string(file.body), -1) {
			target := m[1] + m[2]
			if strings.HasPrefix(target, "./") {
				target = p[:strings.LastIndex(p, "/")+1] + target[2:]
			}
			if resp, _ := get(t, f, target); resp.StatusCode != http.StatusOK {
				t.Errorf("%s refers to %s: %d", p, target, resp.StatusCode)
			}
		}
	}
}

// TestNoInlineScript: the policy forbids inline scripts and handlers; a page that had one
// would silently do nothing.
func TestNoInlineScript(t *testing.T) {
	inline := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]|\son[a-z]+="|style="|innerHTML`)
	for p, file := range files() {
		if m := inline.FindString(string(file.body)); m != "" && !strings.HasSuffix(p, ".css") {
			t.Errorf("%s has %q", p, m)
		}
	}
}

func TestLoginLink(t *testing.T) {
	tests := []struct{ base, page, token, want string }{
		{"http://127.0.0.1:8080", "evaluation/host.html", "s1.abc.def", "http://127.0.0.1:8080/evaluation/host.html#token=s1.abc.def"},
		{"http://127.0.0.1:8080/", "/evaluation/host.html?draw=X", "s1.a-b_c.d", "http://127.0.0.1:8080/evaluation/host.html?draw=X#token=s1.a-b_c.d"},
		{"https://ggzy.example.gov.cn", "", "a+b/c=", "https://ggzy.example.gov.cn/#token=a%2Bb%2Fc%3D"},
	}
	for _, tt := range tests {
		got := LoginLink(tt.base, tt.page, tt.token)
		if got != tt.want {
			t.Errorf("LoginLink(%q, %q, %q) = %q, want %q", tt.base, tt.page, tt.token, got, tt.want)
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatal(err)
		}
		frag, _ := url.ParseQuery(u.EscapedFragment())
		if frag.Get("token") != tt.token {
			t.Errorf("%s: the fragment gives back token %q, want %q", got, frag.Get("token"), tt.token)
		}
	}
}
