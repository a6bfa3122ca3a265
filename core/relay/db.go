package relay

import (
	"context"

	"github.com/jackc/pgx/v5"
)

const setTenantSQL = `SELECT set_config('iam.tenant_id', $1, true)`

// inTenant runs fn in a pooled transaction (role iam_app) whose row-level
// security scope is tenant; it commits when fn returns nil.
func (r *Relay) inTenant(ctx context.Context, tenant string, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, setTenantSQL, tenant); err != nil {
			return err
		}
		return fn(tx)
	})
}
