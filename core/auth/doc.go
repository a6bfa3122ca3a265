// Package auth signs accounts in at core: passwords (Argon2id via
// core/password, hashed under admission control so memory stays bounded),
// TOTP second factor with one-time recovery codes (core/totp), EdDSA access
// tokens (RFC 7519/8037, core/keys) and rotating opaque refresh tokens
// (RFC 6749 §6, refresh-token families with reuse detection and a short
// grace window), per-tenant OIDC discovery and JWKS, and token-signing key
// rotation with private halves sealed by a key-encryption key.
//
// Password hashing never runs inside a database transaction: credentials
// are read in one short transaction, verified outside it, and the outcome
// (failure counter, lock, session) is written in a second one together with
// its audit row. Unknown users, wrong passwords, locked and disabled
// accounts all answer the same error after the same work (no enumeration);
// the precise reason goes to the audit row, the log and a metric.
package auth
