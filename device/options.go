package device

import (
	"log/slog"
	"time"
)

// Defaults of Options and SyncConfig.
const (
	// DefaultClockSkew is the tolerance around a certificate's validity
	// window.
	DefaultClockSkew = 5 * time.Minute
	// DefaultBackoffMin and DefaultBackoffMax bound the reconnect delay.
	DefaultBackoffMin = 500 * time.Millisecond
	DefaultBackoffMax = 30 * time.Second
	// DefaultPingInterval is how often the client pings the edge;
	// DefaultPingTimeout how long it waits for the pong before it
	// reconnects.
	DefaultPingInterval = 20 * time.Second
	DefaultPingTimeout  = 10 * time.Second
	// DefaultHandshakeTimeout bounds dial, Hello and Ready.
	DefaultHandshakeTimeout = 15 * time.Second
	// DefaultIdleAfterReady is how long Once waits without a frame after
	// Ready before it considers the backlog drained.
	DefaultIdleAfterReady = 500 * time.Millisecond
	// DefaultRenewRetry is the delay between renewal attempts after core
	// was unavailable.
	DefaultRenewRetry = time.Minute
	// DefaultCheckInterval is how often a syncing client checks whether
	// its certificate is due for renewal.
	DefaultCheckInterval = 30 * time.Second
	// DefaultRequestTimeout bounds one renewal or token request.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultRenewJitter is the largest extra fraction of the validity
	// added to the two-thirds renewal point (drawn once per certificate).
	DefaultRenewJitter = 0.05
	// StateFile is the SQLite file inside the state directory.
	StateFile = "device.db"
)

// Options configure a Client (Open, Enroll). The zero value is usable.
type Options struct {
	// Logger receives the client's logs; attributes that look like keys,
	// tokens, signatures or nonces are redacted. Nil: discard.
	Logger *slog.Logger
	// Now is the local clock (tests inject one). Nil: time.Now.
	Now func() time.Time
	// ClockSkew is the tolerance around certificate validity. Zero:
	// DefaultClockSkew; negative: none.
	ClockSkew time.Duration
	// RenewJitter is the largest extra fraction of the validity added to
	// the two-thirds renewal point. Zero: DefaultRenewJitter; negative:
	// none.
	RenewJitter float64
}

// CheckAndSetDefaults fills in the zero fields.
func (o *Options) CheckAndSetDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Logger = slog.New(newRedactingHandler(o.Logger.Handler()))
	if o.Now == nil {
		o.Now = time.Now
	}
	switch {
	case o.ClockSkew == 0:
		o.ClockSkew = DefaultClockSkew
	case o.ClockSkew < 0:
		o.ClockSkew = 0
	}
	switch {
	case o.RenewJitter == 0:
		o.RenewJitter = DefaultRenewJitter
	case o.RenewJitter < 0:
		o.RenewJitter = 0
	}
}

// State is what the device knows about itself: its Device entity (as of
// version Cursor) and the certificate it holds.
type State struct {
	DeviceID   string    `json:"device_id"`
	TenantID   string    `json:"tenant"`
	TenantSlug string    `json:"tenant_slug"`
	AccountID  string    `json:"account_id"`
	Name       string    `json:"name"`
	Platform   string    `json:"platform"`
	Status     string    `json:"status"` // active | revoked
	CertSerial string    `json:"cert_serial"`
	NotBefore  time.Time `json:"not_before"`
	NotAfter   time.Time `json:"not_after"`
	// Cursor is the version of the Device entity held.
	Cursor int64 `json:"cursor"`
	// ServerTime is the newest core-signed time seen (zero if none).
	ServerTime time.Time `json:"server_time"`
}

// Status values of the Device entity.
const (
	StatusActive  = "active"
	StatusRevoked = "revoked"
)

// Stats counts what a Client did with the frames it received.
type Stats struct {
	Applied    uint64 // device deltas applied
	Duplicates uint64 // device deltas at the version held
	Rollbacks  uint64 // device deltas below the version held
	Rejected   uint64 // deltas rejected for any other reason
	Rotations  uint64 // key rotations learned
	Renewals   uint64 // certificates renewed
	Connects   uint64 // handshakes completed (Ready received)
	// Hints counts unsigned "revoked" or "expired" signals not acted
	// upon: close codes 4006 and 4004 that the device's signed state or
	// own expiry check did not confirm, and such answers to requests.
	Hints uint64
	// TooEarly counts renewals core declined as too early.
	TooEarly uint64
}
