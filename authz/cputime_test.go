package authz

import (
	"syscall"
	"testing"
	"time"
)

// cpuMeter reports the process CPU time per operation as "cpu-ns/op". On a
// shared machine wall-clock ns/op includes time the process was waiting
// for a core; CPU time does not (it still includes GC work, and single-
// threaded benchmarks then count the GC's parallel workers too).
type cpuMeter struct{ start time.Duration }

func startCPU() cpuMeter { return cpuMeter{start: processCPU()} }

func (m cpuMeter) report(b *testing.B, ops int) {
	if ops > 0 {
		b.ReportMetric(float64(processCPU()-m.start)/float64(ops), "cpu-ns/op")
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
