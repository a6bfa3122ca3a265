package client

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDirectImports fails if the package starts depending, even
// transitively, on the module's internals, the decision engine, SQLite or
// NATS: services outside the module link it, over plain HTTP.
func TestDirectImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list unavailable: %v", err)
	}
	forbidden := []string{"github.com/melmastoon/iam/internal", "github.com/melmastoon/iam/core",
		"github.com/melmastoon/iam/edge/decide", "github.com/melmastoon/iam/edge/replica", "github.com/melmastoon/iam/edge/edgeapi",
		"github.com/mattn/go-sqlite3", "github.com/nats-io", "go.opentelemetry.io/otel/sdk"}
	for _, imp := range strings.Fields(string(out)) {
		for _, bad := range forbidden {
			if strings.HasPrefix(imp, bad) {
				t.Errorf("edge/client imports %s", imp)
			}
		}
	}
}
