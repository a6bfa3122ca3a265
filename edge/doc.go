// Package edge is the regional node: an embedded NATS leaf node connected
// to core's hub (edge/leaf), a durable JetStream consumer of the signed delta
// stream, and the SQLite replica the deltas are verified and applied into
// (edge/replica). It reports its position to core over NATS
// (iam.edge.status.<name>) and serves /healthz, /readyz and /metrics.
//
// The edge never writes to core's database and keeps serving from its
// replica while the hub is unreachable; it resumes from its cursor when the
// link returns (the durable consumer and the replica cursor survive
// restarts).
package edge
