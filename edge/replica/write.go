package replica

import (
	"context"
	"database/sql"
	"strings"
)

// execer runs one statement inside the current transaction.
type execer interface {
	exec(query string, args ...any) error
}

// txExec runs statements in one transaction. Statements are prepared once
// on the writer (its single connection) and bound to each transaction, so a
// delta costs no SQL parsing.
type txExec struct {
	ctx    context.Context
	tx     *sql.Tx
	cache  *stmtCache
	stmts  map[string]*sql.Stmt // bound to tx
	missed []string             // to prepare on the writer after the tx
}

func newTxExec(ctx context.Context, tx *sql.Tx, cache *stmtCache) *txExec {
	return &txExec{ctx: ctx, tx: tx, cache: cache, stmts: map[string]*sql.Stmt{}}
}

func (t *txExec) exec(query string, args ...any) error {
	st, ok := t.stmts[query]
	if !ok {
		var err error
		if st, err = t.bind(query); err != nil {
			return err
		}
		t.stmts[query] = st
	}
	_, err := st.ExecContext(t.ctx, args...)
	return err
}

// bind returns query as a statement of the transaction: the writer's
// prepared one if cached, else prepared in the transaction (the writer's
// only connection is busy with it) and remembered for after the commit.
func (t *txExec) bind(query string) (*sql.Stmt, error) {
	if prepared, ok := t.cache.stmts[query]; ok {
		return t.tx.StmtContext(t.ctx, prepared), nil
	}
	if !strings.HasPrefix(query, "INSERT") && !strings.HasPrefix(query, "UPDATE") && !strings.HasPrefix(query, "DELETE") {
		return t.tx.PrepareContext(t.ctx, query) // DDL and the like: not worth caching
	}
	t.missed = append(t.missed, query)
	return t.tx.PrepareContext(t.ctx, query)
}

func (t *txExec) close() {
	for _, st := range t.stmts {
		st.Close()
	}
}

// stmtCache holds the writer's prepared statements; used only under the
// replica's applyMu.
type stmtCache struct {
	db    *sql.DB
	stmts map[string]*sql.Stmt
}

// prepare caches the queries a transaction missed; call it outside any
// transaction. A failure only means the query is prepared per transaction.
func (c *stmtCache) prepare(ctx context.Context, queries []string) {
	for _, q := range queries {
		if _, ok := c.stmts[q]; ok {
			continue
		}
		if st, err := c.db.PrepareContext(ctx, q); err == nil {
			c.stmts[q] = st
		}
	}
}

func (c *stmtCache) close() {
	for _, st := range c.stmts {
		st.Close()
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (c Tenant) write(tx execer, _ string) error {
	return tx.exec(`INSERT INTO tenants (id, slug, name, status, version) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET slug = excluded.slug, name = excluded.name,
		status = excluded.status, version = excluded.version`, c.ID, c.Slug, c.Name, c.Status, c.Version)
}

func (c Organization) write(tx execer, tenant string) error {
	return tx.exec(`INSERT INTO organizations (tenant_id, id, parent_id, name, depth, version)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, id) DO UPDATE SET parent_id = excluded.parent_id,
		name = excluded.name, depth = excluded.depth, version = excluded.version`,
		tenant, c.ID, nullable(c.ParentID), c.Name, c.Depth, c.Version)
}

func (c Account) write(tx execer, tenant string) error {
	return tx.exec(`INSERT INTO accounts (tenant_id, id, status, version) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, id) DO UPDATE SET status = excluded.status, version = excluded.version`,
		tenant, c.ID, c.Status, c.Version)
}

func (c Role) write(tx execer, tenant string) error {
	err := tx.exec(`INSERT INTO roles (tenant_id, id, name, version) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, version = excluded.version`,
		tenant, c.ID, c.Name, c.Version)
	if err != nil {
		return err
	}
	if err := tx.exec(`DELETE FROM role_permissions WHERE tenant_id = ? AND role_id = ?`, tenant, c.ID); err != nil {
		return err
	}
	return insertPermissions(tx, tenant, c)
}

func insertPermissions(tx execer, tenant string, c Role) error {
	for _, p := range c.Permissions {
		if err := tx.exec(`INSERT INTO role_permissions (tenant_id, role_id, permission) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`, tenant, c.ID, p); err != nil {
			return err
		}
	}
	return nil
}

func (c RoleBinding) write(tx execer, tenant string) error {
	return tx.exec(`INSERT INTO role_bindings (tenant_id, id, account_id, role_id, organization_id)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, id) DO UPDATE SET account_id = excluded.account_id,
		role_id = excluded.role_id, organization_id = excluded.organization_id`,
		tenant, c.ID, c.AccountID, c.RoleID, c.OrganizationID)
}

func (c SessionRevoked) write(tx execer, tenant string) error {
	return tx.exec(`INSERT INTO revoked_sessions (tenant_id, id, account_id, revoked_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, id) DO UPDATE SET account_id = excluded.account_id, revoked_at = excluded.revoked_at`,
		tenant, c.ID, c.AccountID, c.RevokedAt)
}

func (c JWTKey) write(tx execer, tenant string) error {
	return tx.exec(`INSERT INTO jwt_keys (tenant_id, kid, public_key, alg, state, not_before, retire_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, kid) DO UPDATE SET public_key = excluded.public_key,
		alg = excluded.alg, state = excluded.state, not_before = excluded.not_before, retire_at = excluded.retire_at`,
		tenant, c.Kid, c.PublicKey, c.Alg, c.State, nullable(c.NotBefore), nullable(c.RetireAt))
}

// entityTables are every tenant-scoped table a tenant tombstone empties
// (tenants itself is keyed by id).
var entityTables = []string{"organizations", "accounts", "roles", "role_permissions",
	"role_bindings", "revoked_sessions", "jwt_keys", "feature_flags", "devices", "tenant_cas"}

// write removes every row of the tenant, its signed device history too.
func (c TenantDeleted) write(tx execer, tenant string) error {
	for _, table := range rawTables {
		if err := tx.exec(`DELETE FROM `+table+` WHERE tenant_id = ?`, tenant); err != nil {
			return err
		}
	}
	return deleteTenantRows(tx, tenant)
}

func deleteTenantRows(tx execer, tenant string) error {
	for _, table := range entityTables {
		if err := tx.exec(`DELETE FROM `+table+` WHERE tenant_id = ?`, tenant); err != nil {
			return err
		}
	}
	return tx.exec(`DELETE FROM tenants WHERE id = ?`, tenant)
}

func (c AccountErased) write(tx execer, tenant string) error {
	return execAll(tx, tenant, c.ID,
		`DELETE FROM role_bindings WHERE tenant_id = ? AND account_id = ?`,
		`DELETE FROM revoked_sessions WHERE tenant_id = ? AND account_id = ?`,
		// The account's devices go with it, as core's foreign key cascades.
		`DELETE FROM device_deltas WHERE tenant_id = ?1 AND device_id IN (SELECT id FROM devices WHERE tenant_id = ?1 AND account_id = ?2)`,
		`DELETE FROM devices WHERE tenant_id = ? AND account_id = ?`,
		`DELETE FROM accounts WHERE tenant_id = ? AND id = ?`)
}

func (c RoleDeleted) write(tx execer, tenant string) error {
	return execAll(tx, tenant, c.ID,
		`DELETE FROM role_bindings WHERE tenant_id = ? AND role_id = ?`,
		`DELETE FROM role_permissions WHERE tenant_id = ? AND role_id = ?`,
		`DELETE FROM roles WHERE tenant_id = ? AND id = ?`)
}

func (c RoleBindingDeleted) write(tx execer, tenant string) error {
	return tx.exec(`DELETE FROM role_bindings WHERE tenant_id = ? AND id = ?`, tenant, c.ID)
}

func execAll(tx execer, tenant, id string, queries ...string) error {
	for _, q := range queries {
		if err := tx.exec(q, tenant, id); err != nil {
			return err
		}
	}
	return nil
}

func (c FeatureFlag) write(tx execer, tenant string) error {
	return tx.exec(`INSERT INTO feature_flags (tenant_id, name, enabled, rollout_percent, version) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, name) DO UPDATE SET enabled = excluded.enabled, rollout_percent = excluded.rollout_percent,
		version = excluded.version`, tenant, c.Name, c.Enabled, c.RolloutPercent, c.Version)
}
