package store

import "context"

// ReplicaDigest computes, from PostgreSQL, the digest an edge's replica of
// this tenant must have (docs/deltas.md, "Replica digest"): SHA-256 over
// the sorted lines describing every replicated row, joined with "\n".
func (t *Tx) ReplicaDigest(ctx context.Context) (string, error) {
	var d string
	err := t.queryRow(ctx, `SELECT encode(sha256(convert_to(coalesce(string_agg(line, E'\n' ORDER BY line COLLATE "C"), ''), 'UTF8')), 'hex')
	FROM (
		SELECT 'tenant ' || id || ' ' || slug || ' ' || status || ' ' || name AS line FROM tenants WHERE id = $1 AND status <> 'deleted'
		UNION ALL SELECT 'org ' || id || ' ' || coalesce(parent_id::text, '-') || ' ' || name FROM organizations WHERE tenant_id = $1
		UNION ALL SELECT 'account ' || id || ' ' || status FROM accounts WHERE tenant_id = $1
		UNION ALL SELECT 'role ' || id || ' ' || name FROM roles WHERE tenant_id = $1
		UNION ALL SELECT 'perm ' || role_id || ' ' || permission FROM role_permissions WHERE tenant_id = $1
		UNION ALL SELECT 'binding ' || id || ' ' || account_id || ' ' || role_id || ' ' || organization_id FROM role_bindings WHERE tenant_id = $1
		UNION ALL SELECT 'jwtkey ' || kid || ' ' || state FROM signing_keys WHERE tenant_id = $1
		UNION ALL SELECT 'session_revoked ' || id FROM sessions WHERE tenant_id = $1 AND revoked_at IS NOT NULL
		UNION ALL SELECT 'flag ' || name || ' ' || enabled::text || ' ' || rollout_percent FROM feature_flags WHERE tenant_id = $1
		UNION ALL SELECT 'device ' || id || ' ' || account_id || ' ' || status || ' ' || cert_serial FROM devices WHERE tenant_id = $1
		UNION ALL SELECT 'tenant_ca ' || max(generation) FROM tenant_cas WHERE tenant_id = $1 AND state = 'active' HAVING count(*) > 0
	) lines`, t.tenant.UUID).Scan(&d)
	return d, err
}
