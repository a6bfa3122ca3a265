package store

import (
	"context"
	"fmt"
)

// AuditMonthsAhead is how many monthly audit partitions are kept ahead.
const AuditMonthsAhead = 6

// Maintain keeps audit partitions AuditMonthsAhead months ahead and purges
// expired idempotency keys. It is safe to run from several instances.
func (s *Store) Maintain(ctx context.Context) (partitions int, purged int64, err error) {
	if err = s.pool.QueryRow(ctx, `SELECT iam_ensure_audit_partitions($1)`, AuditMonthsAhead).Scan(&partitions); err != nil {
		return 0, 0, fmt.Errorf("store: audit partitions: %w", classify(err))
	}
	if err = s.pool.QueryRow(ctx, `SELECT iam_purge_idempotency_keys()`).Scan(&purged); err != nil {
		return partitions, 0, fmt.Errorf("store: purge idempotency keys: %w", classify(err))
	}
	return partitions, purged, nil
}
