package keys

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxTokenBytes is the default cap on a token's length, checked before any
// parsing (DESIGN.md invariant 6).
const MaxTokenBytes = 8 << 10

// KeyResolver finds the public key for a kid at a time; KeySet implements
// it, an edge implements it over its replica. It returns ErrUnknownKey for a
// kid it does not publish.
type KeyResolver interface {
	PublicKey(kid string, now time.Time) (ed25519.PublicKey, error)
}

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	Issuer   string      // required iss
	Audience string      // required member of aud
	Keys     KeyResolver // required
	// ClockSkew is the leeway for exp, nbf and iat (default
	// DefaultClockSkew). Use a negative value for none.
	ClockSkew time.Duration
	// MaxTokenBytes caps the token length (default MaxTokenBytes).
	MaxTokenBytes int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// CheckAndSetDefaults fills defaults and returns ErrInvalidRequest when a
// required field is missing.
func (c *VerifierConfig) CheckAndSetDefaults() error {
	if c.Issuer == "" || c.Audience == "" || c.Keys == nil {
		return fmt.Errorf("%w: verifier config needs Issuer, Audience and Keys", ErrInvalidRequest)
	}
	switch {
	case c.ClockSkew == 0:
		c.ClockSkew = DefaultClockSkew
	case c.ClockSkew < 0:
		c.ClockSkew = 0
	}
	if c.MaxTokenBytes <= 0 {
		c.MaxTokenBytes = MaxTokenBytes
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Verifier checks access tokens. It is safe for concurrent use and does no
// I/O of its own (the KeyResolver may).
type Verifier struct {
	cfg    VerifierConfig
	parser *jwt.Parser
}

// NewVerifier returns a Verifier for cfg (defaults applied to a copy).
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{Algorithm}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithLeeway(cfg.ClockSkew),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
	)
	return &Verifier{cfg: cfg, parser: p}, nil
}

// Verify checks token and returns its claims. On failure it returns an
// error wrapping exactly one reason sentinel (ErrTooLarge, ErrMalformed,
// ErrAlgorithm, ErrWrongType, ErrUnknownKey, ErrBadSignature, ErrExpired,
// ErrNotYetValid, ErrWrongIssuer, ErrWrongAudience, ErrMissingClaim); see
// Reason. The error never contains the token.
func (v *Verifier) Verify(token string) (*AccessClaims, error) {
	if len(token) > v.cfg.MaxTokenBytes {
		return nil, ErrTooLarge
	}
	if !isBase64URLText(token, true) {
		return nil, ErrMalformed
	}
	claims := &AccessClaims{}
	tok, err := v.parser.ParseWithClaims(token, claims, v.keyFunc)
	if err != nil {
		return nil, classify(tok, err)
	}
	if claims.Subject == "" || claims.ID == "" || claims.TenantID == "" || claims.IssuedAt == nil {
		return nil, ErrMissingClaim
	}
	return claims, nil
}

func (v *Verifier) keyFunc(t *jwt.Token) (any, error) {
	if alg, _ := t.Header["alg"].(string); alg != Algorithm {
		return nil, ErrAlgorithm
	}
	if typ, _ := t.Header["typ"].(string); typ != TokenType {
		return nil, ErrWrongType
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, ErrUnknownKey
	}
	pub, err := v.cfg.Keys.PublicKey(kid, v.cfg.Now())
	if err != nil {
		return nil, ErrUnknownKey
	}
	return pub, nil
}

// classify maps a golang-jwt error to one reason sentinel, keeping the
// library's message as context.
func classify(tok *jwt.Token, err error) error {
	reason := reasonOf(tok, err)
	return fmt.Errorf("%w: %w", reason, err)
}

func reasonOf(tok *jwt.Token, err error) error {
	if tok != nil {
		if alg, ok := tok.Header["alg"].(string); ok && alg != Algorithm {
			return ErrAlgorithm
		}
	}
	for _, m := range reasonMap {
		if errors.Is(err, m.cause) {
			return m.reason
		}
	}
	return ErrMalformed
}

// reasonMap is checked in order: the first match wins, so a token that is
// both badly signed and expired reports the signature.
var reasonMap = []struct{ cause, reason error }{
	{ErrAlgorithm, ErrAlgorithm},
	{ErrWrongType, ErrWrongType},
	{ErrUnknownKey, ErrUnknownKey},
	{jwt.ErrTokenMalformed, ErrMalformed},
	{jwt.ErrTokenSignatureInvalid, ErrBadSignature},
	{jwt.ErrTokenUnverifiable, ErrMalformed},
	{jwt.ErrTokenRequiredClaimMissing, ErrMissingClaim},
	{jwt.ErrTokenExpired, ErrExpired},
	{jwt.ErrTokenNotValidYet, ErrNotYetValid},
	{jwt.ErrTokenUsedBeforeIssued, ErrNotYetValid},
	{jwt.ErrTokenInvalidIssuer, ErrWrongIssuer},
	{jwt.ErrTokenInvalidAudience, ErrWrongAudience},
}

// Reason returns a stable metric label for a Verify error: "ok" for nil,
// "too_large", "malformed", "algorithm", "wrong_type", "unknown_key",
// "bad_signature", "expired", "not_yet_valid", "wrong_issuer",
// "wrong_audience", "missing_claim", or "other".
func Reason(err error) string {
	if err == nil {
		return "ok"
	}
	for _, r := range reasonLabels {
		if errors.Is(err, r.err) {
			return r.label
		}
	}
	return "other"
}

var reasonLabels = []struct {
	err   error
	label string
}{
	{ErrTooLarge, "too_large"}, {ErrMalformed, "malformed"}, {ErrAlgorithm, "algorithm"},
	{ErrWrongType, "wrong_type"}, {ErrUnknownKey, "unknown_key"}, {ErrBadSignature, "bad_signature"},
	{ErrExpired, "expired"}, {ErrNotYetValid, "not_yet_valid"}, {ErrWrongIssuer, "wrong_issuer"},
	{ErrWrongAudience, "wrong_audience"}, {ErrMissingClaim, "missing_claim"},
}
