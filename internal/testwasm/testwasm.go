// Package testwasm builds Go packages into Payhost wasm plugins for tests
// and benchmarks (GOOS=wasip1 GOARCH=wasm -buildmode=c-shared), once per
// process, into a directory shared by the test binaries of one user.
package testwasm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	built = map[string]string{}
)

// RepoRoot finds the module root by walking up to go.mod.
func RepoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("testwasm: no caller information")
	}
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("testwasm: go.mod not found above %s", file)
		}
		dir = parent
	}
}

// Build compiles the package at pkg (a path relative to the repository root,
// e.g. "plugins/haotian/wasm") and returns the .wasm file path.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	path, err := BuildPackage(pkg)
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

// BuildPackage is Build without testing.TB.
func BuildPackage(pkg string) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[pkg]; ok {
		return p, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(root + "|" + pkg))
	dir := filepath.Join(os.TempDir(), "payhost-testwasm-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, strings.ReplaceAll(pkg, "/", "_")+".wasm")
	tmp := fmt.Sprintf("%s.%d.tmp", out, os.Getpid())
	cmd := exec.Command("go", "build", "-trimpath", "-buildmode=c-shared", "-o", tmp, "./"+pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testwasm: build %s: %w\n%s", pkg, err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	built[pkg] = out
	return out, nil
}

// CacheDir is a wazero compilation cache shared by test runs, so each module
// is compiled once per machine rather than once per test binary.
func CacheDir() string {
	return filepath.Join(os.TempDir(), "payhost-test-wazero-cache")
}
