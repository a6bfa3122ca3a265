package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrTenantNotFound is returned when a tenant slug names no live tenant.
var ErrTenantNotFound = fmt.Errorf("tenant: %w", ErrNotFound)

// InTenantSlug resolves a live tenant by slug and runs fn scoped to it, in one
// transaction (the lookup and the scope cost one round trip).
func (s *Store) InTenantSlug(ctx context.Context, slug string, fn func(*Tx) error) error {
	return s.Global(ctx, func(tx *Tx) error {
		var id TenantID
		err := tx.queryRow(ctx, `SELECT id, set_config('iam.tenant_id', id::text, true)
			FROM tenants WHERE slug = $1 AND status = 'active'`, slug).Scan(&id, new(string))
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrTenantNotFound
		}
		if err != nil {
			return err
		}
		tx.tenant = id
		return fn(tx)
	})
}

// AsTenant runs fn with the transaction's RLS scope switched to tenant, then
// switches back.
func (t *Tx) AsTenant(ctx context.Context, tenant TenantID, fn func() error) error {
	prev := t.tenant
	set := func(id TenantID) error {
		_, err := t.exec(ctx, "SELECT set_config('iam.tenant_id', $1, true)", id.String())
		t.tenant = id
		return err
	}
	if err := set(tenant); err != nil {
		return err
	}
	if err := fn(); err != nil {
		t.tenant = prev // the statement scope is moot: the transaction is failing
		return err
	}
	return set(prev)
}
