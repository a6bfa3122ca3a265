package keys

import (
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// DefaultAccessTokenTTL is the default lifetime of an access token.
const DefaultAccessTokenTTL = 10 * time.Minute

// SignerSource yields the key that signs at a given time; KeySet implements
// it. Implementations must follow the rotation rule (see Rotate).
type SignerSource interface {
	Signer(now time.Time) (SigningKey, error)
}

// IssuerConfig configures an Issuer.
type IssuerConfig struct {
	// Issuer is the iss claim, the tenant's OIDC issuer URL. Required.
	Issuer string
	// TTL is the token lifetime (default DefaultAccessTokenTTL). It must not
	// exceed the key set's RotationPolicy.MaxTokenTTL.
	TTL time.Duration
	// Keys yields the signing key. Required.
	Keys SignerSource
	// Now is the clock (default time.Now).
	Now func() time.Time
	// NewID returns the jti (default a random UUID).
	NewID func() string
}

// CheckAndSetDefaults fills defaults and returns ErrInvalidRequest when a
// required field is missing.
func (c *IssuerConfig) CheckAndSetDefaults() error {
	if c.Issuer == "" || c.Keys == nil || c.TTL < 0 {
		return fmt.Errorf("%w: issuer config needs Issuer, Keys and TTL >= 0", ErrInvalidRequest)
	}
	if c.TTL == 0 {
		c.TTL = DefaultAccessTokenTTL
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.NewID == nil {
		c.NewID = uuid.NewString
	}
	return nil
}

// Issuer mints EdDSA access tokens. It is safe for concurrent use.
type Issuer struct {
	cfg IssuerConfig
}

// NewIssuer returns an Issuer for cfg (defaults applied to a copy).
func NewIssuer(cfg IssuerConfig) (*Issuer, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	return &Issuer{cfg: cfg}, nil
}

// AccessTokenRequest is what a token is issued for.
type AccessTokenRequest struct {
	Subject   string   // account id; required
	TenantID  string   // required
	Audience  []string // at least one
	SessionID string
	AMR       []string // e.g. "pwd", "otp"
}

// Issue signs an access token for req with the current signing key and
// returns it with its claims. It returns ErrInvalidRequest for a request
// without subject, tenant or audience, and ErrNoSigningKey when no key may
// sign now.
func (i *Issuer) Issue(req AccessTokenRequest) (string, AccessClaims, error) {
	if req.Subject == "" || req.TenantID == "" || len(req.Audience) == 0 {
		return "", AccessClaims{}, fmt.Errorf("%w: subject, tenant and audience are required", ErrInvalidRequest)
	}
	// The key is chosen at the exact time; the claims use whole seconds
	// (truncating first would miss a key that became active this second).
	at := i.cfg.Now()
	key, err := i.cfg.Keys.Signer(at)
	now := at.Truncate(time.Second)
	if err != nil {
		return "", AccessClaims{}, err
	}
	claims := i.claims(req, now)
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = key.KID
	tok.Header["typ"] = TokenType
	s, err := tok.SignedString(key.Private)
	if err != nil {
		return "", AccessClaims{}, fmt.Errorf("keys: sign token: %w", err)
	}
	return s, claims, nil
}

func (i *Issuer) claims(req AccessTokenRequest, now time.Time) AccessClaims {
	return AccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.cfg.Issuer,
			Subject:   req.Subject,
			Audience:  jwt.ClaimStrings(req.Audience),
			ExpiresAt: jwt.NewNumericDate(now.Add(i.cfg.TTL)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        i.cfg.NewID(),
		},
		SessionID: req.SessionID,
		TenantID:  req.TenantID,
		AMR:       req.AMR,
	}
}
