package keys

import (
	"crypto/ed25519"
	"time"
)

// Rotation defaults.
const (
	// DefaultPublishLead is how long a new key is published before it signs:
	// long enough for the key delta to reach every edge and for third-party
	// JWKS caches (commonly up to a day) to refresh.
	DefaultPublishLead = 24 * time.Hour
	// DefaultSigningPeriod is how long one key signs before the next takes
	// over.
	DefaultSigningPeriod = 30 * 24 * time.Hour
	// DefaultMaxTokenTTL is the longest lifetime of a token signed by these
	// keys; it must be at least the Issuer's TTL.
	DefaultMaxTokenTTL = DefaultAccessTokenTTL
	// DefaultClockSkew is the clock difference tolerated between the issuer
	// and verifiers.
	DefaultClockSkew = 30 * time.Second
)

// RotationPolicy sets the timing of key rotation.
type RotationPolicy struct {
	PublishLead   time.Duration
	SigningPeriod time.Duration
	MaxTokenTTL   time.Duration
	ClockSkew     time.Duration
}

// CheckAndSetDefaults fills zero fields and returns ErrInvalidPolicy if the
// policy cannot keep the rotation rule (for example a signing period not
// longer than the publish lead).
func (p *RotationPolicy) CheckAndSetDefaults() error {
	if p.PublishLead == 0 {
		p.PublishLead = DefaultPublishLead
	}
	if p.SigningPeriod == 0 {
		p.SigningPeriod = DefaultSigningPeriod
	}
	if p.MaxTokenTTL == 0 {
		p.MaxTokenTTL = DefaultMaxTokenTTL
	}
	if p.ClockSkew == 0 {
		p.ClockSkew = DefaultClockSkew
	}
	if p.PublishLead < 0 || p.MaxTokenTTL < 0 || p.ClockSkew < 0 || p.SigningPeriod <= p.PublishLead {
		return ErrInvalidPolicy
	}
	return nil
}

// KeySet is a tenant's signing keys with their rotation policy. It is a
// value: methods never modify it, and Rotate returns a new one. Storage is
// the caller's.
type KeySet struct {
	Keys   []SigningKey
	Policy RotationPolicy
}

// Signer returns the active key that may sign at now, with its private
// half, or ErrNoSigningKey. If several keys are active (a state Rotate never
// produces) the one with the latest NotBefore wins.
func (s KeySet) Signer(now time.Time) (SigningKey, error) {
	var best SigningKey
	found := false
	for _, k := range s.Keys {
		if k.State != StateActive || now.Before(k.NotBefore) || len(k.Private) != ed25519.PrivateKeySize {
			continue
		}
		if !found || k.NotBefore.After(best.NotBefore) {
			best, found = k, true
		}
	}
	if !found {
		return SigningKey{}, ErrNoSigningKey
	}
	return best, nil
}

// publishedUntil is when a retiring key leaves the JWKS: every token it
// signed has expired, allowing for clock skew.
// Zero policy fields count as their defaults.
func (s KeySet) publishedUntil(k SigningKey) time.Time {
	p := s.Policy
	_ = p.CheckAndSetDefaults() // only defaults matter here, not validity
	return k.RetireAt.Add(p.MaxTokenTTL + p.ClockSkew)
}

// isPublished reports whether k belongs in the JWKS at now: next and active
// keys always, retiring keys until publishedUntil, retired keys never.
func (s KeySet) isPublished(k SigningKey, now time.Time) bool {
	switch k.State {
	case StateNext, StateActive:
		return true
	case StateRetiring:
		return now.Before(s.publishedUntil(k))
	}
	return false
}

// Published returns the public halves of the keys that belong in the JWKS
// at now, in the set's order.
func (s KeySet) Published(now time.Time) []SigningKey {
	var out []SigningKey
	for _, k := range s.Keys {
		if s.isPublished(k, now) {
			out = append(out, k.PublicOnly())
		}
	}
	return out
}

// JWKS renders the keys published at now.
func (s KeySet) JWKS(now time.Time) JWKS {
	doc := JWKS{Keys: []JWK{}}
	for _, k := range s.Published(now) {
		doc.Keys = append(doc.Keys, PublicJWK(k.Public))
	}
	return doc
}

// PublicKey returns the published key with this kid at now, or
// ErrUnknownKey. Next keys are accepted too: a verifier whose clock lags the
// issuer's at a promotion must not reject the new key's first tokens.
func (s KeySet) PublicKey(kid string, now time.Time) (ed25519.PublicKey, error) {
	for _, k := range s.Keys {
		if k.KID == kid && s.isPublished(k, now) && len(k.Public) == ed25519.PublicKeySize {
			return k.Public, nil
		}
	}
	return nil, ErrUnknownKey
}
