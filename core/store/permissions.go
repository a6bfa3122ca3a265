package store

import "context"

// HasPermission reports whether an active account holds perm on org: some
// binding of the account sits on org or an ancestor of it and its role has
// perm, or a wildcard covering it ("iam.*" covers "iam.accounts.write").
// With org nil the question is tenant-wide: the binding must sit on a root
// organization.
func (t *Tx) HasPermission(ctx context.Context, account AccountID, perm string, org *OrgID) (bool, error) {
	var path *string
	if org != nil {
		o, err := t.GetOrganization(ctx, *org)
		if err != nil {
			return false, err
		}
		path = &o.Path
	}
	var ok bool
	err := t.queryRow(ctx, `SELECT EXISTS (
		SELECT 1 FROM role_bindings b
		JOIN accounts a ON a.tenant_id = b.tenant_id AND a.id = b.account_id AND a.status = 'active'
		JOIN organizations bo ON bo.tenant_id = b.tenant_id AND bo.id = b.organization_id
		JOIN role_permissions p ON p.tenant_id = b.tenant_id AND p.role_id = b.role_id
		WHERE b.tenant_id = $1 AND b.account_id = $2
		  AND (($3::text IS NULL AND bo.depth = 0) OR ($3::text IS NOT NULL AND left($3::text, length(bo.path)) = bo.path))
		  AND (p.permission = $4 OR (right(p.permission, 2) = '.*' AND left($4, length(p.permission) - 1) = left(p.permission, -1))))`,
		t.tenant.UUID, account.UUID, path, perm).Scan(&ok)
	return ok, err
}
