// Package decisions tests the edge's decision API against a real core: a
// PostgreSQL-backed core with its embedded NATS hub and an edge in the
// same process, its HTTP API called over loopback and every request and
// response validated against openapi/iam-edge.yaml. The cross-process
// faults (killing core) are in test/e2e.
package decisions
