package store

import "context"

// GrantRow is one permission a binding gives on an organization or an
// ancestor of it: the role's permission as stored (wildcards included).
type GrantRow struct {
	Permission string
	Binding    BindingID
	Role       RoleID
	BoundOrg   OrgID
}

// EffectiveGrants lists what account holds in org through its bindings on
// org and its ancestors, whatever the account's status (callers check it).
func (t *Tx) EffectiveGrants(ctx context.Context, account AccountID, org OrgID) ([]GrantRow, error) {
	o, err := t.GetOrganization(ctx, org)
	if err != nil {
		return nil, err
	}
	rows, err := t.query(ctx, `SELECT p.permission, b.id, b.role_id, b.organization_id
		FROM role_bindings b
		JOIN organizations bo ON bo.tenant_id = b.tenant_id AND bo.id = b.organization_id
		JOIN role_permissions p ON p.tenant_id = b.tenant_id AND p.role_id = b.role_id
		WHERE b.tenant_id = $1 AND b.account_id = $2 AND left($3::text, length(bo.path)) = bo.path
		ORDER BY p.permission, bo.depth DESC, b.id`, t.tenant.UUID, account.UUID, o.Path)
	if err != nil {
		return nil, err
	}
	var out []GrantRow
	for rows.Next() {
		var g GrantRow
		if err := rows.Scan(&g.Permission, &g.Binding, &g.Role, &g.BoundOrg); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}
