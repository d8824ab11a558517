package pdfsign

import (
	"bytes"
	"fmt"
	"strconv"
)

// file is a PDF's bytes with its cross-reference table: where each object of the newest
// revision starts. Only classic xref tables are read (what gopdf and this package write),
// not the compressed xref streams of PDF 1.5, which are refused as malformed.
type file struct {
	b       []byte
	offsets map[int]int // object number → offset, newest revision first
	trailer *dict       // the newest trailer
	xref    int         // offset of the newest xref table, the next update's /Prev
	size    int         // the trailer's /Size: the next free object number
}

// maxRevisions bounds the /Prev chain a file may have, so a loop in it ends.
const maxRevisions = 1000

func parseFile(b []byte) (*file, error) {
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		return nil, fmt.Errorf("no %%PDF- header")
	}
	i := bytes.LastIndex(b, []byte("startxref"))
	if i < 0 {
		return nil, fmt.Errorf("no startxref")
	}
	l := &lexer{b: b, pos: i + len("startxref")}
	xref, err := strconv.Atoi(l.word())
	if err != nil {
		return nil, fmt.Errorf("startxref is not a number")
	}
	f := &file{b: b, offsets: map[int]int{}, xref: xref}
	seen := map[int]bool{}
	for at := xref; ; {
		if seen[at] || len(seen) >= maxRevisions {
			return nil, fmt.Errorf("the xref chain loops at byte %d", at)
		}
		seen[at] = true
		trailer, err := f.readXref(at)
		if err != nil {
			return nil, err
		}
		if f.trailer == nil {
			f.trailer = trailer
		}
		prev, ok := trailer.get("Prev").(number)
		if !ok {
			break
		}
		if at, err = strconv.Atoi(string(prev)); err != nil {
			return nil, fmt.Errorf("bad /Prev %q", prev)
		}
	}
	size, ok := f.trailer.get("Size").(number)
	if !ok {
		return nil, fmt.Errorf("the trailer has no /Size")
	}
	if f.size, err = strconv.Atoi(string(size)); err != nil || f.size <= 0 {
		return nil, fmt.Errorf("bad /Size %q", size)
	}
	if _, ok := f.trailer.get("Root").(ref); !ok {
		return nil, fmt.Errorf("the trailer has no /Root")
	}
	return f, nil
}

// readXref reads the xref table at offset at, keeping the entries no newer table set, and
// returns its trailer.
func (f *file) readXref(at int) (*dict, error) {
	if at < 0 || at >= len(f.b) {
		return nil, fmt.Errorf("xref offset %d outside the file", at)
	}
	l := &lexer{b: f.b, pos: at}
	if w := l.word(); w != "xref" {
		return nil, fmt.Errorf("no xref table at byte %d (a compressed xref stream is not supported)", at)
	}
	for {
		save := l.pos
		w := l.word()
		if w == "trailer" {
			break
		}
		first, err1 := strconv.Atoi(w)
		count, err2 := strconv.Atoi(l.word())
		if err1 != nil || err2 != nil || first < 0 || count < 0 || count > len(f.b)/20 {
			return nil, fmt.Errorf("bad xref subsection at byte %d", save)
		}
		for n := first; n < first+count; n++ {
			off, err1 := strconv.Atoi(l.word())
			_, err2 := strconv.Atoi(l.word())
			kind := l.word()
			if err1 != nil || err2 != nil || (kind != "n" && kind != "f") {
				return nil, fmt.Errorf("bad xref entry for object %d", n)
			}
			if _, newer := f.offsets[n]; newer {
				continue
			}
			if kind == "f" {
				f.offsets[n] = -1
			} else {
				f.offsets[n] = off
			}
		}
	}
	t, err := l.value(0)
	if err != nil {
		return nil, fmt.Errorf("trailer: %w", err)
	}
	d, ok := t.(*dict)
	if !ok {
		return nil, fmt.Errorf("the trailer is not a dictionary")
	}
	return d, nil
}

// object reads the object r of the newest revision.
func (f *file) object(r ref) (any, error) {
	off, ok := f.offsets[r.num]
	if !ok || off < 0 || off >= len(f.b) {
		return nil, fmt.Errorf("object %d is not in the xref table", r.num)
	}
	l := &lexer{b: f.b, pos: off}
	num, err1 := strconv.Atoi(l.word())
	gen, err2 := strconv.Atoi(l.word())
	if err1 != nil || err2 != nil || num != r.num || gen != r.gen || l.word() != "obj" {
		return nil, fmt.Errorf("object %d %d is not at byte %d", r.num, r.gen, off)
	}
	return l.value(0)
}

// resolve follows v if it is a reference.
func (f *file) resolve(v any) (any, error) {
	if r, ok := v.(ref); ok {
		return f.object(r)
	}
	return v, nil
}

// dictAt reads the dictionary v is or refers to.
func (f *file) dictAt(v any, what string) (*dict, error) {
	o, err := f.resolve(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	d, ok := o.(*dict)
	if !ok {
		return nil, fmt.Errorf("%s is not a dictionary", what)
	}
	return d, nil
}

// arrayAt reads the array v is or refers to; nil (no array) for nothing.
func (f *file) arrayAt(v any, what string) (array, error) {
	if v == nil {
		return nil, nil
	}
	o, err := f.resolve(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	a, ok := o.(array)
	if !ok {
		return nil, fmt.Errorf("%s is not an array", what)
	}
	return a, nil
}

// page finds the n-th page (from 1) in the page tree: its reference and dictionary.
func (f *file) page(root *dict, n int) (ref, *dict, error) {
	pagesRef, ok := root.get("Pages").(ref)
	if !ok {
		return ref{}, nil, fmt.Errorf("the catalog has no /Pages")
	}
	count := 0
	seen := map[int]bool{}
	var walk func(r ref, depth int) (ref, *dict, error)
	walk = func(r ref, depth int) (ref, *dict, error) {
		if depth > maxDepth || seen[r.num] {
			return ref{}, nil, fmt.Errorf("the page tree loops or is deeper than %d", maxDepth)
		}
		seen[r.num] = true
		d, err := f.dictAt(r, "a page tree node")
		if err != nil {
			return ref{}, nil, err
		}
		if d.get("Type") == name("Page") {
			count++
			if count == n {
				return r, d, nil
			}
			return ref{}, nil, nil
		}
		kids, err := f.arrayAt(d.get("Kids"), "/Kids")
		if err != nil {
			return ref{}, nil, err
		}
		for _, k := range kids {
			kr, ok := k.(ref)
			if !ok {
				return ref{}, nil, fmt.Errorf("a /Kids entry is not a reference")
			}
			if pr, pd, err := walk(kr, depth+1); err != nil || pd != nil {
				return pr, pd, err
			}
		}
		return ref{}, nil, nil
	}
	r, d, err := walk(pagesRef, 0)
	if err == nil && d == nil {
		err = errPageMissing{n: n, pages: count}
	}
	return r, d, err
}

// errPageMissing is a page number beyond the document's pages.
type errPageMissing struct{ n, pages int }

func (e errPageMissing) Error() string {
	return fmt.Sprintf("page %d asked, the document has %d", e.n, e.pages)
}
