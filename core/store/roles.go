package store

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrRoleNotFound is returned for an unknown role id.
var ErrRoleNotFound = errors.Join(errors.New("store: role not found"), ErrNotFound)

// MaxPermissionsPerRole bounds a role's permission set.
const MaxPermissionsPerRole = 256

var (
	roleNamePattern   = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,99}$`)
	permissionPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?$`)
)

// ValidPermission reports whether p is a permission name such as
// news.publish, or a wildcard such as iam.* (at least two segments).
func ValidPermission(p string) bool {
	return len(p) <= 200 && strings.Contains(p, ".") && permissionPattern.MatchString(p)
}

// Role is a named set of permissions.
type Role struct {
	ID          RoleID    `json:"id"`
	Name        string    `json:"name"`
	Permissions []string  `json:"permissions"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

const roleColumns = `r.id, r.name, r.version, r.created_at, r.updated_at,
	COALESCE((SELECT array_agg(p.permission ORDER BY p.permission) FROM role_permissions p
	          WHERE p.tenant_id = r.tenant_id AND p.role_id = r.id), '{}')`

func scanRole(row pgx.Row) (Role, error) {
	var r Role
	err := row.Scan(&r.ID, &r.Name, &r.Version, &r.CreatedAt, &r.UpdatedAt, &r.Permissions)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrRoleNotFound
	}
	return r, err
}

func normalizePermissions(perms []string) ([]string, error) {
	if len(perms) > MaxPermissionsPerRole {
		return nil, &FieldError{Field: "permissions", Reason: "too many permissions"}
	}
	for _, p := range perms {
		if !ValidPermission(p) {
			return nil, &FieldError{Field: "permissions", Reason: "invalid permission name " + quote(p)}
		}
	}
	out := slices.Clone(perms)
	slices.Sort(out)
	return slices.Compact(out), nil
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return "\"" + s + "\""
}

// CreateRole creates a role; its permissions join the tenant's catalog.
func (t *Tx) CreateRole(ctx context.Context, actor Actor, name string, perms []string) (Role, error) {
	if !roleNamePattern.MatchString(name) {
		return Role{}, &FieldError{Field: "name", Reason: "must be 1-100 lowercase letters, digits, '.', '_' or '-', starting with a letter"}
	}
	perms, err := normalizePermissions(perms)
	if err != nil {
		return Role{}, err
	}
	id := RoleID{newID()}
	if _, err := t.exec(ctx, `INSERT INTO roles (tenant_id, id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
		t.tenant.UUID, id.UUID, name, t.now()); err != nil {
		return Role{}, err
	}
	if err := t.setRolePermissions(ctx, id, perms); err != nil {
		return Role{}, err
	}
	r, err := t.GetRole(ctx, id)
	if err != nil {
		return Role{}, err
	}
	return r, t.record(ctx, actor,
		AuditEvent{Action: "role.create", TargetType: "role", TargetID: id.String(), Details: map[string]any{"permissions": perms}},
		Event{Type: "melmastoon.iam.role.created.v1", Subject: id.String(), Data: r})
}

func (t *Tx) setRolePermissions(ctx context.Context, id RoleID, perms []string) error {
	if _, err := t.exec(ctx, `INSERT INTO permissions (tenant_id, name) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
		t.tenant.UUID, perms); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `DELETE FROM role_permissions WHERE tenant_id = $1 AND role_id = $2`, t.tenant.UUID, id.UUID); err != nil {
		return err
	}
	_, err := t.exec(ctx, `INSERT INTO role_permissions (tenant_id, role_id, permission) SELECT $1, $2, unnest($3::text[])`,
		t.tenant.UUID, id.UUID, perms)
	return err
}

// GetRole returns one role with its permissions.
func (t *Tx) GetRole(ctx context.Context, id RoleID) (Role, error) {
	return scanRole(t.queryRow(ctx, `SELECT `+roleColumns+` FROM roles r WHERE r.tenant_id = $1 AND r.id = $2`, t.tenant.UUID, id.UUID))
}

// ListRoles lists roles in id order after `after`.
func (t *Tx) ListRoles(ctx context.Context, after *RoleID, limit int) ([]Role, error) {
	rows, err := t.query(ctx, `SELECT `+roleColumns+` FROM roles r
		WHERE r.tenant_id = $1 AND ($2::uuid IS NULL OR r.id > $2) ORDER BY r.id LIMIT $3`, t.tenant.UUID, after, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanRole)
}

// SetRolePermissions replaces a role's permission set.
func (t *Tx) SetRolePermissions(ctx context.Context, actor Actor, id RoleID, perms []string, ifMatch int64) (Role, error) {
	perms, err := normalizePermissions(perms)
	if err != nil {
		return Role{}, err
	}
	cur, err := t.GetRole(ctx, id)
	if err != nil {
		return Role{}, err
	}
	if ifMatch != 0 && ifMatch != cur.Version {
		return Role{}, ErrVersionMismatch
	}
	tag, err := t.exec(ctx, `UPDATE roles SET version = version + 1, updated_at = $3 WHERE tenant_id = $1 AND id = $2 AND version = $4`,
		t.tenant.UUID, id.UUID, t.now(), cur.Version)
	if err != nil {
		return Role{}, err
	}
	if tag.RowsAffected() == 0 {
		return Role{}, ErrVersionMismatch
	}
	if err := t.setRolePermissions(ctx, id, perms); err != nil {
		return Role{}, err
	}
	r, err := t.GetRole(ctx, id)
	if err != nil {
		return Role{}, err
	}
	return r, t.record(ctx, actor,
		AuditEvent{Action: "role.update", TargetType: "role", TargetID: id.String(),
			Details: map[string]any{"permissions_from": cur.Permissions, "permissions_to": perms}},
		Event{Type: "melmastoon.iam.role.updated.v1", Subject: id.String(), Data: r})
}

// DeleteRole deletes a role and, by cascade, its bindings.
func (t *Tx) DeleteRole(ctx context.Context, actor Actor, id RoleID, ifMatch int64) error {
	cur, err := t.GetRole(ctx, id)
	if err != nil {
		return err
	}
	if ifMatch != 0 && ifMatch != cur.Version {
		return ErrVersionMismatch
	}
	if _, err := t.exec(ctx, `DELETE FROM roles WHERE tenant_id = $1 AND id = $2`, t.tenant.UUID, id.UUID); err != nil {
		return err
	}
	return t.record(ctx, actor,
		AuditEvent{Action: "role.delete", TargetType: "role", TargetID: id.String()},
		Event{Type: "melmastoon.iam.role.deleted.v1", Subject: id.String(), Data: map[string]any{"id": id}})
}

// ListPermissions lists the tenant's permission catalog.
func (t *Tx) ListPermissions(ctx context.Context) ([]string, error) {
	rows, err := t.query(ctx, `SELECT name FROM permissions WHERE tenant_id = $1 ORDER BY name`, t.tenant.UUID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
