// Package replica is the edge's SQLite replica of core's tenant state: it
// verifies the signed deltas of the IAM_DELTAS stream (package syncproto)
// and applies them, strictly in order, each in one SQLite transaction
// together with the tenant's verifier state and the stream cursor.
//
// It follows the contract in docs/deltas.md: an edge pins only the system
// delta root (Config.SystemAnchor); the first message of a tenant it has
// never seen must carry the tenant's anchor certificate (header
// Iam-Anchor), which vouches for the tenant root; the tenant root
// introduces delta-signing keys by key-rotation deltas; every other delta
// is signed by a delta-signing key. The payload table of docs/deltas.md says
// what each delta type writes; tombstones (tenant.deleted, account.erased,
// role.deleted, role_binding.deleted) remove rows.
//
// # Guarantees
//
//   - A delta either commits completely, with its verifier state and the
//     stream cursor, or not at all: readers on other connections (WAL) never
//     see half a delta.
//   - A rejected message changes nothing: no row, no verifier state, no
//     cursor. The caller decides whether to re-fetch (ErrGap) or to Skip it.
//   - A stream sequence at or below the cursor is ignored (Result.Duplicate).
//   - Snapshots (LoadSnapshot) are verified chunk by chunk against the tenant
//     root and bulk-loaded in one transaction with the indexes built after
//     the load.
//
// The replica imports neither core nor pgx nor nats-server (a test enforces
// it): it is embeddable in services that only need the authorization state.
//
// The schema is migrations/sqlite (forward-only, applied by pressly/goose at
// Open). The digest format of Digest is specified in docs/deltas.md under
// "Replica digest".
package replica
