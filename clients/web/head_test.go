package web

import (
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"
)

// sharedHead is the start of every page as served: the one head, with only the title and
// the page's own style sheets and module scripts varying.
var sharedHead = regexp.MustCompile(`^<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>[^<>\n]+</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg\+xml">
<link rel="stylesheet" href="/assets/kaiping.css">
(?:<link rel="stylesheet" href="/[a-z/]+\.css">
)*(?:<script type="module" src="/[a-z/]+\.js"></script>
)*</head>
<body>
`)

// ownHead is a head, or the start of a document, written into a page.
var ownHead = regexp.MustCompile(`(?i)<head[\s>]|<!doctype|<meta\s|<title[\s>]`)

// TestPagesShareHead: every page's source starts with the shared head template and writes
// no head of its own, and every page is served starting with the shared head.
func TestPagesShareHead(t *testing.T) {
	served := files()
	n := 0
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".html" {
			return err
		}
		n++
		src, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		first, rest, _ := strings.Cut(string(src), "\n")
		if !strings.HasPrefix(first, `{{template "head" head "`) || !strings.HasSuffix(first, `}}`) {
			t.Errorf("%s starts with %q, not the shared head", p, first)
		}
		if ownHead.MatchString(rest) {
			t.Errorf("%s writes a head of its own", p)
		}
		f, ok := served[strings.TrimPrefix(p, "static")]
		if !ok {
			t.Errorf("%s is not served", p)
		} else if !sharedHead.Match(f.body) {
			t.Errorf("%s is served with another head:\n%.600s", p, f.body)
		}
		return nil
	})
	if err != nil || n < 8 {
		t.Fatalf("%d pages read, %v", n, err)
	}
}

// TestHeadTemplate: the head renders a page's title and assets in order, escaped, and
// refuses an asset it cannot place.
func TestHeadTemplate(t *testing.T) {
	got, err := renderPage("p.html", []byte(`{{template "head" head "甲 & 乙 · 开评" "/p/a.css" "/p/b.js" "/p/c.js"}}`+"\n<body>\n</body>\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>甲 &amp; 乙 · 开评</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/kaiping.css">
<link rel="stylesheet" href="/p/a.css">
<script type="module" src="/p/b.js"></script>
<script type="module" src="/p/c.js"></script>
</head>
<body>
</body>
`
	if string(got) != want {
		t.Errorf("rendered\n%s\nwant\n%s", got, want)
	}
	if _, err := renderPage("p.html", []byte(`{{template "head" head "t" "/p/logo.png"}}`)); err == nil || !strings.Contains(err.Error(), "logo.png") {
		t.Errorf("an asset that is neither .css nor .js: %v", err)
	}
}
