// Package decide is the decision layer of the edge: it verifies access
// tokens and answers permission checks from the local replica
// (edge/replica), without calling core.
//
// A Decider loads the replica's read-only database once (New) into an
// authz.Engine, a set of revoked sessions and an index of every tenant's
// JWT public keys, and then follows the replica incrementally: Apply maps
// the changes of each committed delta (replica.Applied) onto those
// structures and is meant to be the edge's replica.Config.OnApplied. A
// snapshot (Applied.Snapshot) reloads that tenant from the database.
//
// # Tokens
//
// VerifyToken caps the token size, reads the unverified tid claim only to
// pick the tenant's key set and issuer ({base}/t/{slug}), verifies the
// token with core/keys.Verifier (EdDSA only; keys in state next, active or
// retiring; issuer; audience; exp/nbf/iat with ClockSkew), and then
// refuses a revoked session, an unknown, locked or disabled account and an
// unknown or deleted tenant. Every refusal wraps one sentinel of
// errors.go; Reason maps it to a stable metric label.
//
// Verified tokens are cached by the SHA-256 of the token in a bounded,
// sharded LRU: a hit costs a hash and a map lookup and never re-verifies
// the signature. Entries expire with the token's exp and are dropped when
// their session is revoked, their account is locked, disabled or erased,
// or their tenant's keys, slug, status or existence change. A per-shard
// index by session and by account makes those drops proportional to the
// tokens concerned. An epoch counter closes the race between a verify in
// flight and a concurrent revocation: a verify that started before an
// invalidation never caches its result.
//
// # Consistency
//
// Apply runs on the replica's writer goroutine after each commit, so the
// database it may read (on a snapshot or on a batch authz refuses) is
// exactly the state that was committed. Reads (VerifyToken, Check,
// CheckToken, Explain) are safe for concurrent use with Apply and with each
// other; Check is lock-free (authz snapshots).
//
// Known limits: revoked-session ids of an erased account are kept in
// memory until the tenant is reloaded (harmless: the account is gone);
// bindings of a deleted role or erased account stay inert in authz (core
// never reuses ids, see authz's referential rules) until the tenant is
// reloaded.
package decide
