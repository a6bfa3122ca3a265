package device

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection fails if device starts depending on core, edge,
// PostgreSQL or the NATS server (it may use syncproto and its
// subpackages, SQLite and the WebSocket client only).
func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", ".").Output()
	if err != nil {
		t.Fatalf("go list unavailable: %v", err)
	}
	forbidden := []string{
		"github.com/melmastoon/iam/core", "github.com/melmastoon/iam/edge", "github.com/melmastoon/iam/internal",
		"github.com/jackc/pgx", "github.com/nats-io/nats-server", "github.com/nats-io/nats.go",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range forbidden {
			if strings.HasPrefix(dep, bad) {
				t.Errorf("device depends on %s", dep)
			}
		}
	}
}
