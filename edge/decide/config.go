package decide

import (
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/edge/replica"
)

// Defaults of Config.
const (
	DefaultAudience  = "iam"
	DefaultClockSkew = 30 * time.Second
	DefaultCacheSize = 100_000
)

// Config configures a Decider.
type Config struct {
	// Replica is the edge's replica; its Reader is where New (and a
	// snapshot or a refused batch in Apply) loads the state from. Required.
	Replica *replica.Replica
	// IssuerBase is core's public base URL: a tenant's tokens carry
	// iss = IssuerBase + "/t/" + slug. Required unless Issuer is set.
	IssuerBase string
	// Issuer, if set, returns a tenant's issuer from its slug instead.
	Issuer func(tenantSlug string) string
	// Audience is the required aud member (default DefaultAudience).
	Audience string
	// ClockSkew is the leeway for exp, nbf and iat (default
	// DefaultClockSkew; negative for none).
	ClockSkew time.Duration
	// CacheSize bounds the verified-token cache (default DefaultCacheSize;
	// negative disables the cache).
	CacheSize int
	// MaxTokenBytes caps the token length (default keys.MaxTokenBytes).
	MaxTokenBytes int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives structured logs (default discards).
	Logger *slog.Logger
}

// CheckAndSetDefaults validates the config and fills in defaults.
func (c *Config) CheckAndSetDefaults() error {
	if c.Replica == nil {
		return errors.New("decide: Replica is required")
	}
	if c.Issuer == nil {
		if c.IssuerBase == "" {
			return errors.New("decide: IssuerBase or Issuer is required")
		}
		base := strings.TrimRight(c.IssuerBase, "/")
		c.Issuer = func(slug string) string { return base + "/t/" + slug }
	}
	if c.Audience == "" {
		c.Audience = DefaultAudience
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = DefaultClockSkew
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.MaxTokenBytes <= 0 {
		c.MaxTokenBytes = keys.MaxTokenBytes
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
