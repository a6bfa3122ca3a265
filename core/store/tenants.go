package store

import (
	"context"
	"errors"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
)

// Tenant is an isolated customer of the IAM system.
type Tenant struct {
	ID        TenantID  `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

var slugPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,61}[a-z0-9]$`)

// ValidSlug reports whether s is a valid tenant slug: 3–63 characters of
// lowercase letters, digits and inner hyphens, starting with a letter.
func ValidSlug(s string) bool { return slugPattern.MatchString(s) }

const tenantColumns = `id, slug, name, status, version, created_at, updated_at`

func scanTenant(row pgx.Row) (Tenant, error) {
	var t Tenant
	err := row.Scan(&t.ID, &t.Slug, &t.Name, &t.Status, &t.Version, &t.CreatedAt, &t.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, ErrTenantNotFound
	}
	return t, err
}

// CreateTenant creates a tenant. It must run in the global scope; the audit
// and outbox rows belong to the new tenant.
func (t *Tx) CreateTenant(ctx context.Context, actor Actor, slug, name string) (Tenant, error) {
	if !ValidSlug(slug) {
		return Tenant{}, &FieldError{Field: "slug", Reason: "must be 3-63 lowercase letters, digits or hyphens, starting with a letter"}
	}
	if err := checkName("name", name); err != nil {
		return Tenant{}, err
	}
	id := TenantID{newID()}
	tn, err := scanTenant(t.queryRow(ctx, `INSERT INTO tenants (id, slug, name, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $4) RETURNING `+tenantColumns, id.UUID, slug, name, t.now()))
	if err != nil {
		return Tenant{}, err
	}
	err = t.AsTenant(ctx, id, func() error {
		return t.record(ctx, actor,
			AuditEvent{Action: "tenant.create", TargetType: "tenant", TargetID: id.String(), Details: map[string]any{"slug": slug}},
			Event{Type: "melmastoon.iam.tenant.created.v1", Subject: id.String(), Data: tn})
	})
	return tn, err
}

// GetTenant returns the live tenant with this slug.
func (t *Tx) GetTenant(ctx context.Context, slug string) (Tenant, error) {
	return scanTenant(t.queryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE slug = $1 AND status = 'active'`, slug))
}

// ListTenants lists live tenants ordered by slug, after the slug `after`.
func (t *Tx) ListTenants(ctx context.Context, after string, limit int) ([]Tenant, error) {
	rows, err := t.query(ctx, `SELECT `+tenantColumns+` FROM tenants
		WHERE status = 'active' AND slug > $1 ORDER BY slug LIMIT $2`, after, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanTenant)
}

// UpdateTenant renames a tenant. ifMatch, when non-zero, must equal the
// current version (ErrVersionMismatch otherwise).
func (t *Tx) UpdateTenant(ctx context.Context, actor Actor, slug, name string, ifMatch int64) (Tenant, error) {
	if err := checkName("name", name); err != nil {
		return Tenant{}, err
	}
	cur, err := t.GetTenant(ctx, slug)
	if err != nil {
		return Tenant{}, err
	}
	if ifMatch != 0 && ifMatch != cur.Version {
		return Tenant{}, ErrVersionMismatch
	}
	tn, err := scanTenant(t.queryRow(ctx, `UPDATE tenants SET name = $2, version = version + 1, updated_at = $3
		WHERE id = $1 AND version = $4 RETURNING `+tenantColumns, cur.ID.UUID, name, t.now(), cur.Version))
	if errors.Is(err, ErrNotFound) {
		return Tenant{}, ErrVersionMismatch
	}
	if err != nil {
		return Tenant{}, err
	}
	err = t.AsTenant(ctx, tn.ID, func() error {
		return t.record(ctx, actor,
			AuditEvent{Action: "tenant.update", TargetType: "tenant", TargetID: tn.ID.String()},
			Event{Type: "melmastoon.iam.tenant.updated.v1", Subject: tn.ID.String(), Data: tn})
	})
	return tn, err
}

// DeleteTenant marks a tenant deleted: its slug is freed, its resources
// become unreachable, and a tombstone goes to the outbox.
func (t *Tx) DeleteTenant(ctx context.Context, actor Actor, slug string, ifMatch int64) error {
	cur, err := t.GetTenant(ctx, slug)
	if err != nil {
		return err
	}
	if ifMatch != 0 && ifMatch != cur.Version {
		return ErrVersionMismatch
	}
	tag, err := t.exec(ctx, `UPDATE tenants SET status = 'deleted', deleted_at = $2, updated_at = $2, version = version + 1
		WHERE id = $1 AND version = $3`, cur.ID.UUID, t.now(), cur.Version)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrVersionMismatch
	}
	return t.AsTenant(ctx, cur.ID, func() error {
		return t.record(ctx, actor,
			AuditEvent{Action: "tenant.delete", TargetType: "tenant", TargetID: cur.ID.String(), Details: map[string]any{"slug": slug}},
			Event{Type: "melmastoon.iam.tenant.deleted.v1", Subject: cur.ID.String(), Data: map[string]any{"id": cur.ID}})
	})
}

func checkName(field, name string) error {
	if n := len([]rune(name)); n < 1 || n > 200 {
		return &FieldError{Field: field, Reason: "must be 1-200 characters"}
	}
	return nil
}

func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// CurrentTenant returns the live tenant the transaction is scoped to.
func (t *Tx) CurrentTenant(ctx context.Context) (Tenant, error) {
	return scanTenant(t.queryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1 AND status = 'active'`, t.tenant.UUID))
}
