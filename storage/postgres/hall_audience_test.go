package postgres

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kaiping/kaiping/opening"
)

// TestHallChangesDecideAudience reads this package's source: every opening.Change it writes
// names its kind and its audience as constants, and the audience is the one
// opening.HallEventAudiences decided for the kind. opening.Change.Check refuses the others
// when they are written; this finds them also on a path no test runs.
func TestHallChangesDecideAudience(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	audiences := map[string]opening.Audience{
		"AudienceAll": opening.AudienceAll, "AudienceOverseers": opening.AudienceOverseers, "AudienceBidder": opening.AudienceBidder,
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
			lit, ok := n.(*ast.CompositeLit)
			if !ok || !isSelector(lit.Type, "opening", "Change") {
				return true
			}
			found++
			at := fset.Position(lit.Pos())
			var kind string
			var audience opening.Audience
			for _, el := range lit.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					t.Errorf("%s: an opening.Change without field names", at)
					continue
				}
				switch key := kv.Key.(*ast.Ident).Name; key {
				case "Type":
					if s, ok := kv.Value.(*ast.BasicLit); ok {
						kind, _ = strconv.Unquote(s.Value)
					}
				case "Audience":
					if sel, ok := kv.Value.(*ast.SelectorExpr); ok && isSelector(sel, "opening", sel.Sel.Name) {
						audience = audiences[sel.Sel.Name]
					}
				}
			}
			switch want, known := opening.HallEventAudiences[kind]; {
			case kind == "":
				t.Errorf("%s: an opening.Change whose Type is not a constant string", at)
			case audience == "":
				t.Errorf("%s: %s written without an audience (opening.AudienceAll, AudienceOverseers or AudienceBidder)", at, kind)
			case !known:
				t.Errorf("%s: %s is not in opening.HallEventAudiences", at, kind)
			case audience != want:
				t.Errorf("%s: %s written for %s, opening.HallEventAudiences says %s", at, kind, audience, want)
			}
			return true
		})
	}
	if found < len(opening.HallEventAudiences) {
		t.Errorf("found %d opening.Change literals, fewer than the %d kinds of event", found, len(opening.HallEventAudiences))
	}
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg && sel.Sel.Name == name
}
