package decide

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/melmastoon/iam/authz"
)

// tenantLoad is one tenant as read from the replica.
type tenantLoad struct {
	state   *tenantState
	changes []authz.Change // replaces the tenant in the engine
	revoked map[string]struct{}
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// loadTenant reads tenant id from q. A tenant without a row loads as
// deleted (its keys, if any, are kept for when the row arrives).
func loadTenant(ctx context.Context, q querier, id string) (*tenantLoad, error) {
	l := &tenantLoad{state: &tenantState{id: id, keys: map[string]jwtKey{}}, revoked: map[string]struct{}{}}
	tid := authz.TenantID(id)
	l.changes = append(l.changes, authz.DeleteTenant{Tenant: tid})
	err := scan(ctx, q, `SELECT slug, status FROM tenants WHERE id = ?`, []any{id}, func(r *sql.Rows) error {
		l.state.present = true
		return r.Scan(&l.state.slug, &l.state.status)
	})
	if err != nil {
		return nil, err
	}
	err = scan(ctx, q, `SELECT kid, public_key, alg, state FROM jwt_keys WHERE tenant_id = ?`, []any{id}, func(r *sql.Rows) error {
		var kid string
		var k jwtKey
		if err := r.Scan(&kid, &k.pub, &k.alg, &k.state); err != nil {
			return err
		}
		l.state.keys[kid] = k
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !l.state.present {
		return l, nil
	}
	err = scan(ctx, q, `SELECT name, enabled, rollout_percent FROM feature_flags WHERE tenant_id = ?`, []any{id},
		func(r *sql.Rows) error {
			var name string
			var f flagRule
			if err := r.Scan(&name, &f.enabled, &f.rollout); err != nil {
				return err
			}
			if l.state.flags == nil {
				l.state.flags = map[string]flagRule{}
			}
			l.state.flags[name] = f
			return nil
		})
	if err != nil {
		return nil, err
	}
	// Revoked devices count as revoked sessions: device tokens carry
	// sid = the device id.
	err = scan(ctx, q, `SELECT id FROM revoked_sessions WHERE tenant_id = ?1
		UNION SELECT id FROM devices WHERE tenant_id = ?1 AND status <> 'active'`, []any{id}, func(r *sql.Rows) error {
		var sid string
		err := r.Scan(&sid)
		l.revoked[sid] = struct{}{}
		return err
	})
	if err != nil {
		return nil, err
	}
	l.changes = append(l.changes, authz.UpsertTenant{Tenant: tid})
	if l.changes, err = loadOrgs(ctx, q, tid, l.changes); err != nil {
		return nil, err
	}
	err = scan(ctx, q, `SELECT id, status FROM accounts WHERE tenant_id = ?`, []any{id}, func(r *sql.Rows) error {
		var acc, status string
		if err := r.Scan(&acc, &status); err != nil {
			return err
		}
		l.changes = append(l.changes, authz.UpsertAccount{Tenant: tid, Account: authz.AccountID(acc), Status: accountStatus(status)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if l.changes, err = loadRoles(ctx, q, tid, l.changes); err != nil {
		return nil, err
	}
	err = scan(ctx, q, `SELECT id, account_id, role_id, organization_id FROM role_bindings WHERE tenant_id = ?`, []any{id},
		func(r *sql.Rows) error {
			var b authz.UpsertBinding
			b.Tenant = tid
			if err := r.Scan(&b.Binding, &b.Account, &b.Role, &b.Org); err != nil {
				return err
			}
			l.changes = append(l.changes, b)
			return nil
		})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// loadOrgs appends the tenant's organizations parents first. An
// organization whose parent is missing (never expected) is left out with
// its subtree, so checks on it are denied as unknown_org.
func loadOrgs(ctx context.Context, q querier, tid authz.TenantID, out []authz.Change) ([]authz.Change, error) {
	children := map[string][]string{}
	err := scan(ctx, q, `SELECT id, coalesce(parent_id, '') FROM organizations WHERE tenant_id = ?`, []any{string(tid)},
		func(r *sql.Rows) error {
			var id, parent string
			if err := r.Scan(&id, &parent); err != nil {
				return err
			}
			children[parent] = append(children[parent], id)
			return nil
		})
	if err != nil {
		return nil, err
	}
	queue := []string{""}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		for _, id := range children[parent] {
			out = append(out, authz.UpsertOrg{Tenant: tid, Org: authz.OrgID(id), Parent: authz.OrgID(parent)})
			queue = append(queue, id)
		}
	}
	return out, nil
}

// loadRoles appends the tenant's roles with their permissions.
func loadRoles(ctx context.Context, q querier, tid authz.TenantID, out []authz.Change) ([]authz.Change, error) {
	perms := map[string][]string{}
	var order []string
	err := scan(ctx, q, `SELECT id FROM roles WHERE tenant_id = ?`, []any{string(tid)}, func(r *sql.Rows) error {
		var id string
		err := r.Scan(&id)
		order = append(order, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	err = scan(ctx, q, `SELECT role_id, permission FROM role_permissions WHERE tenant_id = ?`, []any{string(tid)},
		func(r *sql.Rows) error {
			var role, p string
			err := r.Scan(&role, &p)
			perms[role] = append(perms[role], p)
			return err
		})
	if err != nil {
		return nil, err
	}
	for _, id := range order {
		out = append(out, authz.UpsertRole{Tenant: tid, Role: authz.RoleID(id), Permissions: perms[id]})
	}
	return out, nil
}

// scan runs query and calls fn for each row.
func scan(ctx context.Context, q querier, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("decide: load: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("decide: load: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("decide: load: %w", err)
	}
	return nil
}

// tenantIDs lists the tenants to load: every tenant row and every tenant
// with published keys.
func tenantIDs(ctx context.Context, q querier) ([]string, error) {
	var ids []string
	err := scan(ctx, q, `SELECT id FROM tenants UNION SELECT DISTINCT tenant_id FROM jwt_keys`, nil, func(r *sql.Rows) error {
		var id string
		err := r.Scan(&id)
		ids = append(ids, id)
		return err
	})
	return ids, err
}
