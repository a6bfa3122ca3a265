// Package devsync is the edge side of device sync: the WebSocket server of
// GET /api/v1/sync (RFC 6455, github.com/coder/websocket) that speaks the
// protocol of syncproto/devproto to enrolled devices.
//
// A connection must offer the subprotocol devproto.Subprotocol. The edge
// sends Hello (a fresh 32-byte nonce and its time) and waits at most
// Config.HandshakeTimeout for Auth. It then checks, from the replica only:
// the tenant has a published CA (edge/replica TenantCA), the certificate
// chain verifies against it (devcert.TrustBundle.VerifyDevice with
// Config.ClockSkew), the certificate's URI names the tenant and device of
// Auth, the signature over devcert.HandshakeMessage verifies with the
// leaf's key, and the device exists and is active. Every refusal closes the
// socket with its own devproto close code (see refusals.go); the precise
// reason goes to the log and edge_device_handshakes_total{result}.
//
// After Ready the edge sends the tenant's key rotation deltas (root-signed,
// so a device learns delta keys introduced after its enrollment) and the
// device's signed deltas newer than its cursor, exactly as core signed
// them. When the replica lacks them (it bootstrapped from a snapshot, or the
// device is more than replica.DeviceDeltasKept versions behind) it asks core
// for a signed Device snapshot (devproto.SnapshotSubject); when core is
// unreachable it sends nothing more and the device keeps its state. Only
// the Device entity ever crosses this channel: device.* deltas of the
// connected device, its Device snapshot and its tenant's key rotations.
//
// Afterwards every newly applied delta of the device (Server.Apply, the
// replica's OnApplied hook) is pushed to each of its connections; a
// revocation is pushed and the connection closed with CloseRevoked. Each
// connection has a bounded send buffer (Config.SendBuffer frames): a device
// that does not keep up is disconnected with CloseSlowConsumer, and Apply
// never waits for a device. The edge pings every Config.PingInterval and
// drops a connection whose pong does not come within Config.PingTimeout,
// and closes one whose certificate expires (CloseCertExpired) unless it
// renewed over the connection.
//
// RenewRequest and TokenRequest are forwarded to core over NATS
// request/reply (devproto.RenewSubject, devproto.TokenSubject) with the
// tenant and device of the authenticated connection; core checks the
// device's signature itself. When core does not answer in time the device
// gets the error devproto.ErrCodeUnavailable.
//
// Signatures, nonces and tokens are never logged.
package devsync
