package problem

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var codePattern = regexp.MustCompile(`MELMASTOON\.IAM\.[A-Z_]+\.[A-Z_]+`)

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// The registry and docs/error-codes.md list the same codes.
func TestRegistryMatchesDocs(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(moduleRoot(t), "docs", "error-codes.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, c := range codePattern.FindAllString(string(doc), -1) {
		documented[c] = true
	}
	for _, c := range Codes() {
		if !documented[string(c)] {
			t.Errorf("code %s is registered but not documented in docs/error-codes.md", c)
		}
		delete(documented, string(c))
	}
	for c := range documented {
		t.Errorf("code %s is documented but not registered", c)
	}
}

// Every code literal anywhere in the Go source is registered.
func TestSourceUsesOnlyRegisteredCodes(t *testing.T) {
	root := moduleRoot(t)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, c := range codePattern.FindAllString(string(src), -1) {
			if _, ok := Lookup(Code(c)); !ok {
				t.Errorf("%s uses unregistered code %s", path, c)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestEveryCodeHasStatusAndTitle(t *testing.T) {
	for _, c := range Codes() {
		s, _ := Lookup(c)
		if s.Status < 400 || s.Status > 599 || s.Title == "" {
			t.Errorf("%s: status %d title %q", c, s.Status, s.Title)
		}
	}
}
