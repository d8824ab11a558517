package evaluation

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEverySessionEventHasAnAudience reads every "session.*" and "inquiry.*" action this
// package declares and checks it has its audience: the store refuses to write an event
// without one, so a kind added without deciding who sees it would fail at its first use, in
// production.
func TestEverySessionEventHasAnAudience(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			v, err := strconv.Unquote(lit.Value)
			if err != nil || !strings.HasPrefix(v, "session.") && !strings.HasPrefix(v, "inquiry.") || strings.ContainsAny(v, " %") {
				return true
			}
			if _, ok := SessionAudiences[v]; !ok && isAction(f, lit) {
				t.Errorf("%s: the event kind %q has no audience in SessionAudiences", fset.Position(lit.Pos()), v)
			}
			found++
			return true
		})
	}
	if found < len(SessionAudiences) {
		t.Errorf("found %d session kinds in the source, fewer than the %d audiences", found, len(SessionAudiences))
	}
}

// isAction reports whether lit is the value of a constant named Action…: error codes such as
// "session.state" are strings of the same shape.
func isAction(f *ast.File, lit *ast.BasicLit) bool {
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, v := range vs.Values {
				if v == lit && strings.HasPrefix(vs.Names[i].Name, "Action") {
					return true
				}
			}
		}
	}
	return false
}
