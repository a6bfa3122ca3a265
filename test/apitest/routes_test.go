package apitest_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/melmastoon/iam/test/apitest"
)

// routePattern matches the registrations in core/api/server.go, such as
// s.route("GET /api/v1/tenants", ...) and s.mux.Handle("GET /metrics", ...).
var routePattern = regexp.MustCompile(`s\.(?:route|mux\.Handle)\("([A-Z]+) (/[^"]*)"`)

// TestContractCoversEveryRoute compares the routes registered in
// core/api/server.go with the operations of the contract, both ways.
func TestContractCoversEveryRoute(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "core", "api", "server.go"))
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for _, m := range routePattern.FindAllStringSubmatch(string(src), -1) {
		served = append(served, m[1]+" "+m[2])
	}
	if len(served) < 20 {
		t.Fatalf("found only %d routes in server.go; has the registration style changed?", len(served))
	}
	var documented []string
	for path, item := range apitest.Load(t).Doc().Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is served but not in the contract", r)
		}
	}
	for _, op := range documented {
		if !slices.Contains(served, op) {
			t.Errorf("operation %s is in the contract but not served", op)
		}
	}
}
