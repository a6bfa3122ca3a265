package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Errors of role bindings.
var (
	ErrBindingNotFound = errors.Join(errors.New("store: role binding not found"), ErrNotFound)
	// ErrBindingAccount, ErrBindingRole and ErrBindingOrganization name the
	// reference of a new binding that does not exist in the tenant (for
	// example a role of another tenant).
	ErrBindingAccount      = errors.Join(errors.New("store: binding account not found in tenant"), ErrUnknownReference)
	ErrBindingRole         = errors.Join(errors.New("store: binding role not found in tenant"), ErrUnknownReference)
	ErrBindingOrganization = errors.Join(errors.New("store: binding organization not found in tenant"), ErrUnknownReference)
)

// RoleBinding grants a role to an account on an organization and all its
// descendants.
type RoleBinding struct {
	ID             BindingID `json:"id"`
	AccountID      AccountID `json:"account_id"`
	RoleID         RoleID    `json:"role_id"`
	OrganizationID OrgID     `json:"organization_id"`
	CreatedAt      time.Time `json:"created_at"`
}

// BindingFilter narrows ListBindings; nil fields match all.
type BindingFilter struct {
	Account      *AccountID
	Organization *OrgID
}

const bindingColumns = `id, account_id, role_id, organization_id, created_at`

func scanBinding(row pgx.Row) (RoleBinding, error) {
	var b RoleBinding
	err := row.Scan(&b.ID, &b.AccountID, &b.RoleID, &b.OrganizationID, &b.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, ErrBindingNotFound
	}
	return b, err
}

// CreateBinding binds role to account on org. Each reference must exist in
// the transaction's tenant; the error names the one that does not.
func (t *Tx) CreateBinding(ctx context.Context, actor Actor, account AccountID, role RoleID, org OrgID) (RoleBinding, error) {
	id := BindingID{newID()}
	b, err := scanBinding(t.queryRow(ctx, `INSERT INTO role_bindings (tenant_id, id, account_id, role_id, organization_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+bindingColumns,
		t.tenant.UUID, id.UUID, account.UUID, role.UUID, org.UUID, t.now()))
	if err != nil {
		return RoleBinding{}, bindingReference(classify(err))
	}
	return b, t.record(ctx, actor,
		AuditEvent{Action: "role_binding.create", TargetType: "role_binding", TargetID: id.String(),
			Details: map[string]any{"account_id": account, "role_id": role, "organization_id": org}},
		Event{Type: "melmastoon.iam.role_binding.created.v1", Subject: id.String(), Data: b})
}

func bindingReference(err error) error {
	if !errors.Is(err, ErrUnknownReference) {
		return err
	}
	switch msg := err.Error(); {
	case strings.Contains(msg, "account_id"):
		return ErrBindingAccount
	case strings.Contains(msg, "role_id"):
		return ErrBindingRole
	case strings.Contains(msg, "organization_id"):
		return ErrBindingOrganization
	}
	return err
}

// GetBinding returns one binding.
func (t *Tx) GetBinding(ctx context.Context, id BindingID) (RoleBinding, error) {
	return scanBinding(t.queryRow(ctx, `SELECT `+bindingColumns+` FROM role_bindings WHERE tenant_id = $1 AND id = $2`, t.tenant.UUID, id.UUID))
}

// ListBindings lists bindings in id order after `after`.
func (t *Tx) ListBindings(ctx context.Context, f BindingFilter, after *BindingID, limit int) ([]RoleBinding, error) {
	rows, err := t.query(ctx, `SELECT `+bindingColumns+` FROM role_bindings
		WHERE tenant_id = $1 AND ($2::uuid IS NULL OR account_id = $2) AND ($3::uuid IS NULL OR organization_id = $3)
		  AND ($4::uuid IS NULL OR id > $4) ORDER BY id LIMIT $5`, t.tenant.UUID, f.Account, f.Organization, after, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanBinding)
}

// DeleteBinding removes a binding; a tombstone goes to the outbox.
func (t *Tx) DeleteBinding(ctx context.Context, actor Actor, id BindingID) error {
	b, err := scanBinding(t.queryRow(ctx, `DELETE FROM role_bindings WHERE tenant_id = $1 AND id = $2 RETURNING `+bindingColumns,
		t.tenant.UUID, id.UUID))
	if err != nil {
		return err
	}
	return t.record(ctx, actor,
		AuditEvent{Action: "role_binding.delete", TargetType: "role_binding", TargetID: id.String(),
			Details: map[string]any{"account_id": b.AccountID, "role_id": b.RoleID, "organization_id": b.OrganizationID}},
		Event{Type: "melmastoon.iam.role_binding.deleted.v1", Subject: id.String(), Data: map[string]any{"id": id}})
}
