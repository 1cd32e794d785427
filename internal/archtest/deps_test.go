// Package archtest checks the dependency rules of docs/architecture.md
// (the "may import" column of its package table) against the packages'
// real imports.
package archtest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/payhost/payhost/internal/testwasm"
)

const module = "github.com/payhost/payhost"

type pkg struct {
	ImportPath string
	Imports    []string
	Standard   bool
}

func listPackages(t *testing.T) map[string]pkg {
	t.Helper()
	root, err := testwasm.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Standard", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = p
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func rel(path string) string { return strings.TrimPrefix(strings.TrimPrefix(path, module), "/") }

func std(imp string) bool { return !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") }

func under(path, prefix string) bool { return path == prefix || strings.HasPrefix(path, prefix+"/") }

// TestDeps enforces the layering of docs/architecture.md on non-test code.
func TestDeps(t *testing.T) {
	type rule struct {
		name    string
		applies func(p string) bool
		allowed func(imp string) bool
	}
	internal := func(imp string, prefixes ...string) bool {
		r := rel(imp)
		for _, p := range prefixes {
			if under(r, p) {
				return true
			}
		}
		return false
	}
	rules := []rule{
		{"core is stdlib only", func(p string) bool { return under(p, "core") },
			func(imp string) bool { return std(imp) }},
		// a merchant's receiver imports it to verify deliveries: it must
		// not pull in the engine (wazero, the stores) or anything else
		{"webhook is stdlib only", func(p string) bool { return under(p, "webhook") },
			func(imp string) bool { return std(imp) }},
		{"pdk imports core only", func(p string) bool { return under(p, "pdk") && !under(p, "pdk/abi/internal/gen") },
			func(imp string) bool { return std(imp) || internal(imp, "core", "pdk") }},
		{"rules never imports host, pdk or plugins", func(p string) bool { return under(p, "rules") },
			func(imp string) bool { return !internal(imp, "host", "pdk", "plugins") }},
		// the comparison is pure: no plugin, no engine, no database driver
		{"host/reconcile uses core and the store's types only", func(p string) bool { return under(p, "host/reconcile") },
			func(imp string) bool {
				return std(imp) || internal(imp, "core", "host/store") && !internal(imp, "host/store/sqlstore")
			}},
		{"host never imports rules", func(p string) bool { return under(p, "host") },
			func(imp string) bool { return !internal(imp, "rules") }},
		{"plugins use core and pdk only", func(p string) bool {
			return under(p, "plugins") && !strings.Contains(p, "/sim")
		}, func(imp string) bool { return std(imp) || internal(imp, "core", "pdk", "plugins") }},
		// never the code they check (core, pdk, plugins): only the fault
		// switches all simulators share
		{"simulators use stdlib and internal/simfault only", func(p string) bool { return strings.HasPrefix(p, "plugins/") && strings.HasSuffix(p, "/sim") },
			func(imp string) bool { return std(imp) || internal(imp, "internal/simfault") }},
		{"wazero stays in host/plugin and wasmguard", func(p string) bool {
			return !under(p, "host/plugin") && !under(p, "host/internal/wasmguard")
		}, func(imp string) bool { return !strings.HasPrefix(imp, "github.com/tetratelabs/wazero") }},
		{"expr stays in rules", func(p string) bool { return !under(p, "rules") },
			func(imp string) bool { return !strings.HasPrefix(imp, "github.com/expr-lang/expr") }},
	}
	pkgs := listPackages(t)
	checked := 0
	for path, p := range pkgs {
		r := rel(path)
		for _, ru := range rules {
			if !ru.applies(r) {
				continue
			}
			checked++
			for _, imp := range p.Imports {
				if !ru.allowed(imp) {
					t.Errorf("%s: %s imports %s", ru.name, r, imp)
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d package/rule pairs checked: the rules no longer match the layout", checked)
	}
}

// TestCoreAndPDKBuildForWasm: plugins import core and pdk, so both must
// build for wasip1.
func TestCoreAndPDKBuildForWasm(t *testing.T) {
	root, err := testwasm.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "./core/...", "./pdk/...")
	cmd.Dir = root
	cmd.Env = append(cmd.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=wasip1 go build ./core/... ./pdk/...: %v\n%s", err, out)
	}
}
