package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrOrganizationNotFound is returned for an unknown organization id.
var ErrOrganizationNotFound = errors.Join(errors.New("store: organization not found"), ErrNotFound)

// ErrParentNotFound is returned when the given parent does not exist in the tenant.
var ErrParentNotFound = errors.Join(errors.New("store: parent organization not found"), ErrUnknownReference)

// Organization is a node of a tenant's organization tree.
type Organization struct {
	ID        OrgID     `json:"id"`
	ParentID  *OrgID    `json:"parent_id"`
	Name      string    `json:"name"`
	Depth     int       `json:"depth"`
	Path      string    `json:"-"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

const orgColumns = `id, parent_id, name, depth, path, version, created_at, updated_at`

// orgLockKey serialises moves against creates within one tenant: creates
// take it shared, moves exclusively, so a subtree never moves while a child
// is being added under its old path.
const orgLockKey = `hashtextextended('iam.organizations:' || $1::text, 0)`

func scanOrg(row pgx.Row) (Organization, error) {
	var o Organization
	err := row.Scan(&o.ID, &o.ParentID, &o.Name, &o.Depth, &o.Path, &o.Version, &o.CreatedAt, &o.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, ErrOrganizationNotFound
	}
	return o, err
}

// CreateOrganization adds an organization under parent (nil: a root).
func (t *Tx) CreateOrganization(ctx context.Context, actor Actor, name string, parent *OrgID) (Organization, error) {
	if err := checkName("name", name); err != nil {
		return Organization{}, err
	}
	if _, err := t.exec(ctx, `SELECT pg_advisory_xact_lock_shared(`+orgLockKey+`)`, t.tenant.UUID); err != nil {
		return Organization{}, err
	}
	id := OrgID{newID()}
	path, depth := id.String()+"/", 0
	if parent != nil {
		p, err := t.GetOrganization(ctx, *parent)
		if errors.Is(err, ErrNotFound) {
			return Organization{}, ErrParentNotFound
		}
		if err != nil {
			return Organization{}, err
		}
		path, depth = p.Path+path, p.Depth+1
	}
	o, err := scanOrg(t.queryRow(ctx, `INSERT INTO organizations (tenant_id, id, parent_id, name, path, depth, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING `+orgColumns,
		t.tenant.UUID, id.UUID, parent, name, path, depth, t.now()))
	if err != nil {
		return Organization{}, err
	}
	return o, t.record(ctx, actor,
		AuditEvent{Action: "organization.create", TargetType: "organization", TargetID: id.String()},
		Event{Type: "melmastoon.iam.organization.created.v1", Subject: id.String(), Data: o})
}

// GetOrganization returns one organization of the tenant.
func (t *Tx) GetOrganization(ctx context.Context, id OrgID) (Organization, error) {
	return scanOrg(t.queryRow(ctx, `SELECT `+orgColumns+` FROM organizations WHERE tenant_id = $1 AND id = $2`, t.tenant.UUID, id.UUID))
}

// ListChildren lists the direct children of parent (nil: the roots), ordered
// by id (creation order), after the id `after` (nil: from the start).
func (t *Tx) ListChildren(ctx context.Context, parent *OrgID, after *OrgID, limit int) ([]Organization, error) {
	if parent != nil {
		if _, err := t.GetOrganization(ctx, *parent); err != nil {
			return nil, err
		}
	}
	rows, err := t.query(ctx, `SELECT `+orgColumns+` FROM organizations
		WHERE tenant_id = $1 AND parent_id IS NOT DISTINCT FROM $2 AND ($3::uuid IS NULL OR id > $3)
		ORDER BY id LIMIT $4`, t.tenant.UUID, parent, after, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanOrg)
}

// ListSubtree lists root and all its descendants in depth-first pre-order
// (children in creation order), resuming after the path `afterPath`. The
// materialized path makes this a single index range scan, no sort.
func (t *Tx) ListSubtree(ctx context.Context, root OrgID, afterPath string, limit int) ([]Organization, error) {
	r, err := t.GetOrganization(ctx, root)
	if err != nil {
		return nil, err
	}
	if afterPath != "" && !strings.HasPrefix(afterPath, r.Path) {
		return nil, &FieldError{Field: "cursor", Reason: "does not belong to this subtree"}
	}
	from := max(afterPath, r.Path)
	op := ">"
	if afterPath == "" {
		op = ">="
	}
	rows, err := t.query(ctx, `SELECT `+orgColumns+` FROM organizations
		WHERE tenant_id = $1 AND path `+op+` $2 AND path < $3 ORDER BY path LIMIT $4`,
		t.tenant.UUID, from, prefixEnd(r.Path), limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanOrg)
}

// prefixEnd returns the smallest string greater than every string with this
// prefix (paths end in '/', so '/'+1 = '0' closes the range).
func prefixEnd(prefix string) string {
	return prefix[:len(prefix)-1] + string(prefix[len(prefix)-1]+1)
}

// ListAncestors lists the ancestors of id from the root down (id excluded).
func (t *Tx) ListAncestors(ctx context.Context, id OrgID) ([]Organization, error) {
	o, err := t.GetOrganization(ctx, id)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(strings.TrimSuffix(o.Path, "/"), "/")
	ids := parts[:len(parts)-1]
	rows, err := t.query(ctx, `SELECT `+orgColumns+` FROM organizations
		WHERE tenant_id = $1 AND id = ANY($2::uuid[]) ORDER BY depth`, t.tenant.UUID, ids)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanOrg)
}

// MoveOrganization re-parents id (and its whole subtree) under newParent
// (nil: make it a root). Moving under itself or a descendant is ErrCycle.
func (t *Tx) MoveOrganization(ctx context.Context, actor Actor, id OrgID, newParent *OrgID, ifMatch int64) (Organization, error) {
	if _, err := t.exec(ctx, `SELECT pg_advisory_xact_lock(`+orgLockKey+`)`, t.tenant.UUID); err != nil {
		return Organization{}, err
	}
	o, err := t.GetOrganization(ctx, id)
	if err != nil {
		return Organization{}, err
	}
	if ifMatch != 0 && ifMatch != o.Version {
		return Organization{}, ErrVersionMismatch
	}
	newPath, newDepth := id.String()+"/", 0
	if newParent != nil {
		p, err := t.GetOrganization(ctx, *newParent)
		if errors.Is(err, ErrNotFound) {
			return Organization{}, ErrParentNotFound
		}
		if err != nil {
			return Organization{}, err
		}
		if strings.HasPrefix(p.Path, o.Path) {
			return Organization{}, ErrCycle
		}
		newPath, newDepth = p.Path+newPath, p.Depth+1
	}
	_, err = t.exec(ctx, `UPDATE organizations
		SET path = $3 || substr(path, length($2) + 1), depth = depth + $4,
		    parent_id = CASE WHEN id = $5 THEN $6 ELSE parent_id END,
		    version = version + CASE WHEN id = $5 THEN 1 ELSE 0 END, updated_at = $7
		WHERE tenant_id = $1 AND path >= $2 AND path < $8`,
		t.tenant.UUID, o.Path, newPath, newDepth-o.Depth, id.UUID, newParent, t.now(), prefixEnd(o.Path))
	if err != nil {
		return Organization{}, err
	}
	moved, err := t.GetOrganization(ctx, id)
	if err != nil {
		return Organization{}, err
	}
	return moved, t.record(ctx, actor,
		AuditEvent{Action: "organization.move", TargetType: "organization", TargetID: id.String(),
			Details: map[string]any{"from_parent": o.ParentID, "to_parent": newParent}},
		Event{Type: "melmastoon.iam.organization.moved.v1", Subject: id.String(), Data: moved})
}
