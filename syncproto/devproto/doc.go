// Package devproto is the device sync protocol: the frames a device and
// an edge exchange over the WebSocket of GET /api/v1/sync, their close
// codes, and the NATS request/reply messages an edge forwards to core for
// a device (renewal, access token, Device snapshot). docs/devices.md is
// the prose version; this package is the one definition.
//
// Frames are binary WebSocket messages, each one deterministic CBOR map
// (Message, integer keys) of at most MaxFrameBytes, decoded strictly:
// unknown keys, duplicate keys, indefinite lengths and trailing bytes are
// refused (Decode). Signed deltas travel inside frames exactly as core
// signed them (Message.Delta holds the COSE_Sign1 bytes); the device
// verifies each against the tenant keys it pinned at enrollment
// (syncproto.VerifyStandalone), so an edge cannot forge what a device
// believes.
//
// Handshake: the edge sends Hello (a fresh nonce and its time); the device
// answers Auth (tenant, device id, certificate chain, a signature over
// devcert.HandshakeMessage(tenant, device, nonce) and its cursor: the
// version of its Device entity); the edge verifies the chain against the
// tenant's replicated CA, the validity window (with clock skew), the
// signature and that the device is active, then sends Ready and every
// signed delta of the device newer than the cursor — or, when it no
// longer holds them, a signed Device snapshot from core. Any refusal
// closes the socket with its own close code.
package devproto
