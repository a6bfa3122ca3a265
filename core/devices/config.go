package devices

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/melmastoon/iam/core/auth"
	"github.com/melmastoon/iam/core/ca"
	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/core/relay"
	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/syncproto"
)

// Defaults.
const (
	// DefaultEnrollNonceTTL is how long an enrollment nonce may be used.
	DefaultEnrollNonceTTL = 5 * time.Minute
	// DefaultClockSkew is how far a device's request nonce time may lie
	// from core's clock.
	DefaultClockSkew = 5 * time.Minute
)

// Trust is what the service needs of the relay (*relay.Relay implements
// it): the tenant's delta trust for enrollment and standalone signing of
// Device snapshots.
type Trust interface {
	TenantTrust(ctx context.Context, tenant string) (relay.TenantTrust, error)
	SignStandalone(ctx context.Context, tenant string, e syncproto.Envelope) ([]byte, error)
}

// Config configures New.
type Config struct {
	Store *store.Store
	// KEK seals the CA private keys.
	KEK keys.KeyEncrypter
	// Auth issues device access tokens.
	Auth *auth.Service
	// Trust, when nil (core without a hub), leaves the delta anchor out of
	// enrollment answers and refuses Device snapshots.
	Trust Trust
	// CertValidity is a device certificate's lifetime (default
	// ca.DefaultDeviceValidity, at most ca.MaxDeviceValidity).
	CertValidity time.Duration
	// EnrollNonceTTL is an enrollment nonce's lifetime (default 5 min).
	EnrollNonceTTL time.Duration
	// ClockSkew bounds a request nonce's time around now (default 5 min).
	ClockSkew time.Duration
	Registry  prometheus.Registerer
	Logger    *slog.Logger
	Now       func() time.Time
	Rand      io.Reader
}

// CheckAndSetDefaults validates c and fills in defaults.
func (c *Config) CheckAndSetDefaults() error {
	if c.Store == nil || c.KEK == nil || c.Auth == nil || c.Registry == nil || c.Logger == nil {
		return errors.New("devices: store, KEK, auth, registry and logger are required")
	}
	if c.CertValidity == 0 {
		c.CertValidity = ca.DefaultDeviceValidity
	}
	if c.CertValidity < time.Minute || c.CertValidity > ca.MaxDeviceValidity {
		return fmt.Errorf("devices: device certificate validity %s outside [1m, %s]", c.CertValidity, ca.MaxDeviceValidity)
	}
	if c.EnrollNonceTTL <= 0 {
		c.EnrollNonceTTL = DefaultEnrollNonceTTL
	}
	if c.ClockSkew <= 0 {
		c.ClockSkew = DefaultClockSkew
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	return nil
}
