// Package relay is core's outbox relay: it turns committed outbox rows into
// signed deltas on the hub's JetStream stream IAM_DELTAS, and publishes the
// signed checkpoints edges use for freshness. docs/deltas.md is the
// contract it implements; syncproto is the wire format (RFC 9052
// COSE_Sign1 with EdDSA over RFC 8949 deterministic CBOR); traceparent
// follows W3C Trace Context.
//
// # Leadership
//
// Exactly one relay is active across core instances. Run opens a dedicated
// connection (Config.DatabaseURL, SET ROLE iam_app) and takes the
// session-level advisory lock LeaderLockKey with pg_try_advisory_lock. The
// relay is leader while that connection lives; losing it loses leadership,
// and Run retries every Config.RetryInterval. The same connection LISTENs on
// NotifyChannel, which a statement trigger on outbox notifies at commit; the
// relay also polls every Config.PollInterval.
//
// # Order and exactly once
//
// Rows are taken below the snapshot horizon in (txid, id) order
// (iam_relay_pending), so a slow transaction that commits after a younger
// one is never skipped. Each delta is published with the stream's expected
// last sequence, so a second relay with a stale view cannot fork the
// stream; then one transaction marks the batch's outbox rows published
// (tenant seq, chain hash, stream sequence) and advances every touched
// tenant chain (delta_chains). A crash between publish and mark is healed
// at the next leadership start (or after any error) by reconciliation:
// the stream after the last recorded stream sequence is read back, every
// message is verified against the tenant chain, and a message carrying a
// pending outbox event id (or a tenant's seq-1 key rotation) is recorded
// as published without publishing it again. A message that matches nothing
// is logged at ERROR, counted in relay_unknown_stream_messages_total and
// skipped.
//
// # Keys
//
// The system delta root (delta_system_key) and every tenant's delta root
// and delta-signing key (delta_keys) are Ed25519 keys whose private halves
// are sealed with the KEK (keys.KeyEncrypter) under associated data naming
// the key. They are created lazily under advisory locks, so SystemAnchor,
// TenantAnchorCertificate and the relay itself may race on any core
// instance and still agree.
//
// # Poison rows
//
// A row whose data cannot be turned into a delta (a JSON number that is
// not an integer, nesting deeper than an envelope allows, a type the
// envelope rules reject) is NOT skipped, since skipping would lose a delta:
// the relay logs it at ERROR, counts a retry and tries again with back-off,
// and the stream stalls until an operator fixes the row. outbox_pending and
// the publish lag make that visible.
package relay
