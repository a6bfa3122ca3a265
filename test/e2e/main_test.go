package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/melmastoon/iam/test/pgtest"
)

// iamBinary is the binary under test, built by TestMain.
var iamBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "iam-e2e-bin-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	iamBinary = filepath.Join(dir, "iam")
	build := exec.Command("go", "build", "-race", "-o", iamBinary, "github.com/melmastoon/iam/cmd/iam")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build iam:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	pgtest.Main(m) // runs the tests, stops the shared PostgreSQL, exits
}
