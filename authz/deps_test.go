package authz

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// allowedImports is everything the non-test code may import: the engine
// does no I/O, so no os, net, database, log or time.
var allowedImports = map[string]bool{
	"cmp": true, "errors": true, "fmt": true, "hash/maphash": true, "maps": true,
	"math/bits": true, "slices": true, "sync": true, "sync/atomic": true,
}

func TestNoIOImports(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range entries {
		name := ent.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !allowedImports[path] {
				t.Errorf("%s imports %q, which authz must not use", name, path)
			}
		}
	}
}
