package devproto

import "github.com/coder/websocket"

// Close codes of a sync connection (RFC 6455 private range 4000-4999).
// Each refusal has its own code so a device knows what to do: fix its
// clock on CloseCertNotYetValid, back off and retry on the others. Close
// codes are not signed: CloseCertExpired stops a device only when its own
// expiry check agrees, and CloseRevoked only when it holds a signed Device
// delta or snapshot with status revoked (an edge sends that delta before
// it closes); otherwise both are retried like the others.
const (
	CloseProtocol         websocket.StatusCode = 4000 // malformed or unexpected frame
	CloseHandshakeTimeout websocket.StatusCode = 4001 // no Auth within the handshake timeout
	CloseUnknownDevice    websocket.StatusCode = 4002 // unknown tenant or device at this edge
	CloseUntrusted        websocket.StatusCode = 4003 // chain, tenant or proof of possession refused
	CloseCertExpired      websocket.StatusCode = 4004 // certificate expired (beyond the clock skew)
	CloseCertNotYetValid  websocket.StatusCode = 4005 // certificate not valid yet (check the clock)
	CloseRevoked          websocket.StatusCode = 4006 // the device was revoked
	CloseSlowConsumer     websocket.StatusCode = 4008 // the device did not keep up with its send buffer
	CloseEdgeStale        websocket.StatusCode = 4010 // the edge is in fail-closed mode and stale
)
