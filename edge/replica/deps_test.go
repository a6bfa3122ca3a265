package replica

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection fails if the replica starts depending on core,
// pgx or the NATS server: it is embeddable in services.
func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list unavailable: %v", err)
	}
	forbidden := []string{"github.com/melmastoon/iam/core", "github.com/jackc/pgx", "github.com/nats-io/nats-server"}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range forbidden {
			if strings.HasPrefix(dep, bad) {
				t.Errorf("edge/replica depends on %s", dep)
			}
		}
	}
}
