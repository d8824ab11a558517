package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"sort"
	"strconv"
	"strings"
)

// A mutant is one small change to one file: the edits that turn the original source into
// the mutated one, and the names a person reads it by.
type mutant struct {
	File    string // path relative to the module root, slash-separated
	Line    int
	Func    string // the enclosing function or method (Type.Method), or the declared names
	Op      string // what changed, e.g. "|| → &&"
	Snippet string // the original source of the changed node, on one line
	Ordinal int    // 1 for the first mutant with this File, Func, Op and Snippet, 2 for the next
	edits   []edit
}

// ID names the mutant independently of line numbers, so the list of equivalent mutants
// survives edits elsewhere in the file.
func (m mutant) ID() string {
	id := fmt.Sprintf("%s %s: `%s` %s", m.File, m.Func, m.Snippet, m.Op)
	if m.Ordinal > 1 {
		id += fmt.Sprintf(" #%d", m.Ordinal)
	}
	return id
}

// An edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// apply returns src with the mutant's edits made.
func (m mutant) apply(src []byte) []byte {
	edits := append([]edit(nil), m.edits...)
	sort.Slice(edits, func(i, j int) bool { return edits[i].start > edits[j].start })
	out := append([]byte(nil), src...)
	for _, e := range edits {
		out = append(out[:e.start], append([]byte(e.text), out[e.end:]...)...)
	}
	return out
}

// swaps are the operator replacements: relational boundaries and inversions, boolean
// connectives, arithmetic and bitwise counterparts.
var swaps = map[token.Token]token.Token{
	token.LSS: token.LEQ, token.LEQ: token.LSS, token.GTR: token.GEQ, token.GEQ: token.GTR,
	token.EQL: token.NEQ, token.NEQ: token.EQL,
	token.LAND: token.LOR, token.LOR: token.LAND,
	token.ADD: token.SUB, token.SUB: token.ADD, token.MUL: token.QUO, token.QUO: token.MUL,
	token.REM: token.MUL, token.AND: token.OR, token.OR: token.AND, token.XOR: token.OR,
	token.SHL: token.SHR, token.SHR: token.SHL,
}

// mutants lists every mutant of one file's source, in source order. file is the name the
// mutants carry.
func mutants(file string, src []byte) ([]mutant, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	g := generator{fset: fset, src: src, file: file}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Body != nil {
				g.walk(funcName(d), d.Body)
			}
		case *ast.GenDecl:
			if d.Tok == token.IMPORT {
				continue
			}
			for _, s := range d.Specs {
				if v, ok := s.(*ast.ValueSpec); ok {
					var names []string
					for _, n := range v.Names {
						names = append(names, n.Name)
					}
					for _, e := range v.Values {
						g.walk(strings.Join(names, ","), e)
					}
				}
			}
		}
	}
	seen := map[string]int{}
	for i := range g.out {
		m := &g.out[i]
		seen[m.ID()]++
		m.Ordinal = seen[m.ID()]
	}
	return g.out, nil
}

func funcName(d *ast.FuncDecl) string {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return d.Name.Name
	}
	t := d.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
			continue
		case *ast.IndexExpr:
			t = x.X
			continue
		case *ast.IndexListExpr:
			t = x.X
			continue
		}
		break
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + d.Name.Name
	}
	return d.Name.Name
}

type generator struct {
	fset *token.FileSet
	src  []byte
	file string
	out  []mutant
}

func (g *generator) off(p token.Pos) int { return g.fset.Position(p).Offset }

// text is the node's source on one line, shortened to keep IDs readable. A long binary
// expression keeps the ends next to its operator, which tell its mutants apart.
func (g *generator) text(n ast.Node) string {
	s := g.line(n.Pos(), n.End())
	if b, ok := n.(*ast.BinaryExpr); ok && len([]rune(s)) > 60 {
		x, y := []rune(g.line(b.X.Pos(), b.X.End())), []rune(g.line(b.Y.Pos(), b.Y.End()))
		if len(x) > 28 {
			x = append([]rune("..."), x[len(x)-25:]...)
		}
		if len(y) > 28 {
			y = append(y[:25:25], []rune("...")...)
		}
		return string(x) + " " + b.Op.String() + " " + string(y)
	}
	if r := []rune(s); len(r) > 60 {
		s = string(r[:57]) + "..."
	}
	return s
}

func (g *generator) line(from, to token.Pos) string {
	return strings.Join(strings.Fields(string(g.src[g.off(from):g.off(to)])), " ")
}

func (g *generator) add(fn string, at ast.Node, op string, edits ...edit) {
	g.out = append(g.out, mutant{File: g.file, Line: g.fset.Position(at.Pos()).Line, Func: fn,
		Op: op, Snippet: g.text(at), edits: edits})
}

// walk adds the mutants of every node under root. Array lengths are left alone: changing
// one changes a type, which rarely compiles and never tests anything.
func (g *generator) walk(fn string, root ast.Node) {
	ast.Inspect(root, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ArrayType:
			if n.Len != nil {
				g.walk(fn, n.Elt)
				return false
			}
		case *ast.FuncLit:
			g.walk(fn, n.Body)
			return false
		case *ast.BinaryExpr:
			g.binary(fn, n)
		case *ast.UnaryExpr:
			if n.Op == token.NOT {
				p := g.off(n.OpPos)
				g.add(fn, n, "! removed", edit{p, p + 1, ""})
			}
		case *ast.BasicLit:
			g.literal(fn, n)
		case *ast.Ident:
			if n.Name == "true" || n.Name == "false" {
				to := map[string]string{"true": "false", "false": "true"}[n.Name]
				g.add(fn, n, n.Name+" → "+to, edit{g.off(n.Pos()), g.off(n.End()), to})
			}
		case *ast.IfStmt:
			c := n.Cond
			if u, ok := c.(*ast.UnaryExpr); !ok || u.Op != token.NOT { // else "! removed" negates it
				g.add(fn, c, "condition negated", edit{g.off(c.Pos()), g.off(c.Pos()), "!("}, edit{g.off(c.End()), g.off(c.End()), ")"})
			}
			if len(n.Body.List) > 0 {
				g.add(fn, c, "if body removed", edit{g.off(n.Body.Lbrace) + 1, g.off(n.Body.Rbrace), ""})
			}
		case *ast.CaseClause:
			if len(n.Body) > 0 && len(n.List) > 0 {
				at := n.List[0]
				g.add(fn, at, "case body removed", edit{g.off(n.Colon) + 1, g.off(n.Body[len(n.Body)-1].End()), ""})
			}
		case *ast.ExprStmt:
			if _, ok := n.X.(*ast.CallExpr); ok {
				g.add(fn, n, "call removed", edit{g.off(n.Pos()), g.off(n.End()), ""})
			}
		}
		return true
	})
}

func (g *generator) binary(fn string, n *ast.BinaryExpr) {
	to, ok := swaps[n.Op]
	if !ok {
		return
	}
	if n.Op == token.ADD && (isString(n.X) || isString(n.Y)) {
		return // string concatenation has no counterpart
	}
	p := g.off(n.OpPos)
	g.add(fn, n, n.Op.String()+" → "+to.String(), edit{p, p + len(n.Op.String()), to.String()})
}

func isString(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return e.Kind == token.STRING
	case *ast.BinaryExpr:
		return isString(e.X) || isString(e.Y)
	case *ast.ParenExpr:
		return isString(e.X)
	}
	return false
}

// literal adds value+1 and, unless the value is 0 (where -1 is usually a type error), value-1.
func (g *generator) literal(fn string, n *ast.BasicLit) {
	if n.Kind != token.INT {
		return
	}
	v, err := strconv.ParseInt(n.Value, 0, 64)
	if err != nil {
		return
	}
	s, e := g.off(n.Pos()), g.off(n.End())
	g.add(fn, n, fmt.Sprintf("%s → %d", n.Value, v+1), edit{s, e, strconv.FormatInt(v+1, 10)})
	if v > 0 {
		g.add(fn, n, fmt.Sprintf("%s → %d", n.Value, v-1), edit{s, e, strconv.FormatInt(v-1, 10)})
	}
}
