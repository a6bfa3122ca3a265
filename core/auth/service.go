package auth

import (
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/core/password"
	"github.com/melmastoon/iam/core/store"
)

// Defaults.
const (
	DefaultAudience      = "iam"
	DefaultSessionTTL    = 30 * 24 * time.Hour
	DefaultRefreshGrace  = 10 * time.Second
	DefaultMFATicketTTL  = 5 * time.Minute
	DefaultLockAfter     = 5
	DefaultLockBase      = time.Minute
	DefaultLockMax       = time.Hour
	mfaTicketMaxAttempts = 5
	keyCacheTTL          = 10 * time.Second
)

// Config configures the sign-in service.
type Config struct {
	Store *store.Store
	// KEK seals private keys, TOTP secrets and grace-window token pairs.
	KEK keys.KeyEncrypter
	// PublicURL is the externally visible base URL; the issuer of tenant T
	// is PublicURL + "/t/" + T.
	PublicURL string
	// Audience is the aud of every access token (default "iam").
	Audience       string
	AccessTokenTTL time.Duration // default 10 min
	SessionTTL     time.Duration // absolute session lifetime, default 30 days
	RefreshGrace   time.Duration // default 10 s
	MFATicketTTL   time.Duration // default 5 min
	// LockAfter consecutive failures lock an account for LockBase,
	// quadrupling with every further lock up to LockMax.
	LockAfter int
	LockBase  time.Duration
	LockMax   time.Duration
	// PasswordParams are the Argon2id parameters for new hashes.
	PasswordParams password.Params
	// Hashing bounds concurrent Argon2id work (default: NumCPU slots, 1 s wait).
	Hashing password.LimiterConfig
	// KeyPolicy times signing-key rotation.
	KeyPolicy keys.RotationPolicy
	// ClockSkew tolerated when verifying access tokens (default 30 s).
	ClockSkew time.Duration
	Registry  prometheus.Registerer
	Logger    *slog.Logger
	Now       func() time.Time
	Rand      io.Reader
}

// CheckAndSetDefaults validates c and fills in defaults.
func (c *Config) CheckAndSetDefaults() error {
	if c.Store == nil || c.KEK == nil || c.Logger == nil || c.Registry == nil {
		return errors.New("auth: store, KEK, registry and logger are required")
	}
	if c.PublicURL == "" {
		return errors.New("auth: public URL is required")
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	setDefault(&c.Audience, DefaultAudience)
	setDefault(&c.AccessTokenTTL, keys.DefaultAccessTokenTTL)
	setDefault(&c.SessionTTL, DefaultSessionTTL)
	setDefault(&c.RefreshGrace, DefaultRefreshGrace)
	setDefault(&c.MFATicketTTL, DefaultMFATicketTTL)
	setDefault(&c.LockAfter, DefaultLockAfter)
	setDefault(&c.LockBase, DefaultLockBase)
	setDefault(&c.LockMax, DefaultLockMax)
	setDefault(&c.ClockSkew, keys.DefaultClockSkew)
	if c.PasswordParams == (password.Params{}) {
		c.PasswordParams = password.DefaultParams()
	}
	if err := c.PasswordParams.Validate(); err != nil {
		return err
	}
	if c.KeyPolicy.MaxTokenTTL < c.AccessTokenTTL {
		c.KeyPolicy.MaxTokenTTL = c.AccessTokenTTL
	}
	if err := c.KeyPolicy.CheckAndSetDefaults(); err != nil {
		return err
	}
	c.Hashing.CheckAndSetDefaults()
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	return nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Service signs accounts in.
type Service struct {
	cfg      Config
	log      *slog.Logger
	store    *store.Store
	limiter  *password.Limiter
	dummy    *password.Dummy
	throttle *sourceThrottle
	keys     *keyCache
	metrics  *metrics
}

// New builds the service.
func New(cfg Config) (*Service, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	dummy, err := password.NewDummy(cfg.PasswordParams)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, log: cfg.Logger, store: cfg.Store, limiter: password.NewLimiter(cfg.Hashing),
		dummy: dummy, throttle: newSourceThrottle(cfg.Now)}
	s.keys = newKeyCache(cfg.Now)
	s.metrics = newMetrics(cfg.Registry, func() float64 { return float64(s.limiter.QueueDepth()) })
	return s, nil
}

// Issuer returns the OIDC issuer URL of a tenant.
func (s *Service) Issuer(slug string) string { return s.cfg.PublicURL + "/t/" + slug }

// Audience returns the audience of access tokens.
func (s *Service) Audience() string { return s.cfg.Audience }

// Meta describes the client of a sign-in call.
type Meta struct {
	SourceIP    string
	UserAgent   string
	TraceParent string
}

func (m Meta) actor(id string) store.Actor {
	return store.Actor{ID: id, SourceIP: m.SourceIP, TraceParent: m.TraceParent}
}

// Tokens is the answer of a successful sign-in or refresh.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}
