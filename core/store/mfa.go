package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrTicketInvalid is returned for an unknown, used or expired MFA ticket.
var ErrTicketInvalid = errors.New("store: mfa ticket invalid")

// SetTOTPSecret stores a sealed, unconfirmed TOTP secret (re-enrolment
// replaces an unconfirmed one).
func (t *Tx) SetTOTPSecret(ctx context.Context, actor Actor, id AccountID, sealed []byte) error {
	_, err := t.exec(ctx, `UPDATE accounts SET totp_secret_sealed = $3, totp_confirmed_at = NULL, totp_last_step = 0
		WHERE tenant_id = $1 AND id = $2`, t.tenant.UUID, id.UUID, sealed)
	if err != nil {
		return err
	}
	return t.Audit(ctx, actor, AuditEvent{Action: "mfa.enroll", TargetType: "account", TargetID: id.String()})
}

// ConfirmTOTP marks the secret confirmed at step and replaces the recovery codes.
func (t *Tx) ConfirmTOTP(ctx context.Context, actor Actor, id AccountID, step int64, codeHashes [][]byte) error {
	if _, err := t.exec(ctx, `UPDATE accounts SET totp_confirmed_at = $3, totp_last_step = $4 WHERE tenant_id = $1 AND id = $2`,
		t.tenant.UUID, id.UUID, t.now(), step); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `DELETE FROM recovery_codes WHERE tenant_id = $1 AND account_id = $2`, t.tenant.UUID, id.UUID); err != nil {
		return err
	}
	for i, h := range codeHashes {
		if _, err := t.exec(ctx, `INSERT INTO recovery_codes (tenant_id, account_id, idx, code_hash) VALUES ($1, $2, $3, $4)`,
			t.tenant.UUID, id.UUID, i, h); err != nil {
			return err
		}
	}
	return t.Audit(ctx, actor, AuditEvent{Action: "mfa.confirm", TargetType: "account", TargetID: id.String()})
}

// AdvanceTOTPStep records an accepted code's time step; it fails (returns
// false) when the step is not newer than the last one used, so a replayed
// code is refused even under concurrency.
func (t *Tx) AdvanceTOTPStep(ctx context.Context, id AccountID, step int64) (bool, error) {
	tag, err := t.exec(ctx, `UPDATE accounts SET totp_last_step = $3 WHERE tenant_id = $1 AND id = $2 AND totp_last_step < $3`,
		t.tenant.UUID, id.UUID, step)
	return tag.RowsAffected() == 1, err
}

// UnusedRecoveryCodes lists the hashes of unused recovery codes by index.
func (t *Tx) UnusedRecoveryCodes(ctx context.Context, id AccountID) (map[int][]byte, error) {
	rows, err := t.query(ctx, `SELECT idx, code_hash FROM recovery_codes WHERE tenant_id = $1 AND account_id = $2 AND used_at IS NULL`,
		t.tenant.UUID, id.UUID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int][]byte{}
	for rows.Next() {
		var i int
		var h []byte
		if err := rows.Scan(&i, &h); err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, rows.Err()
}

// UseRecoveryCode marks code idx used; false when it was used meanwhile.
func (t *Tx) UseRecoveryCode(ctx context.Context, id AccountID, idx int) (bool, error) {
	tag, err := t.exec(ctx, `UPDATE recovery_codes SET used_at = $4 WHERE tenant_id = $1 AND account_id = $2 AND idx = $3 AND used_at IS NULL`,
		t.tenant.UUID, id.UUID, idx, t.now())
	return tag.RowsAffected() == 1, err
}

// CreateMFATicket stores the hash of a ticket valid for ttl.
func (t *Tx) CreateMFATicket(ctx context.Context, id AccountID, ticketHash []byte, ttl time.Duration) error {
	now := t.now()
	_, err := t.exec(ctx, `INSERT INTO mfa_tickets (tenant_id, ticket_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		t.tenant.UUID, ticketHash, id.UUID, now, now.Add(ttl))
	return err
}

// ClaimMFATicket locks a live ticket and counts an attempt; after
// maxAttempts attempts the ticket is spent. It returns the account.
func (t *Tx) ClaimMFATicket(ctx context.Context, ticketHash []byte, maxAttempts int) (AccountID, error) {
	var id AccountID
	err := t.queryRow(ctx, `UPDATE mfa_tickets SET attempts = attempts + 1
		WHERE tenant_id = $1 AND ticket_hash = $2 AND used_at IS NULL AND expires_at > $3 AND attempts < $4
		RETURNING account_id`, t.tenant.UUID, ticketHash, t.now(), maxAttempts).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return id, ErrTicketInvalid
	}
	return id, err
}

// SpendMFATicket marks a ticket used.
func (t *Tx) SpendMFATicket(ctx context.Context, ticketHash []byte) error {
	_, err := t.exec(ctx, `UPDATE mfa_tickets SET used_at = $3 WHERE tenant_id = $1 AND ticket_hash = $2`, t.tenant.UUID, ticketHash, t.now())
	return err
}
