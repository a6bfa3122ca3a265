// Package device is the device client of the IAM system: it enrolls a
// device at core, keeps its key, certificate chain, trust anchors and
// Device entity in a local SQLite file, and keeps that entity in sync with
// an edge over the device sync protocol (syncproto/devproto), renewing its
// certificate and obtaining access tokens over the same channel.
//
// # Enrollment
//
// Enroll signs the account in at core (REST), asks for a single-use nonce,
// generates an Ed25519 key (crypto/rand, RFC 8032; never a key that
// devcert.IsWeakPublicKey flags), proves possession of it by signing
// devcert.EnrollmentMessage, and receives the device certificate chain
// (X.509, RFC 5280 / RFC 8410), the tenant's CA trust bundle, and the
// tenant's delta trust anchor and delta-signing keys. It verifies the
// chain against the bundle (and that it names the returned device and the
// generated key) before anything is written, then stores everything in
// StateDir/device.db (directory 0700, file 0600).
//
// # Sync
//
// Client.Sync dials GET /api/v1/sync at an edge (WebSocket, RFC 6455,
// subprotocol devproto.Subprotocol), proves possession of its key
// (devcert.HandshakeMessage) and sends its cursor: the version of the
// Device entity it holds. Every Delta frame is verified with
// syncproto.VerifyStandalone against the keyring pinned at enrollment
// (COSE_Sign1, RFC 9052, EdDSA); new delta keys are learned only from
// root-signed key rotations. A device delta is applied only when it names
// this device and tenant and carries a higher version than the cursor: an
// equal version is a duplicate (ignored), a lower one a rollback
// (rejected). Applying persists the entity, the cursor and the newest
// core-signed time in one SQLite transaction, then calls the OnChange
// callbacks. Anything rejected leaves the state unchanged; an edge can
// withhold updates but cannot forge or roll them back.
//
// Sync reconnects with exponential back-off and jitter (BackoffMin …
// BackoffMax) on network errors and retryable close codes. It stops only
// on facts: ErrRevoked when it holds a signed Device delta or snapshot
// with status revoked (an edge pushes it before closing with 4006), and
// ErrCertificateExpired when its own check at the trusted time finds the
// certificate expired (re-enroll). Close codes and response errors are
// not signed, so an edge cannot brick a device with them: a 4006 without
// a signed revocation, or a 4004 the device's clock does not confirm, is
// logged, counted (Stats.Hints) and retried like any other refusal (Once
// returns it as ErrRefused); a "revoked" or "expired" answer to a request
// is never persisted.
//
// # Renewal, tokens and time
//
// Past two thirds of its certificate's validity (plus up to
// DefaultRenewJitter of it) a syncing client asks for a new certificate
// (RenewRequest); when core is unreachable it keeps the current one and
// retries every RenewRetry; when core answers "too_early" it keeps it and
// asks again at the next check. A renewed chain is installed only when it
// verifies and expires later than the current certificate (no rollback).
// Client.Token obtains an access token of the device's account over the
// same channel, without the password: each request carries a fresh
// ephemeral X25519 key in its signed nonce, core seals the token to it
// (devproto.SealToken) and only the device can open it, so the edge that
// relays it never sees the token.
//
// The device never trusts its own clock alone: its expiry and renewal
// decisions use max(local clock, newest core-signed time seen), the
// latter taken from verified delta envelopes and from the NotBefore of
// certificates issued to it, with a clock skew tolerance (default
// DefaultClockSkew). The edge's times (Hello, Ready) are not signed and
// are ignored.
//
// # Limits
//
// The private key is stored unencrypted in device.db, protected by file
// permissions only; a platform keystore is the application's job. The
// anchor certificate returned at enrollment is stored but not verified
// (the device does not pin the system root): the anchor is trusted
// because it came from core over TLS with the user's credentials.
package device
