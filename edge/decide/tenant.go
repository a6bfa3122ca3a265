package decide

import (
	"crypto/ed25519"
	"maps"
	"time"

	"github.com/melmastoon/iam/authz"
	"github.com/melmastoon/iam/core/keys"
)

// jwtKey is the public half of one tenant signing key, as replicated.
type jwtKey struct {
	pub   ed25519.PublicKey
	alg   string
	state string
}

// usable reports whether tokens signed by the key are accepted: Ed25519,
// EdDSA, and in state next, active or retiring.
func (k jwtKey) usable() bool {
	if k.alg != keys.Algorithm || len(k.pub) != ed25519.PublicKeySize {
		return false
	}
	switch k.state {
	case "next", "active", "retiring":
		return true
	}
	return false
}

// tenantState is what token verification needs of a tenant. It is
// immutable once published; Apply replaces it.
type tenantState struct {
	id       string
	present  bool // the tenants row exists
	slug     string
	status   string
	keys     map[string]jwtKey
	flags    map[string]flagRule // nil when the tenant has no flag rules
	verifier *keys.Verifier      // nil unless present
}

// live reports whether the tenant's tokens may be accepted.
func (t *tenantState) live() bool {
	return t != nil && t.present && t.status == "active" && t.verifier != nil
}

// PublicKey implements keys.KeyResolver over the replicated keys.
func (t *tenantState) PublicKey(kid string, _ time.Time) (ed25519.PublicKey, error) {
	k, ok := t.keys[kid]
	if !ok || !k.usable() {
		return nil, keys.ErrUnknownKey
	}
	return k.pub, nil
}

// clone returns a mutable copy (keys map copied).
func (t *tenantState) clone(id string) *tenantState {
	if t == nil {
		return &tenantState{id: id, keys: map[string]jwtKey{}}
	}
	c := *t
	c.keys = maps.Clone(t.keys)
	c.flags = maps.Clone(t.flags)
	if c.keys == nil {
		c.keys = map[string]jwtKey{}
	}
	return &c
}

// finish builds the tenant's verifier; a tenant without a row gets none.
func (d *Decider) finish(t *tenantState) *tenantState {
	t.verifier = nil
	if !t.present {
		return t
	}
	v, err := keys.NewVerifier(keys.VerifierConfig{Issuer: d.cfg.Issuer(t.slug), Audience: d.cfg.Audience,
		Keys: t, ClockSkew: d.cfg.ClockSkew, MaxTokenBytes: d.cfg.MaxTokenBytes, Now: d.cfg.Now})
	if err != nil {
		// Only an empty issuer gets here (an empty slug with a custom
		// Issuer func): the tenant's tokens are refused.
		d.log.Error("decide: no verifier for tenant", "tenant", t.id, "error", err)
		return t
	}
	t.verifier = v
	return t
}

// accountStatus maps a replicated account status; anything but the three
// known ones is denied as disabled.
func accountStatus(s string) authz.Status {
	switch s {
	case "active":
		return authz.StatusActive
	case "locked":
		return authz.StatusLocked
	}
	return authz.StatusDisabled
}
