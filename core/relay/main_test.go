package relay_test

import (
	"testing"

	"github.com/melmastoon/iam/test/pgtest"
)

// Goroutine leaks are checked per test (see newEnv), because pgtest.Main
// owns the process exit.
func TestMain(m *testing.M) { pgtest.Main(m) }
