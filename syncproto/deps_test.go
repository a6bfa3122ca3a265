package syncproto

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection fails if syncproto starts depending on core,
// edge, a database driver or the NATS server.
func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list unavailable: %v", err)
	}
	forbidden := []string{
		"github.com/melmastoon/iam/core", "github.com/melmastoon/iam/edge",
		"github.com/jackc/pgx", "github.com/nats-io/nats-server", "github.com/mattn/go-sqlite3",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range forbidden {
			if strings.HasPrefix(dep, bad) {
				t.Errorf("syncproto depends on %s", dep)
			}
		}
	}
}
