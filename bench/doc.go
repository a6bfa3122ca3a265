// Command bench runs the system scenarios of the IAM service and prints a
// report with exact latency percentiles (and, with -json FILE, the same
// figures as JSON).
//
// Usage, from the module root:
//
//	go run ./bench                         # the foundation set: subtree, mutations, coldstart
//	go run ./bench -quick                  # smaller sizes and shorter runs (a smoke run, ~1 min)
//	go run ./bench -scenario subtree -json out.json
//	go run ./bench -scenario signin        # login-ceiling, login-open, login-storm, refresh, jwks
//	go run ./bench -scenario decisions     # decide-inproc, -http-closed, -http-open, -invalidation, -memory
//	go run ./bench -scenario devices       # device-sync: 1,000 and 10,000 WebSocket devices at one edge
//
// Each scenario is a named entry in the registry in scenario.go; later issues
// add login, verify/check and delta-latency scenarios there. Shared pieces
// live in small files: the latency Recorder (recorder.go, every sample kept,
// nearest-rank percentiles), memory sampling (mem.go: runtime.MemStats and
// /proc/<pid>/status), the PostgreSQL fixture (pgfixture.go: one throwaway
// cluster from the installed binaries with fsync on, one migrated database per
// scenario), the in-process core (corefixture.go) and the report printer
// (report.go).
//
// Everything runs on loopback. Client, core and PostgreSQL share the
// machine's cores, so the figures are end-to-end on one box, not a
// capacity plan; the report says so and prints the machine it ran on.
//
// The program is not run by `go test ./...`; its unit test covers only the
// percentile arithmetic.
package main
