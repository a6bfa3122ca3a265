package ca

import (
	"crypto/rand"
	"fmt"
	"io"
	"time"

	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/syncproto/devcert"
)

// Lifetimes. A year here is 365 days; certificate times have one-second
// resolution, so every time this package writes is truncated to the second.
const (
	// DefaultRootValidity is the lifetime of a tenant root.
	DefaultRootValidity = 10 * 365 * 24 * time.Hour
	// DefaultIssuingValidity is the lifetime of an issuing intermediate.
	DefaultIssuingValidity = 2 * 365 * 24 * time.Hour
	// DefaultDeviceValidity is the lifetime of a device certificate when
	// the request names none.
	DefaultDeviceValidity = 7 * 24 * time.Hour
	// MaxDeviceValidity caps a requested device lifetime, keeping device
	// certificates far shorter than the CA that issues them.
	MaxDeviceValidity = 30 * 24 * time.Hour
	// Backdate is how far NotBefore lies before the issuing instant, so a
	// verifier whose clock is a little behind accepts a fresh certificate.
	Backdate = time.Minute
)

// CAConfig configures NewCA, OpenCA and Rotate.
type CAConfig struct {
	// TenantID is the tenant the CA belongs to, a canonical lowercase UUID.
	TenantID string
	// Encrypter seals and opens the CA private keys (required).
	Encrypter keys.KeyEncrypter
	// Rand supplies key seeds and serial numbers (default crypto/rand.Reader).
	// IssueDevice reads it, so it must be safe for concurrent use when
	// IssueDevice is called concurrently.
	Rand io.Reader
	// Now is the clock (default time.Now).
	Now func() time.Time
	// RootValidity is a new root's lifetime (default DefaultRootValidity).
	RootValidity time.Duration
	// IssuingValidity is a new intermediate's lifetime (default
	// DefaultIssuingValidity); it must not exceed RootValidity and must
	// exceed MaxDeviceValidity.
	IssuingValidity time.Duration
}

// CheckAndSetDefaults fills defaults and returns ErrInvalidConfig when the
// tenant id is not a canonical UUID, the Encrypter is missing or the
// lifetimes are out of order.
func (c *CAConfig) CheckAndSetDefaults() error {
	if !devcert.IsCanonicalUUID(c.TenantID) {
		return fmt.Errorf("%w: tenant id %q is not a canonical UUID", ErrInvalidConfig, c.TenantID)
	}
	if c.Encrypter == nil {
		return fmt.Errorf("%w: Encrypter is required", ErrInvalidConfig)
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.RootValidity == 0 {
		c.RootValidity = DefaultRootValidity
	}
	if c.IssuingValidity == 0 {
		c.IssuingValidity = DefaultIssuingValidity
	}
	if c.IssuingValidity <= MaxDeviceValidity || c.RootValidity < c.IssuingValidity {
		return fmt.Errorf("%w: need MaxDeviceValidity < IssuingValidity <= RootValidity", ErrInvalidConfig)
	}
	return nil
}
