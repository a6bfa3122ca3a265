package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Credentials is what sign-in needs of an account; it never leaves core.
type Credentials struct {
	Account         Account
	PasswordHash    string // PHC string; "" when no password is set
	FailedLogins    int
	LockedUntil     *time.Time
	LockCount       int
	TOTPSealed      []byte
	TOTPConfirmed   bool
	TOTPLastStep    int64
	PasswordChanged *time.Time
}

const credentialColumns = accountColumns + `, COALESCE(password_hash, ''), failed_logins, locked_until, lock_count,
	totp_secret_sealed, totp_confirmed_at IS NOT NULL, totp_last_step, password_changed_at`

func scanCredentials(row pgx.Row) (Credentials, error) {
	var c Credentials
	a := &c.Account
	err := row.Scan(&a.ID, &a.Username, &a.Email, &a.DisplayName, &a.Status, &a.Version, &a.CreatedAt, &a.UpdatedAt,
		&c.PasswordHash, &c.FailedLogins, &c.LockedUntil, &c.LockCount, &c.TOTPSealed, &c.TOTPConfirmed, &c.TOTPLastStep, &c.PasswordChanged)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrAccountNotFound
	}
	return c, err
}

// CredentialsByUsername loads an account's credentials by username
// (case-insensitive) and locks the row for the rest of the transaction, so
// concurrent failures count exactly.
func (t *Tx) CredentialsByUsername(ctx context.Context, username string) (Credentials, error) {
	return scanCredentials(t.queryRow(ctx, `SELECT `+credentialColumns+` FROM accounts
		WHERE tenant_id = $1 AND lower(username) = lower($2) FOR UPDATE`, t.tenant.UUID, strings.TrimSpace(username)))
}

// CredentialsByID loads and locks an account's credentials by id.
func (t *Tx) CredentialsByID(ctx context.Context, id AccountID) (Credentials, error) {
	return scanCredentials(t.queryRow(ctx, `SELECT `+credentialColumns+` FROM accounts
		WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, t.tenant.UUID, id.UUID))
}

// SetPasswordHash stores a new password hash. audit, when non-empty, is the
// audit action to record (rehash on login is not audited separately).
func (t *Tx) SetPasswordHash(ctx context.Context, actor Actor, id AccountID, phc, audit string) error {
	tag, err := t.exec(ctx, `UPDATE accounts SET password_hash = $3, password_changed_at = $4, updated_at = $4
		WHERE tenant_id = $1 AND id = $2`, t.tenant.UUID, id.UUID, phc, t.now())
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrAccountNotFound
	}
	if audit == "" {
		return nil
	}
	return t.Audit(ctx, actor, AuditEvent{Action: audit, TargetType: "account", TargetID: id.String()})
}

// RecordLoginFailure counts a failed sign-in; when the count reaches
// lockAfter the account is locked until lockUntil (audited as account.lock).
// It returns whether this failure locked the account.
func (t *Tx) RecordLoginFailure(ctx context.Context, actor Actor, id AccountID, lockAfter int, lockFor func(lockCount int) time.Duration) (bool, error) {
	var failed, locks int
	err := t.queryRow(ctx, `UPDATE accounts SET failed_logins = failed_logins + 1
		WHERE tenant_id = $1 AND id = $2 RETURNING failed_logins, lock_count`, t.tenant.UUID, id.UUID).Scan(&failed, &locks)
	if err != nil {
		return false, err
	}
	if failed < lockAfter {
		return false, nil
	}
	until := t.now().Add(lockFor(locks))
	if _, err := t.exec(ctx, `UPDATE accounts SET locked_until = $3, lock_count = lock_count + 1, failed_logins = 0
		WHERE tenant_id = $1 AND id = $2`, t.tenant.UUID, id.UUID, until); err != nil {
		return false, err
	}
	return true, t.Audit(ctx, actor, AuditEvent{Action: "account.lock", TargetType: "account", TargetID: id.String(),
		Details: map[string]any{"reason": "failed_logins", "locked_until": until, "lock_count": locks + 1}})
}

// ResetLoginFailures clears the failure counter after a successful sign-in.
func (t *Tx) ResetLoginFailures(ctx context.Context, id AccountID) error {
	_, err := t.exec(ctx, `UPDATE accounts SET failed_logins = 0, lock_count = 0 WHERE tenant_id = $1 AND id = $2 AND (failed_logins <> 0 OR lock_count <> 0)`,
		t.tenant.UUID, id.UUID)
	return err
}

// UnlockAccount lifts a temporary lock and an administrative "locked" status.
func (t *Tx) UnlockAccount(ctx context.Context, actor Actor, id AccountID) (Account, error) {
	a, err := scanAccount(t.queryRow(ctx, `UPDATE accounts SET locked_until = NULL, failed_logins = 0, lock_count = 0,
		status = CASE WHEN status = 'locked' THEN 'active' ELSE status END, version = version + 1, updated_at = $3
		WHERE tenant_id = $1 AND id = $2 RETURNING `+accountColumns, t.tenant.UUID, id.UUID, t.now()))
	if err != nil {
		return Account{}, err
	}
	return a, t.record(ctx, actor,
		AuditEvent{Action: "account.unlock", TargetType: "account", TargetID: id.String()},
		Event{Type: "melmastoon.iam.account.updated.v1", Subject: id.String(), Data: accountEvent(a)})
}
