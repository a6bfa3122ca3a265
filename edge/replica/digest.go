package replica

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"
)

// digestQueries produce the lines of the replica digest (docs/deltas.md,
// "Replica digest"), one query per line kind; ? is the tenant id.
var digestQueries = []string{
	`SELECT 'tenant ' || id || ' ' || slug || ' ' || status || ' ' || name FROM tenants WHERE id = ?`,
	`SELECT 'org ' || id || ' ' || coalesce(parent_id, '-') || ' ' || name FROM organizations WHERE tenant_id = ?`,
	`SELECT 'account ' || id || ' ' || status FROM accounts WHERE tenant_id = ?`,
	`SELECT 'role ' || id || ' ' || name FROM roles WHERE tenant_id = ?`,
	`SELECT 'perm ' || role_id || ' ' || permission FROM role_permissions WHERE tenant_id = ?`,
	`SELECT 'binding ' || id || ' ' || account_id || ' ' || role_id || ' ' || organization_id FROM role_bindings WHERE tenant_id = ?`,
	`SELECT 'jwtkey ' || kid || ' ' || state FROM jwt_keys WHERE tenant_id = ?`,
	`SELECT 'session_revoked ' || id FROM revoked_sessions WHERE tenant_id = ?`,
	`SELECT 'flag ' || name || ' ' || CASE enabled WHEN 1 THEN 'true' ELSE 'false' END || ' ' || rollout_percent
		FROM feature_flags WHERE tenant_id = ?`,
	`SELECT 'device ' || id || ' ' || account_id || ' ' || status || ' ' || cert_serial FROM devices WHERE tenant_id = ?`,
	`SELECT 'tenant_ca ' || generation FROM tenant_cas WHERE tenant_id = ?`,
}

// Digest returns the lower-case hex SHA-256 of the tenant's replicated
// state in the canonical line format of docs/deltas.md ("Replica digest"),
// read in one read transaction, so core can compare it with the same digest
// computed from PostgreSQL. A tenant without rows has the digest of the
// empty string.
func (r *Replica) Digest(ctx context.Context, tenant string) (string, error) {
	if err := r.checkOpen(); err != nil {
		return "", err
	}
	lines, err := digestLines(ctx, r.reader, tenant)
	if err != nil {
		return "", fmt.Errorf("replica: digest: %w", err)
	}
	slices.SortFunc(lines, bytes.Compare)
	sum := sha256.Sum256(bytes.Join(lines, []byte("\n")))
	return hex.EncodeToString(sum[:]), nil
}

func digestLines(ctx context.Context, db *sql.DB, tenant string) ([][]byte, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	var lines [][]byte
	for _, q := range digestQueries {
		if lines, err = appendLines(ctx, tx, q, tenant, lines); err != nil {
			return nil, err
		}
	}
	return lines, nil
}

func appendLines(ctx context.Context, tx *sql.Tx, q, tenant string, lines [][]byte) ([][]byte, error) {
	rows, err := tx.QueryContext(ctx, q, tenant)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var line []byte
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		lines = append(lines, line)
	}
	return lines, rows.Err()
}
