package pdfsign

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
)

// The small part of PDF's object syntax (ISO 32000-1, 7.3) an incremental signature needs:
// dictionaries, arrays, names, numbers, strings and references, read from the file's bytes
// and written back. Streams are never read: a signature touches only the catalog, a page,
// the form and its own objects.

// name is a PDF name, without its slash.
type name string

// number is a PDF number as written, so a copied dictionary keeps 841.89 as it was.
type number string

// keyword is true, false or null.
type keyword string

// str is a PDF string (literal or hex), with where its token starts and ends in the file:
// a signature's /Contents hole is exactly that span.
type str struct {
	b          []byte
	start, end int
}

// ref is an indirect reference "num gen R".
type ref struct{ num, gen int }

// array is a PDF array.
type array []any

// dict is a PDF dictionary, its keys in the order read so a copy reads like the original.
type dict struct {
	keys []name
	m    map[name]any
}

func newDict() *dict { return &dict{m: map[name]any{}} }

func (d *dict) get(k name) any { return d.m[k] }

func (d *dict) set(k name, v any) {
	if _, ok := d.m[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.m[k] = v
}

// lexer reads tokens from a PDF's bytes.
type lexer struct {
	b   []byte
	pos int
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	return bytes.IndexByte([]byte("()<>[]{}/%"), c) >= 0
}

func (l *lexer) skip() {
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		switch {
		case isSpace(c):
			l.pos++
		case c == '%':
			for l.pos < len(l.b) && l.b[l.pos] != '\n' && l.b[l.pos] != '\r' {
				l.pos++
			}
		default:
			return
		}
	}
}

// word reads a regular token (number, keyword, operator) at pos.
func (l *lexer) word() string {
	l.skip()
	start := l.pos
	for l.pos < len(l.b) && !isSpace(l.b[l.pos]) && !isDelim(l.b[l.pos]) {
		l.pos++
	}
	return string(l.b[start:l.pos])
}

// maxDepth bounds nesting, so a hostile file cannot exhaust the stack.
const maxDepth = 64

// value reads one direct object, or a reference.
func (l *lexer) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("objects nested deeper than %d at byte %d", maxDepth, l.pos)
	}
	l.skip()
	if l.pos >= len(l.b) {
		return nil, fmt.Errorf("unexpected end of file")
	}
	switch c := l.b[l.pos]; {
	case c == '/':
		l.pos++
		start := l.pos
		for l.pos < len(l.b) && !isSpace(l.b[l.pos]) && !isDelim(l.b[l.pos]) {
			l.pos++
		}
		return name(l.b[start:l.pos]), nil
	case c == '<' && l.pos+1 < len(l.b) && l.b[l.pos+1] == '<':
		l.pos += 2
		d := newDict()
		for {
			l.skip()
			if l.pos+1 < len(l.b) && l.b[l.pos] == '>' && l.b[l.pos+1] == '>' {
				l.pos += 2
				return d, nil
			}
			k, err := l.value(depth + 1)
			if err != nil {
				return nil, err
			}
			key, ok := k.(name)
			if !ok {
				return nil, fmt.Errorf("dictionary key %v is not a name at byte %d", k, l.pos)
			}
			v, err := l.value(depth + 1)
			if err != nil {
				return nil, err
			}
			d.set(key, v)
		}
	case c == '<':
		start := l.pos
		end := bytes.IndexByte(l.b[l.pos:], '>')
		if end < 0 {
			return nil, fmt.Errorf("unterminated hex string at byte %d", start)
		}
		l.pos += end + 1
		h := make([]byte, 0, end)
		for _, c := range l.b[start+1 : l.pos-1] {
			if !isSpace(c) {
				h = append(h, c)
			}
		}
		if len(h)%2 == 1 {
			h = append(h, '0')
		}
		b, err := hex.DecodeString(string(h))
		if err != nil {
			return nil, fmt.Errorf("bad hex string at byte %d", start)
		}
		return str{b: b, start: start, end: l.pos}, nil
	case c == '(':
		return l.literal()
	case c == '[':
		l.pos++
		var a array
		for {
			l.skip()
			if l.pos < len(l.b) && l.b[l.pos] == ']' {
				l.pos++
				return a, nil
			}
			v, err := l.value(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
	}
	start := l.pos
	w := l.word()
	switch w {
	case "true", "false", "null":
		return keyword(w), nil
	case "":
		return nil, fmt.Errorf("unexpected %q at byte %d", l.b[start], start)
	}
	if _, err := strconv.ParseFloat(w, 64); err != nil {
		return nil, fmt.Errorf("unexpected %q at byte %d", w, start)
	}
	// An integer may be the start of "num gen R".
	if num, err := strconv.Atoi(w); err == nil && num >= 0 {
		save := l.pos
		if gen, err := strconv.Atoi(l.word()); err == nil && gen >= 0 && l.word() == "R" {
			return ref{num, gen}, nil
		}
		l.pos = save
	}
	return number(w), nil
}

// literal reads a (string) with its escapes and balanced parentheses.
func (l *lexer) literal() (any, error) {
	start := l.pos
	l.pos++
	var out []byte
	depth := 1
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		l.pos++
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return str{b: out, start: start, end: l.pos}, nil
			}
		case '\\':
			if l.pos >= len(l.b) {
				continue
			}
			e := l.b[l.pos]
			l.pos++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if l.pos < len(l.b) && l.b[l.pos] == '\n' {
					l.pos++
				}
				continue
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for i := 0; i < 2 && l.pos < len(l.b) && l.b[l.pos] >= '0' && l.b[l.pos] <= '7'; i++ {
						v = v*8 + int(l.b[l.pos]-'0')
						l.pos++
					}
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		out = append(out, c)
	}
	return nil, fmt.Errorf("unterminated string at byte %d", start)
}

// write appends v in PDF syntax. Strings are written in hex: exact, whatever bytes they hold.
func write(buf *bytes.Buffer, v any) {
	switch v := v.(type) {
	case name:
		buf.WriteByte('/')
		buf.WriteString(string(v))
	case number:
		buf.WriteString(string(v))
	case keyword:
		buf.WriteString(string(v))
	case str:
		buf.WriteByte('<')
		buf.WriteString(hex.EncodeToString(v.b))
		buf.WriteByte('>')
	case ref:
		fmt.Fprintf(buf, "%d %d R", v.num, v.gen)
	case array:
		buf.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				buf.WriteByte(' ')
			}
			write(buf, e)
		}
		buf.WriteByte(']')
	case *dict:
		buf.WriteString("<<")
		for _, k := range v.keys {
			buf.WriteString(" /")
			buf.WriteString(string(k))
			buf.WriteByte(' ')
			write(buf, v.m[k])
		}
		buf.WriteString(" >>")
	default:
		buf.WriteString("null")
	}
}
