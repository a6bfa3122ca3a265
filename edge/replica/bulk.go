package replica

import (
	"context"
	"database/sql"
	"strings"
)

// inserter is an upsert change that can also be bulk-inserted without a
// unique index (plain INSERT; the tenant's rows were deleted first).
type inserter interface {
	Change
	insert(tx execer, tenant string) error
	tables() []string
}

func (c Tenant) insert(tx execer, _ string) error {
	return tx.exec(`INSERT INTO tenants (id, slug, name, status, version) VALUES (?, ?, ?, ?, ?)`,
		c.ID, c.Slug, c.Name, c.Status, c.Version)
}

func (c Organization) insert(tx execer, tenant string) error {
	return tx.exec(`INSERT INTO organizations (tenant_id, id, parent_id, name, depth, version) VALUES (?, ?, ?, ?, ?, ?)`,
		tenant, c.ID, nullable(c.ParentID), c.Name, c.Depth, c.Version)
}

func (c Account) insert(tx execer, tenant string) error {
	return tx.exec(`INSERT INTO accounts (tenant_id, id, status, version) VALUES (?, ?, ?, ?)`,
		tenant, c.ID, c.Status, c.Version)
}

func (c Role) insert(tx execer, tenant string) error {
	if err := tx.exec(`INSERT INTO roles (tenant_id, id, name, version) VALUES (?, ?, ?, ?)`,
		tenant, c.ID, c.Name, c.Version); err != nil {
		return err
	}
	seen := make(map[string]bool, len(c.Permissions))
	for _, p := range c.Permissions {
		if seen[p] {
			continue
		}
		seen[p] = true
		if err := tx.exec(`INSERT INTO role_permissions (tenant_id, role_id, permission) VALUES (?, ?, ?)`,
			tenant, c.ID, p); err != nil {
			return err
		}
	}
	return nil
}

func (c RoleBinding) insert(tx execer, tenant string) error {
	return tx.exec(`INSERT INTO role_bindings (tenant_id, id, account_id, role_id, organization_id) VALUES (?, ?, ?, ?, ?)`,
		tenant, c.ID, c.AccountID, c.RoleID, c.OrganizationID)
}

func (c SessionRevoked) insert(tx execer, tenant string) error {
	return tx.exec(`INSERT INTO revoked_sessions (tenant_id, id, account_id, revoked_at) VALUES (?, ?, ?, ?)`,
		tenant, c.ID, c.AccountID, c.RevokedAt)
}

func (c JWTKey) insert(tx execer, tenant string) error {
	return tx.exec(`INSERT INTO jwt_keys (tenant_id, kid, public_key, alg, state, not_before, retire_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		tenant, c.Kid, c.PublicKey, c.Alg, c.State, nullable(c.NotBefore), nullable(c.RetireAt))
}

func (c FeatureFlag) insert(tx execer, tenant string) error {
	return tx.exec(`INSERT INTO feature_flags (tenant_id, name, enabled, rollout_percent, version) VALUES (?, ?, ?, ?, ?)`,
		tenant, c.Name, c.Enabled, c.RolloutPercent, c.Version)
}

func (Tenant) tables() []string         { return []string{"tenants"} }
func (Organization) tables() []string   { return []string{"organizations"} }
func (Account) tables() []string        { return []string{"accounts"} }
func (Role) tables() []string           { return []string{"roles", "role_permissions"} }
func (RoleBinding) tables() []string    { return []string{"role_bindings"} }
func (SessionRevoked) tables() []string { return []string{"revoked_sessions"} }
func (JWTKey) tables() []string         { return []string{"jwt_keys"} }
func (FeatureFlag) tables() []string    { return []string{"feature_flags"} }

// bulkLoad replaces the tenant's rows with the snapshot's in one
// transaction, together with its chain state and the stream cursor.
func (r *Replica) bulkLoad(ctx context.Context, snap *tenantSnapshot, streamSeq uint64) error {
	tenant := snap.anchor.Tenant
	err := r.inTx(ctx, func(tx *txExec) error {
		if err := deleteTenantRows(tx, tenant); err != nil {
			return err
		}
		rebuild, err := dropIndexesForLoad(tx, snap.changes)
		if err != nil {
			return err
		}
		if err := insertAll(tx, tenant, snap.changes); err != nil {
			return err
		}
		for _, stmt := range rebuild {
			if err := tx.exec(stmt); err != nil {
				return err
			}
		}
		if err := saveChain(tx, tenant, snap.anchor, snap.state, !snap.hasTenant); err != nil {
			return err
		}
		return saveCursor(tx, max(streamSeq, r.StreamCursor()))
	})
	if err == nil {
		// A large load leaves a WAL as big as the data; fold it into the
		// database and truncate it rather than keep twice the size on disk.
		if _, cerr := r.writer.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); cerr != nil {
			r.log.WarnContext(ctx, "replica: WAL checkpoint after a snapshot load failed", "error", cerr)
		}
	}
	return err
}

// bulkBatchRows is how many accounts or bindings one INSERT carries during
// a snapshot load: one statement per row costs more in cgo and database/sql
// overhead than SQLite needs to store the row.
const bulkBatchRows = 100

// insertAll inserts the snapshot's rows; accounts and bindings (the bulk of
// a tenant) go in multi-row INSERTs of bulkBatchRows.
func insertAll(tx execer, tenant string, changes []Change) error {
	accounts := rowBatch{tx: tx, head: `INSERT INTO accounts (tenant_id, id, status, version) VALUES `, cols: 4}
	bindings := rowBatch{tx: tx, head: `INSERT INTO role_bindings (tenant_id, id, account_id, role_id, organization_id) VALUES `, cols: 5}
	for _, c := range changes {
		var err error
		switch c := c.(type) {
		case Account:
			err = accounts.add(tenant, c.ID, c.Status, c.Version)
		case RoleBinding:
			err = bindings.add(tenant, c.ID, c.AccountID, c.RoleID, c.OrganizationID)
		default:
			err = c.(inserter).insert(tx, tenant)
		}
		if err != nil {
			return err
		}
	}
	if err := accounts.flush(); err != nil {
		return err
	}
	return bindings.flush()
}

// rowBatch accumulates rows for one multi-row INSERT.
type rowBatch struct {
	tx   execer
	head string
	cols int
	args []any
	full string // the statement for a full batch, built once
}

func (b *rowBatch) add(row ...any) error {
	b.args = append(b.args, row...)
	if len(b.args) < bulkBatchRows*b.cols {
		return nil
	}
	if b.full == "" {
		b.full = b.statement(bulkBatchRows)
	}
	err := b.tx.exec(b.full, b.args...)
	b.args = b.args[:0]
	return err
}

func (b *rowBatch) flush() error {
	if len(b.args) == 0 {
		return nil
	}
	err := b.tx.exec(b.statement(len(b.args)/b.cols), b.args...)
	b.args = b.args[:0]
	return err
}

func (b *rowBatch) statement(rows int) string {
	tuple := "(?" + strings.Repeat(", ?", b.cols-1) + ")"
	return b.head + tuple + strings.Repeat(", "+tuple, rows-1)
}

// dropIndexesForLoad drops the indexes of each table that the load will at
// least double (and by at least BulkIndexThreshold rows) and returns the
// statements that rebuild them, read back from sqlite_master so the
// migrations stay their only definition.
func dropIndexesForLoad(tx *txExec, changes []Change) ([]string, error) {
	incoming := map[string]int{}
	for _, c := range changes {
		for _, t := range c.(inserter).tables() {
			incoming[t]++
		}
	}
	var rebuild []string
	for table, n := range incoming {
		if n < BulkIndexThreshold || table == "tenants" {
			continue
		}
		var existing int
		if err := tx.tx.QueryRowContext(tx.ctx, `SELECT count(*) FROM `+table).Scan(&existing); err != nil {
			return nil, err
		}
		if n < existing {
			continue
		}
		stmts, err := dropIndexes(tx, table)
		if err != nil {
			return nil, err
		}
		rebuild = append(rebuild, stmts...)
	}
	return rebuild, nil
}

func dropIndexes(tx *txExec, table string) ([]string, error) {
	rows, err := tx.tx.QueryContext(tx.ctx,
		`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`, table)
	if err != nil {
		return nil, err
	}
	var names, stmts []string
	for rows.Next() {
		var name string
		var stmt sql.NullString
		if err := rows.Scan(&name, &stmt); err != nil {
			rows.Close()
			return nil, err
		}
		names, stmts = append(names, name), append(stmts, stmt.String)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, name := range names {
		if err := tx.exec(`DROP INDEX "` + name + `"`); err != nil {
			return nil, err
		}
	}
	return stmts, nil
}
