package syncproto

import "fmt"

// VerifyStandalone checks one signed delta against a keyring without a
// chain: the size cap, the COSE_Sign1 structure and signature (a key of
// keys; a key rotation must be signed by the root), the envelope's shape
// and its tenant. It is what a device applies to the few deltas of its own
// Device entity, which it sees without the rest of the tenant's chain;
// the caller enforces ordering (rollback) on the entity's version. The
// returned envelope has no chain receipt (Hash is ZeroHash). Errors wrap
// ErrTooLarge, ErrMalformed, ErrUnsupportedVersion, ErrCriticalHeader,
// ErrUnknownKey, ErrBadSignature, ErrUnauthorizedKey or ErrWrongTenant.
func VerifyStandalone(msg []byte, keys *Keyring, tenant string) (*Envelope, error) {
	if keys == nil {
		return nil, fmt.Errorf("%w: no keyring", ErrUnknownKey)
	}
	if len(msg) > MaxMessageSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(msg), MaxMessageSize)
	}
	p, err := parseSign1(msg, ContentTypeDelta)
	if err != nil {
		return nil, err
	}
	byRoot, err := verifySignature(keys, p)
	if err != nil {
		return nil, err
	}
	env, err := DecodeEnvelope(p.payload)
	if err != nil {
		return nil, err
	}
	if env.Tenant != tenant {
		return nil, fmt.Errorf("%w: %s", ErrWrongTenant, env.Tenant)
	}
	if env.Type == TypeKeyRotation {
		if !byRoot {
			return nil, fmt.Errorf("%w: key rotation must be signed by the tenant root", ErrUnauthorizedKey)
		}
		if _, err := env.KeyRotation(); err != nil {
			return nil, err
		}
	}
	return env, nil
}

// WithRotation returns the keyring after a verified key rotation (from
// VerifyStandalone or Verifier.Verify).
func (k *Keyring) WithRotation(env *Envelope) (*Keyring, error) {
	rot, err := env.KeyRotation()
	if err != nil {
		return nil, err
	}
	return k.withRotation(rot)
}
