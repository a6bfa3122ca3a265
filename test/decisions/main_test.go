package decisions_test

import (
	"testing"

	"github.com/melmastoon/iam/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
