// Package syncproto implements the wire format that carries signed state
// changes from core to edges and devices: the delta envelope, its
// checkpoint, key-rotation and snapshot payloads, their deterministic CBOR
// encoding, their COSE_Sign1 signatures and the rules a verifier applies
// before anything is written to a replica.
//
// # Standards
//
//   - RFC 9052 (CBOR Object Signing and Encryption): every message is a tagged
//     COSE_Sign1 (CBOR tag 18) with an attached payload.
//   - RFC 8949 §4.2.1 (core deterministic encoding): payloads and protected
//     headers must already be in core deterministic form; anything else is
//     rejected, so one logical message has exactly one byte string and the
//     chain hash over those bytes is well defined.
//   - RFC 8032 and RFC 8037 (EdDSA with Ed25519): the only algorithm. The
//     algorithm is fixed per key by this package and never taken from a
//     message; a message whose protected alg is not EdDSA is rejected.
//
// # Message layout
//
// A message is COSE_Sign1 = 18([protected, unprotected, payload, signature]).
// The protected header holds exactly: alg (1) = EdDSA (-8), content type (3),
// kid (4, a byte string) and the protocol version (label
// HeaderLabelProtocolVersion, a private-use label). It may carry crit (2)
// listing only labels this package understands; any other critical label is
// rejected with ErrCriticalHeader. The unprotected header must be the empty
// map: nothing is ever read from it. The content type selects the payload
// schema (ContentTypeDelta for Envelope, ContentTypeSnapshot for Snapshot),
// which prevents one payload from being verified as the other.
//
// The chain hash of a message is SHA-256 over the exact COSE bytes
// (ChainHash). Each delta's Envelope.Prev holds the chain hash of the delta
// before it; the first delta (Seq 1) carries 32 zero bytes.
//
// # Key trust model
//
// Each tenant has a root key, pinned out of band as a TrustAnchor (at edge
// provisioning or device enrollment). Day-to-day deltas are signed by
// delta-signing keys. A delta-signing key becomes valid only through a
// KeyRotation delta (type TypeKeyRotation) that the root key signs; that
// delta sits in the hash chain like any other, so every verifier learns a
// new key, in order, before core signs anything with it, and a retirement
// travels as fast as an introduction. A rotation signed by anything other
// than the root is rejected with ErrUnauthorizedKey. Kids are never reused:
// a retired kid stays unknown forever. The root may sign any message.
// Snapshot chunks must be signed by the root, because a bootstrapping
// verifier knows only the anchor; the first chunk lists the delta-signing
// keys that are valid at the snapshot's sequence.
// There are no separate key certificates: the signed, chained rotation
// delta is the certificate, and the Keyring is the verifier's view of it.
//
// # Verification
//
// Verifier.Verify checks one message against a tenant stream without
// changing anything; Verifier.Accept commits it after the caller has
// applied the delta (for example in the same SQLite transaction as its
// cursor, computed with Verifier.StateAfter). Each rejection wraps one
// sentinel error from errors.go; Reason maps it to a metric label.
// Verification never reads the wall clock: callers pass now.
//
// # Protocol versions
//
// ProtocolVersion travels in every protected header. History:
//
//   - 2026-11-22: v1. Envelope keys 1..11, Checkpoint, KeyRotation, Snapshot
//     as defined in this package.
//
// Integer map keys are never renumbered or reused. A v1 decoder rejects
// unknown fields (strict round trip), so a new optional field is rolled out
// readers first: verifiers that know it, then producers that emit it.
// A change that old verifiers must not misread bumps ProtocolVersion.
package syncproto

// ProtocolVersion is the version of the wire format this package produces
// and the only one it accepts.
const ProtocolVersion = 1
