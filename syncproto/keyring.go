package syncproto

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"slices"
	"strings"

	"github.com/veraison/go-cose"
)

// TrustAnchor is what a verifier pins out of band for one tenant: the
// tenant id and its root public key.
type TrustAnchor struct {
	Tenant    string            `json:"tenant"`
	Kid       string            `json:"kid"`
	PublicKey ed25519.PublicKey `json:"public_key"`
}

func (a TrustAnchor) validate() error {
	if !isCanonicalUUID(a.Tenant) {
		return fmt.Errorf("syncproto: anchor tenant %q is not a canonical UUID", a.Tenant)
	}
	if err := (SigningKey{Kid: a.Kid, PublicKey: a.PublicKey}).validate(); err != nil {
		return fmt.Errorf("syncproto: anchor: %w", err)
	}
	return nil
}

// Keyring is one tenant's set of trusted keys: the root from the anchor and
// the delta-signing keys introduced by root-signed KeyRotation deltas,
// minus retired ones. A Keyring is immutable; rotations return a new one.
type Keyring struct {
	root    keyEntry
	rootKid string
	active  map[string]keyEntry
	retired map[string]bool
}

type keyEntry struct {
	public   ed25519.PublicKey
	verifier cose.Verifier
}

func newKeyEntry(pub []byte) (keyEntry, error) {
	key := ed25519.PublicKey(bytes.Clone(pub))
	v, err := cose.NewVerifier(cose.AlgorithmEdDSA, key)
	if err != nil {
		return keyEntry{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return keyEntry{public: key, verifier: v}, nil
}

// NewKeyring returns a keyring holding the anchor's root, the given active
// delta-signing keys and the retired kids. It fails if any key is invalid,
// a kid repeats, or a kid is both active and retired.
func NewKeyring(anchor TrustAnchor, active []SigningKey, retired []string) (*Keyring, error) {
	if err := anchor.validate(); err != nil {
		return nil, err
	}
	root, err := newKeyEntry(anchor.PublicKey)
	if err != nil {
		return nil, err
	}
	k := &Keyring{root: root, rootKid: anchor.Kid, active: map[string]keyEntry{}, retired: map[string]bool{}}
	for _, kid := range retired {
		k.retired[kid] = true
	}
	for _, sk := range active {
		if err := k.add(sk); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func (k *Keyring) add(sk SigningKey) error {
	if err := sk.validate(); err != nil {
		return err
	}
	if sk.Kid == k.rootKid || k.retired[sk.Kid] {
		return fmt.Errorf("%w: kid %q is the root or retired", ErrMalformed, sk.Kid)
	}
	if old, ok := k.active[sk.Kid]; ok && !old.public.Equal(ed25519.PublicKey(sk.PublicKey)) {
		return fmt.Errorf("%w: kid %q already bound to another key", ErrMalformed, sk.Kid)
	}
	e, err := newKeyEntry(sk.PublicKey)
	if err != nil {
		return err
	}
	k.active[sk.Kid] = e
	return nil
}

// lookup returns the key for kid and whether it is the root.
func (k *Keyring) lookup(kid string) (keyEntry, bool, error) {
	if kid == k.rootKid {
		return k.root, true, nil
	}
	if e, ok := k.active[kid]; ok {
		return e, false, nil
	}
	if k.retired[kid] {
		return keyEntry{}, false, fmt.Errorf("%w: kid %q is retired", ErrUnknownKey, kid)
	}
	return keyEntry{}, false, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
}

// withRotation returns a copy of k with rot applied; k is unchanged.
func (k *Keyring) withRotation(rot *KeyRotation) (*Keyring, error) {
	next := &Keyring{root: k.root, rootKid: k.rootKid, active: map[string]keyEntry{}, retired: map[string]bool{}}
	for kid, e := range k.active {
		next.active[kid] = e
	}
	for kid := range k.retired {
		next.retired[kid] = true
	}
	if err := next.add(SigningKey{Kid: rot.Kid, PublicKey: rot.PublicKey}); err != nil {
		return nil, err
	}
	for _, kid := range rot.Retire {
		if kid == k.rootKid {
			return nil, fmt.Errorf("%w: a rotation cannot retire the root", ErrMalformed)
		}
		delete(next.active, kid)
		next.retired[kid] = true
	}
	return next, nil
}

// ActiveKeys returns the delta-signing keys, sorted by kid.
func (k *Keyring) ActiveKeys() []SigningKey {
	out := make([]SigningKey, 0, len(k.active))
	for kid, e := range k.active {
		out = append(out, SigningKey{Kid: kid, PublicKey: bytes.Clone(e.public)})
	}
	slices.SortFunc(out, func(a, b SigningKey) int { return strings.Compare(a.Kid, b.Kid) })
	return out
}

// RetiredKids returns the retired kids, sorted.
func (k *Keyring) RetiredKids() []string {
	out := make([]string, 0, len(k.retired))
	for kid := range k.retired {
		out = append(out, kid)
	}
	slices.Sort(out)
	return out
}
