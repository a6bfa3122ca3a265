package relay

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/syncproto"
)

// Associated-data purposes of the sealed delta keys (keys.AssociatedData).
const (
	aadSystemKey = "delta_system_key"
	aadTenantKey = "delta_key"
)

// Key purposes in delta_keys.
const (
	purposeRoot    = "root"
	purposeSigning = "signing"
)

// tenantKeys are a tenant's delta root and active delta-signing key.
type tenantKeys struct {
	tenant      string
	root        *syncproto.Signer
	signing     *syncproto.Signer
	rootCreated time.Time
}

// anchor is the TrustAnchor the tenant's anchor certificate vouches for.
func (k *tenantKeys) anchor() syncproto.TrustAnchor {
	return syncproto.TrustAnchor{Tenant: k.tenant, Kid: k.root.Kid(), PublicKey: k.root.PublicKey()}
}

// newKid returns a fresh key id: prefix and a UUIDv7 (never reused).
func newKid(prefix string) string { return prefix + "-" + uuid.Must(uuid.NewV7()).String() }

// systemSigner loads the system delta root, creating it on first use.
func (r *Relay) systemSigner(ctx context.Context) (*syncproto.Signer, error) {
	r.sysMu.Lock()
	defer r.sysMu.Unlock()
	if r.sys != nil {
		return r.sys, nil
	}
	var s *syncproto.Signer
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('melmastoon.iam.delta_system_key', 0))`); err != nil {
			return err
		}
		var kid string
		var sealed []byte
		err := tx.QueryRow(ctx, `SELECT kid, private_sealed FROM delta_system_key`).Scan(&kid, &sealed)
		if errors.Is(err, pgx.ErrNoRows) {
			s, err = r.createSystemKey(ctx, tx)
			return err
		}
		if err != nil {
			return err
		}
		s, err = r.openKey(ctx, kid, sealed, keys.AssociatedData(aadSystemKey, kid))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("relay: system delta key: %w", err)
	}
	r.sys = s
	return s, nil
}

func (r *Relay) createSystemKey(ctx context.Context, tx pgx.Tx) (*syncproto.Signer, error) {
	kid := newKid("sys")
	s, sealed, err := r.newSealedKey(ctx, kid, keys.AssociatedData(aadSystemKey, kid))
	if err != nil {
		return nil, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO delta_system_key (kid, public_key, private_sealed, kek_id, created_at)
		VALUES ($1, $2, $3, $4, $5)`, kid, []byte(s.PublicKey()), sealed, r.cfg.KEK.KeyID(), r.cfg.Now())
	return s, err
}

// newSealedKey generates an Ed25519 key and seals its seed with the KEK.
func (r *Relay) newSealedKey(ctx context.Context, kid string, aad []byte) (*syncproto.Signer, []byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	seed := priv.Seed()
	defer clear(seed)
	sealed, err := r.cfg.KEK.Encrypt(ctx, seed, aad)
	if err != nil {
		return nil, nil, err
	}
	s, err := syncproto.NewSigner(kid, priv)
	return s, sealed, err
}

// openKey unseals a stored seed into a Signer.
func (r *Relay) openKey(ctx context.Context, kid string, sealed, aad []byte) (*syncproto.Signer, error) {
	seed, err := r.cfg.KEK.Decrypt(ctx, sealed, aad)
	if err != nil {
		return nil, fmt.Errorf("open key %s: %w", kid, err)
	}
	defer clear(seed)
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("open key %s: seed of %d bytes", kid, len(seed))
	}
	return syncproto.NewSigner(kid, ed25519.NewKeyFromSeed(seed))
}

// tenantKeys returns the tenant's delta keys from the cache or the
// database. With create it makes them when missing (under a per-tenant
// advisory lock); without, missing keys are ErrUnknownTenantKeys.
func (r *Relay) tenantKeys(ctx context.Context, tenant string, create bool) (*tenantKeys, error) {
	r.keysMu.Lock()
	tk := r.keys[tenant]
	r.keysMu.Unlock()
	if tk != nil {
		return tk, nil
	}
	var err error
	err = r.inTenant(ctx, tenant, func(tx pgx.Tx) error {
		tk, err = r.loadTenantKeys(ctx, tx, tenant, create)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("relay: tenant %s delta keys: %w", tenant, err)
	}
	r.keysMu.Lock()
	r.keys[tenant] = tk
	r.keysMu.Unlock()
	return tk, nil
}

type storedKey struct {
	kid, purpose string
	sealed       []byte
	created      time.Time
}

func (r *Relay) loadTenantKeys(ctx context.Context, tx pgx.Tx, tenant string, create bool) (*tenantKeys, error) {
	if create {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('melmastoon.iam.delta_keys:' || $1, 0))`, tenant); err != nil {
			return nil, err
		}
	}
	rows, err := tx.Query(ctx, `SELECT kid, purpose, private_sealed, created_at FROM delta_keys
		WHERE tenant_id = $1 AND state = 'active'`, tenant)
	if err != nil {
		return nil, err
	}
	stored, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (storedKey, error) {
		var k storedKey
		return k, row.Scan(&k.kid, &k.purpose, &k.sealed, &k.created)
	})
	if err != nil {
		return nil, err
	}
	if len(stored) == 0 && create {
		return r.createTenantKeys(ctx, tx, tenant)
	}
	return r.openTenantKeys(ctx, tenant, stored)
}

func (r *Relay) openTenantKeys(ctx context.Context, tenant string, stored []storedKey) (*tenantKeys, error) {
	tk := &tenantKeys{tenant: tenant}
	for _, k := range stored {
		s, err := r.openKey(ctx, k.kid, k.sealed, keys.AssociatedData(aadTenantKey, tenant, k.purpose, k.kid))
		if err != nil {
			return nil, err
		}
		if k.purpose == purposeRoot {
			tk.root, tk.rootCreated = s, k.created
		} else {
			tk.signing = s
		}
	}
	if tk.root == nil || tk.signing == nil {
		return nil, ErrUnknownTenantKeys
	}
	return tk, nil
}

func (r *Relay) createTenantKeys(ctx context.Context, tx pgx.Tx, tenant string) (*tenantKeys, error) {
	now := r.cfg.Now().Truncate(time.Millisecond) // the anchor's issued-at, in ms
	tk := &tenantKeys{tenant: tenant, rootCreated: now}
	for _, purpose := range []string{purposeRoot, purposeSigning} {
		kid := newKid(map[string]string{purposeRoot: "dr", purposeSigning: "ds"}[purpose])
		s, sealed, err := r.newSealedKey(ctx, kid, keys.AssociatedData(aadTenantKey, tenant, purpose, kid))
		if err != nil {
			return nil, err
		}
		_, err = tx.Exec(ctx, `INSERT INTO delta_keys (tenant_id, kid, purpose, public_key, private_sealed, kek_id, state, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'active', $7)`, tenant, kid, purpose, []byte(s.PublicKey()), sealed, r.cfg.KEK.KeyID(), now)
		if err != nil {
			return nil, err
		}
		if purpose == purposeRoot {
			tk.root = s
		} else {
			tk.signing = s
		}
	}
	return tk, nil
}

// anchorCertificate signs the tenant's anchor certificate with the system
// root; issued-at is the root's creation time, so it is deterministic.
func (r *Relay) anchorCertificate(ctx context.Context, tk *tenantKeys) ([]byte, error) {
	sys, err := r.systemSigner(ctx)
	if err != nil {
		return nil, err
	}
	cert, err := sys.SignAnchor(tk.anchor(), tk.rootCreated)
	if err != nil {
		return nil, fmt.Errorf("relay: anchor certificate: %w", err)
	}
	return cert, nil
}
