// Package web is the browser side of kaiping: the pages of every role, written in plain HTML,
// CSS and JavaScript modules (no build step), embedded in the binary and served by the API
// server itself, so a page and the API it calls always come from one origin and one version.
//
// Every folder of static/ is served under its name (static/evaluation/host.html at
// /evaluation/host.html), static/index.html at /. A new set of pages is a new folder: it needs
// no route of its own. Pages share static/assets/kaiping.js (login from the link, API calls,
// errors, server time) and static/assets/kaiping.css, and their <head> (head.html): a page is
// an html/template that starts with {{template "head" head "<title>" "<asset>" ...}} and is
// rendered once, when the server first serves a page. README.md says how they work.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"path"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

//go:embed static
var static embed.FS

// headTemplate defines "head", the start of every page up to </head>.
//
//go:embed head.html
var headTemplate string

// ContentSecurityPolicy is sent with every page and asset: scripts, styles and API calls
// from this origin only, no inline script. Frames only from and into this origin: the hall
// pages embed the media room (/room/room.html?embed=1) so that one client of the signaling
// protocol serves every page, and no other site may frame a page (clickjacking). Frames may
// also show blob: URLs: the evaluation session's bid reader fetches a PDF bid with the
// session token (a frame cannot send it) and shows it from an object URL, which only a
// script of this origin can make; it frames PDFs only, never a page. A page that needs more
// must widen it here, for all pages, where it can be reviewed. API calls may also go to
// http://127.0.0.1 on any port: the local signing agent (kaiping agent, package
// clients/agent) listens there, on the user's own computer, and signs the login challenge
// for the page; the port is the user's setting, so it cannot be named here.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self' http://127.0.0.1:*; frame-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"

// file is one embedded file as served.
type file struct {
	body        []byte
	contentType string
	etag        string
}

// contentTypes are the types of the files pages are made of; anything else is not served.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".json": "application/json",
	".csv":  "text/csv; charset=utf-8",
}

// files maps each URL path to its file, read once from the embedded folder.
var files = sync.OnceValue(func() map[string]file {
	out := map[string]file{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return nil
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		if path.Ext(p) == ".html" {
			if body, err = renderPage(p, body); err != nil {
				return err
			}
		}
		sum := sha256.Sum256(body)
		out[strings.TrimPrefix(p, "static")] = file{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		// The folder is compiled in: failing to read it is a build mistake.
		panic("web: embedded pages: " + err.Error())
	}
	return out
})

// Routes returns the public routes serving the pages and their assets: GET / and, for each
// folder of static/, GET /<folder>/*. Pages carry no data; the API calls they make carry the
// session token and are checked there.
func Routes() []httpapi.Route {
	routes := []httpapi.Route{{Method: fiber.MethodGet, Path: "/", Public: true, Handler: serve}}
	entries, err := static.ReadDir("static")
	if err != nil {
		panic("web: embedded pages: " + err.Error())
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if e.Name() == "api" {
			panic("web: a page folder named api would shadow the JSON API")
		}
		routes = append(routes, httpapi.Route{Method: fiber.MethodGet, Path: "/" + e.Name() + "/*", Public: true, Handler: serve})
	}
	return routes
}

// serve answers the embedded file at the request's path ("/" and folders: their index.html).
func serve(c *fiber.Ctx) error {
	p := c.Path()
	if strings.HasSuffix(p, "/") {
		p += "index.html"
	}
	f, ok := files()[p]
	if !ok {
		return kaiping.E(kaiping.KindNotFound, "page.not_found", "页面不存在")
	}
	c.Set(fiber.HeaderContentSecurityPolicy, ContentSecurityPolicy)
	// For browsers that predate frame-ancestors.
	c.Set(fiber.HeaderXFrameOptions, "SAMEORIGIN")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	// Revalidate every time: a page must never run against an API of another version.
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderETag, f.etag)
	if c.Get(fiber.HeaderIfNoneMatch) == f.etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, f.contentType)
	return c.Send(f.body)
}

// LoginLink is the address that opens page (e.g. "evaluation/host.html?draw=…") of the server
// at base already logged in with a session token: the token travels in the fragment, which
// browsers never send to a server or put in a Referer, and kaiping.js moves it into the tab's
// sessionStorage and off the address bar on arrival. Whoever holds the link holds the
// session until it expires, so tools print it only to the person it belongs to.
func LoginLink(base, page, token string) string {
	return strings.TrimRight(base, "/") + "/" + strings.TrimLeft(page, "/") + "#" + url.Values{"token": {token}}.Encode()
}

// pageHead is what a page's <head> holds besides what every page's does.
type pageHead struct {
	Title   string
	Styles  []string // the page's own style sheets, after kaiping.css
	Scripts []string // its module scripts
}

// newHead is the template function "head": a page's title and its assets, each a style
// sheet (.css) or a module script (.js).
func newHead(title string, assets ...string) (pageHead, error) {
	h := pageHead{Title: title}
	for _, a := range assets {
		switch path.Ext(a) {
		case ".css":
			h.Styles = append(h.Styles, a)
		case ".js":
			h.Scripts = append(h.Scripts, a)
		default:
			return h, fmt.Errorf("web: a page's head takes .css and .js assets, not %q", a)
		}
	}
	return h, nil
}

// renderPage runs the page at name, an html/template, with the shared head.
func renderPage(name string, src []byte) ([]byte, error) {
	t, err := template.New("head.html").Funcs(template.FuncMap{"head": newHead}).Parse(headTemplate)
	if err == nil {
		t, err = t.New(name).Parse(string(src))
	}
	var out bytes.Buffer
	if err == nil {
		err = t.Execute(&out, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("web: page %s: %w", name, err)
	}
	return out.Bytes(), nil
}
