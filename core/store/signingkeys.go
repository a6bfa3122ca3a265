package store

import (
	"context"
	"time"
)

// StoredKey is a token-signing key as stored: the private half sealed.
type StoredKey struct {
	KID           string
	PublicKey     []byte
	PrivateSealed []byte
	KEKID         string
	State         string // next, active, retiring, retired
	PublishedAt   time.Time
	NotBefore     time.Time
	RetireAt      *time.Time
}

// SigningKeys returns the tenant's keys that are not retired.
func (t *Tx) SigningKeys(ctx context.Context) ([]StoredKey, error) {
	rows, err := t.query(ctx, `SELECT kid, public_key, private_sealed, kek_id, state, published_at, not_before, retire_at
		FROM signing_keys WHERE tenant_id = $1 AND state <> 'retired' ORDER BY published_at`, t.tenant.UUID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StoredKey
	for rows.Next() {
		var k StoredKey
		if err := rows.Scan(&k.KID, &k.PublicKey, &k.PrivateSealed, &k.KEKID, &k.State, &k.PublishedAt, &k.NotBefore, &k.RetireAt); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// LockSigningKeys serialises key rotation of the tenant for this transaction.
func (t *Tx) LockSigningKeys(ctx context.Context) error {
	_, err := t.exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('iam.signing_keys:' || $1::text, 0))`, t.tenant.UUID)
	return err
}

// keyEvent is the public half that replicates to edges.
func keyEvent(k StoredKey) map[string]any {
	return map[string]any{"kid": k.KID, "public_key": k.PublicKey, "state": k.State, "alg": "EdDSA",
		"published_at": k.PublishedAt, "not_before": k.NotBefore, "retire_at": k.RetireAt}
}

// PutSigningKey inserts or updates a key; every change is audited and its
// public half goes to the outbox (signing_key.published for a new key,
// signing_key.updated for a state change).
func (t *Tx) PutSigningKey(ctx context.Context, actor Actor, k StoredKey, isNew bool) error {
	var err error
	if isNew {
		_, err = t.exec(ctx, `INSERT INTO signing_keys (tenant_id, kid, public_key, private_sealed, kek_id, state, published_at, not_before, retire_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			t.tenant.UUID, k.KID, k.PublicKey, k.PrivateSealed, k.KEKID, k.State, k.PublishedAt, k.NotBefore, k.RetireAt)
	} else {
		_, err = t.exec(ctx, `UPDATE signing_keys SET state = $3, not_before = $4, retire_at = $5 WHERE tenant_id = $1 AND kid = $2`,
			t.tenant.UUID, k.KID, k.State, k.NotBefore, k.RetireAt)
	}
	if err != nil {
		return err
	}
	verb, action := "updated", "signing_key."+k.State
	if isNew {
		verb, action = "published", "signing_key.create"
	}
	return t.record(ctx, actor,
		AuditEvent{Action: action, TargetType: "signing_key", TargetID: k.KID, Details: map[string]any{"state": k.State}},
		Event{Type: "melmastoon.iam.signing_key." + verb + ".v1", Subject: k.KID, Data: keyEvent(k)})
}
