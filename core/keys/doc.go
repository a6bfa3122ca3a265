// Package keys owns the key material of sign-in and the tokens made with
// it, as pure functions and values with no storage and no network I/O:
//
//   - KeyEncrypter: envelope encryption of private keys at rest (DESIGN.md
//     invariant 4). LocalKEK implements it with AES-256-GCM (NIST SP
//     800-38D) under a 32-byte key-encryption key from configuration; a
//     cloud KMS can implement the same interface. Ciphertexts carry a
//     version byte and are bound to associated data (tenant id + key id) so
//     a ciphertext copied to another row does not decrypt.
//   - SigningKey: Ed25519 (RFC 8032) signing keys whose KID is the RFC 7638
//     JWK thumbprint, rendered in a JWKS as OKP keys (RFC 8037).
//   - KeySet and Rotate: which key signs now and which keys are published,
//     following the rule from DESIGN.md "key rotation rejections at the
//     edge": a new key is published (state Next) for RotationPolicy.PublishLead
//     before it signs anything, and a retired signer stays published until
//     every token it signed has expired (retire time + MaxTokenTTL + skew).
//   - Issuer and Verifier: EdDSA access tokens as JWTs (RFC 7519, header typ
//     "at+jwt" per RFC 9068) built with golang-jwt/jwt/v5. The Verifier caps
//     the token size before parsing (MaxTokenBytes), accepts only alg EdDSA,
//     and reports a distinct sentinel per rejection reason (see Reason) so
//     the edge can count reasons in a metric while answering one opaque
//     error outward.
//   - Refresh tokens: opaque 256-bit random strings (base64url), stored only
//     as their SHA-256 (HashRefreshToken) and compared in constant time.
//     A fast hash suffices because the token has 256 bits of entropy; the
//     refresh-race grace window (DESIGN.md lessons) is the caller's job.
//
// Everything that depends on time takes the time or a clock (func()
// time.Time) from the caller; nothing reads a package-level clock.
package keys
