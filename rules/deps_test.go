package rules

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allowedImports are the non-standard packages rules may use: core and
// the libraries it is built on. Never host, pdk or plugins.
var allowedImports = []string{
	"github.com/payhost/payhost/core",
	"github.com/expr-lang/expr",
	"github.com/knadh/koanf/",
	"github.com/go-viper/mapstructure/v2", // koanf's strict decoder configuration
	"go.yaml.in/yaml/v3",
	"github.com/fsnotify/fsnotify",
}

func sourceFiles(t *testing.T) []*ast.File {
	t.Helper()
	names, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	var files []*ast.File
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		files = append(files, f)
	}
	require.NotEmpty(t, files)
	return files
}

func TestImports(t *testing.T) {
	for _, f := range sourceFiles(t) {
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if !strings.Contains(strings.Split(p, "/")[0], ".") {
				continue // standard library
			}
			ok := false
			for _, a := range allowedImports {
				if p == a || strings.HasPrefix(p, strings.TrimSuffix(a, "/")+"/") || strings.HasPrefix(p, a) {
					ok = true
				}
			}
			assert.True(t, ok, "%s imports %s", f.Name.Name, p)
		}
	}
}

// TestNoLibraryTypesExported checks that no exported declaration mentions
// a type of a third-party package (expr, koanf, yaml, fsnotify, ...).
func TestNoLibraryTypesExported(t *testing.T) {
	for _, f := range sourceFiles(t) {
		thirdParty := map[string]bool{}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if !strings.Contains(strings.Split(p, "/")[0], ".") || p == "github.com/payhost/payhost/core" {
				continue
			}
			name := p[strings.LastIndex(p, "/")+1:]
			if name == "v2" || name == "v3" {
				parts := strings.Split(p, "/")
				name = parts[len(parts)-2]
			}
			if im.Name != nil {
				name = im.Name.Name
			}
			thirdParty[strings.TrimSuffix(name, ".v3")] = true
		}
		check := func(what string, n ast.Node) {
			if n == nil {
				return
			}
			ast.Inspect(n, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && thirdParty[id.Name] {
						t.Errorf("%s exposes %s.%s", what, id.Name, sel.Sel.Name)
					}
				}
				return true
			})
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				if d.Recv != nil {
					recv := d.Recv.List[0].Type
					if st, ok := recv.(*ast.StarExpr); ok {
						recv = st.X
					}
					if id, ok := recv.(*ast.Ident); ok && !id.IsExported() {
						continue
					}
				}
				check("func "+d.Name.Name, d.Type)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						if st, ok := s.Type.(*ast.StructType); ok {
							for _, fld := range st.Fields.List {
								for _, n := range fld.Names {
									if n.IsExported() {
										check("field "+s.Name.Name+"."+n.Name, fld.Type)
									}
								}
							}
							continue
						}
						check("type "+s.Name.Name, s.Type)
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								check("var "+n.Name, s.Type)
								for _, v := range s.Values {
									check("var "+n.Name, v)
								}
							}
						}
					}
				}
			}
		}
	}
}
