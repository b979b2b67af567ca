package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// bilingual are the functions whose first two arguments are a message in
// Chinese and in English: this package's and the project's wrappers.
var bilingual = map[string]bool{"T": true, "Tf": true, "Errorf": true, "usagef": true, "fileErrorf": true, "failT": true}

// TestMessagesHaveBothLanguages reads every Go file of the module and
// checks each bilingual message written as literals: both halves present,
// the Chinese one in Chinese, the two different.
func TestMessagesHaveBothLanguages(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			name := ""
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				name = fn.Name
			case *ast.SelectorExpr:
				if x, ok := fn.X.(*ast.Ident); ok && x.Name == "i18n" {
					name = fn.Sel.Name
				}
			}
			if !bilingual[name] {
				return true
			}
			zh, okZH := literal(call.Args[0])
			en, okEN := literal(call.Args[1])
			if !okZH || !okEN {
				return true // built from values (a command table): checked where they are written
			}
			checked++
			where := fset.Position(call.Pos())
			switch {
			case strings.TrimSpace(zh) == "" || strings.TrimSpace(en) == "":
				t.Errorf("%s: a message lacks a language: %q / %q", where, zh, en)
			case zh == en && onlyVerbs(zh):
				// a value shown as it is in both ("%t")
			case !chinese(zh):
				t.Errorf("%s: the Chinese half is not Chinese: %q", where, zh)
			case zh == en:
				t.Errorf("%s: both halves are the same: %q", where, zh)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Errorf("only %d bilingual messages found: the walk missed the code", checked)
	}
}

func literal(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// chinese reports Chinese text: Han characters, or Chinese punctuation
// (full-width "：", "、", "；" around values).
func chinese(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) || (r >= 0x3000 && r <= 0x303F) || (r >= 0xFF00 && r <= 0xFFEF) {
			return true
		}
	}
	return false
}

// onlyVerbs reports a format made of verbs alone, such as "%t".
func onlyVerbs(s string) bool {
	return strings.Trim(s, "%tTvsdq ") == ""
}
