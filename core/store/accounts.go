package store

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrAccountNotFound is returned for an unknown account id.
var ErrAccountNotFound = errors.Join(errors.New("store: account not found"), ErrNotFound)

// Account statuses.
const (
	AccountActive   = "active"
	AccountLocked   = "locked"
	AccountDisabled = "disabled"
)

// Account is a person or service that signs in.
type Account struct {
	ID          AccountID `json:"id"`
	Username    string    `json:"username"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
	Status      string    `json:"status"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// AccountChanges holds the fields of an update; nil fields stay.
type AccountChanges struct {
	Email       *string
	DisplayName *string
	Status      *string
}

const accountColumns = `id, username, email, display_name, status, version, created_at, updated_at`

func scanAccount(row pgx.Row) (Account, error) {
	var a Account
	err := row.Scan(&a.ID, &a.Username, &a.Email, &a.DisplayName, &a.Status, &a.Version, &a.CreatedAt, &a.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, ErrAccountNotFound
	}
	return a, err
}

// accountEvent is what replicates: ids and status, no PII.
func accountEvent(a Account) map[string]any {
	return map[string]any{"id": a.ID, "status": a.Status, "version": a.Version}
}

// CreateAccount creates an active account.
func (t *Tx) CreateAccount(ctx context.Context, actor Actor, username, email, displayName string) (Account, error) {
	if err := validateAccount(username, email, displayName); err != nil {
		return Account{}, err
	}
	id := AccountID{newID()}
	a, err := scanAccount(t.queryRow(ctx, `INSERT INTO accounts (tenant_id, id, username, email, display_name, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING `+accountColumns,
		t.tenant.UUID, id.UUID, username, email, displayName, t.now()))
	if err != nil {
		return Account{}, err
	}
	return a, t.record(ctx, actor,
		AuditEvent{Action: "account.create", TargetType: "account", TargetID: id.String()},
		Event{Type: "melmastoon.iam.account.created.v1", Subject: id.String(), Data: accountEvent(a)})
}

// GetAccount returns one account of the tenant.
func (t *Tx) GetAccount(ctx context.Context, id AccountID) (Account, error) {
	return scanAccount(t.queryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE tenant_id = $1 AND id = $2`, t.tenant.UUID, id.UUID))
}

// ListAccounts lists accounts in id (creation) order after `after`.
func (t *Tx) ListAccounts(ctx context.Context, after *AccountID, limit int) ([]Account, error) {
	rows, err := t.query(ctx, `SELECT `+accountColumns+` FROM accounts
		WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3`, t.tenant.UUID, after, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanAccount)
}

// UpdateAccount changes email, display name or status.
func (t *Tx) UpdateAccount(ctx context.Context, actor Actor, id AccountID, ch AccountChanges, ifMatch int64) (Account, error) {
	cur, err := t.GetAccount(ctx, id)
	if err != nil {
		return Account{}, err
	}
	if ifMatch != 0 && ifMatch != cur.Version {
		return Account{}, ErrVersionMismatch
	}
	next := cur
	applyString(&next.Email, ch.Email)
	applyString(&next.DisplayName, ch.DisplayName)
	applyString(&next.Status, ch.Status)
	if err := validateAccount(next.Username, next.Email, next.DisplayName); err != nil {
		return Account{}, err
	}
	if !validStatus(next.Status) {
		return Account{}, &FieldError{Field: "status", Reason: "must be active, locked or disabled"}
	}
	a, err := scanAccount(t.queryRow(ctx, `UPDATE accounts SET email = $3, display_name = $4, status = $5,
		version = version + 1, updated_at = $6 WHERE tenant_id = $1 AND id = $2 AND version = $7 RETURNING `+accountColumns,
		t.tenant.UUID, id.UUID, next.Email, next.DisplayName, next.Status, t.now(), cur.Version))
	if errors.Is(err, ErrNotFound) {
		return Account{}, ErrVersionMismatch
	}
	if err != nil {
		return Account{}, err
	}
	action := "account.update"
	if cur.Status != a.Status {
		action = "account.status_change"
	}
	return a, t.record(ctx, actor,
		AuditEvent{Action: action, TargetType: "account", TargetID: id.String(),
			Details: map[string]any{"status_from": cur.Status, "status_to": a.Status}},
		Event{Type: "melmastoon.iam.account.updated.v1", Subject: id.String(), Data: accountEvent(a)})
}

func applyString(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}

func validStatus(s string) bool {
	return s == AccountActive || s == AccountLocked || s == AccountDisabled
}

func validateAccount(username, email, displayName string) error {
	if n := len(username); n < 1 || n > 100 || strings.TrimSpace(username) != username || strings.ContainsAny(username, " \t\r\n/") {
		return &FieldError{Field: "username", Reason: "must be 1-100 characters without spaces or slashes"}
	}
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email || len(email) > 254 {
		return &FieldError{Field: "email", Reason: "must be a plain e-mail address"}
	}
	if len([]rune(displayName)) > 200 {
		return &FieldError{Field: "display_name", Reason: "must be at most 200 characters"}
	}
	return nil
}

// EraseAccount deletes an account with everything that hangs off it
// (credentials, sessions and refresh tokens, bindings, devices, recovery
// codes) and sends an account.erased tombstone, so edges keep nothing of
// it either. Audit rows keep only the account id, which is not personal data.
func (t *Tx) EraseAccount(ctx context.Context, actor Actor, id AccountID) error {
	tag, err := t.exec(ctx, `DELETE FROM accounts WHERE tenant_id = $1 AND id = $2`, t.tenant.UUID, id.UUID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrAccountNotFound
	}
	return t.record(ctx, actor,
		AuditEvent{Action: "account.erase", TargetType: "account", TargetID: id.String()},
		Event{Type: "melmastoon.iam.account.erased.v1", Subject: id.String(), Data: map[string]any{"id": id}})
}
