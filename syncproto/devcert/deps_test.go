package devcert

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStandardLibraryOnly fails if devcert, its tests included, depends on
// anything outside the standard library: the device library and the wire
// format import it, and they must not depend on core or edge.
func TestStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list unavailable: %v", err)
	}
	const self = "github.com/melmastoon/iam/syncproto/devcert"
	for _, dep := range strings.Split(string(out), "\n") {
		switch strings.TrimSpace(dep) {
		case "", self, self + ".test", self + " [" + self + ".test]":
		default:
			t.Errorf("devcert depends on %s", dep)
		}
	}
}
