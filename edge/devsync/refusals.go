package devsync

import (
	"errors"

	"github.com/coder/websocket"

	"github.com/melmastoon/iam/syncproto/devcert"
	"github.com/melmastoon/iam/syncproto/devproto"
)

// closing is why a connection ends: the close code and fixed reason sent
// to the device, and the metric label. A zero code closes without a close
// handshake (the peer is gone or unresponsive).
type closing struct {
	code   websocket.StatusCode
	reason string // sent on the wire: fixed text, never a detail
	label  string
}

var (
	refuseProtocol   = closing{devproto.CloseProtocol, "protocol error", "protocol"}
	refuseTimeout    = closing{devproto.CloseHandshakeTimeout, "no auth in time", "timeout"}
	refuseUnknown    = closing{devproto.CloseUnknownDevice, "unknown device", "unknown_device"}
	refuseUntrusted  = closing{devproto.CloseUntrusted, "untrusted", "untrusted"}
	refuseExpired    = closing{devproto.CloseCertExpired, "certificate expired", "expired"}
	refuseNotYet     = closing{devproto.CloseCertNotYetValid, "certificate not yet valid", "not_yet_valid"}
	refuseRevoked    = closing{devproto.CloseRevoked, "device revoked", "revoked"}
	refuseStale      = closing{devproto.CloseEdgeStale, "edge stale", "stale"}
	refuseSlow       = closing{devproto.CloseSlowConsumer, "send buffer full", "slow_consumer"}
	refuseShutdown   = closing{websocket.StatusGoingAway, "edge shutting down", "shutdown"}
	refuseInternal   = closing{websocket.StatusInternalError, "internal error", "internal"}
	dropHeartbeat    = closing{0, "", "heartbeat"}
	dropPeerClosed   = closing{0, "", "peer_closed"}
	dropWriteFailed  = closing{0, "", "write_error"}
	dropTenantGone   = closing{devproto.CloseUnknownDevice, "unknown device", "tenant_deleted"}
	dropCertExpired  = closing{devproto.CloseCertExpired, "certificate expired", "expired"}
	dropDeviceGone   = closing{devproto.CloseUnknownDevice, "unknown device", "unknown_device"}
	dropRevokedAfter = closing{devproto.CloseRevoked, "device revoked", "revoked"}
)

// certRefusal maps a devcert verification error to its refusal.
func certRefusal(err error) closing {
	switch {
	case errors.Is(err, devcert.ErrExpired):
		return refuseExpired
	case errors.Is(err, devcert.ErrNotYetValid):
		return refuseNotYet
	default: // ErrUntrusted, ErrWrongTenant, ErrMalformed, ErrTooLarge
		return refuseUntrusted
	}
}
