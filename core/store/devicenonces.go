package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Nonce purposes (device_nonces.purpose).
const (
	NonceEnroll = "enroll"
	NonceRenew  = "renew"
	NonceToken  = "token"
)

// Reasons a device nonce is refused. Each is distinct so the API can name
// it; none of them changes anything.
var (
	ErrNonceUnknown = errors.New("store: nonce unknown or issued to another account")
	ErrNonceUsed    = errors.New("store: nonce already used")
	ErrNonceExpired = errors.New("store: nonce expired")
)

func nonceHash(nonce []byte) []byte {
	h := sha256.Sum256(nonce)
	return h[:]
}

// CreateEnrollNonce stores an enrollment nonce for account (hashed),
// valid until expires.
func (t *Tx) CreateEnrollNonce(ctx context.Context, account AccountID, nonce []byte, expires time.Time) error {
	_, err := t.exec(ctx, `INSERT INTO device_nonces (tenant_id, nonce_hash, purpose, account_id, expires_at)
		VALUES ($1, $2, 'enroll', $3, $4)`, t.tenant.UUID, nonceHash(nonce), account.UUID, expires)
	return err
}

// ConsumeEnrollNonce marks account's enrollment nonce used. It fails with
// ErrNonceUnknown (no such nonce for this account), ErrNonceUsed or
// ErrNonceExpired. The row stays locked until the transaction ends, so two
// enrollments with one nonce cannot both succeed.
func (t *Tx) ConsumeEnrollNonce(ctx context.Context, account AccountID, nonce []byte) error {
	var expires time.Time
	var used *time.Time
	err := t.queryRow(ctx, `SELECT expires_at, used_at FROM device_nonces
		WHERE tenant_id = $1 AND nonce_hash = $2 AND purpose = 'enroll' AND account_id = $3 FOR UPDATE`,
		t.tenant.UUID, nonceHash(nonce), account.UUID).Scan(&expires, &used)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return ErrNonceUnknown
	case err != nil:
		return err
	case used != nil:
		return ErrNonceUsed
	case !t.now().Before(expires):
		return ErrNonceExpired
	}
	_, err = t.exec(ctx, `UPDATE device_nonces SET used_at = $3 WHERE tenant_id = $1 AND nonce_hash = $2`,
		t.tenant.UUID, nonceHash(nonce), t.now())
	return err
}

// UseRequestNonce records a device-made nonce (renewal or token request)
// as used, kept until expires (the end of its freshness window). A nonce
// seen before is ErrNonceUsed.
func (t *Tx) UseRequestNonce(ctx context.Context, device DeviceID, purpose string, nonce []byte, expires time.Time) error {
	if purpose != NonceRenew && purpose != NonceToken {
		return fmt.Errorf("store: nonce purpose %q", purpose)
	}
	tag, err := t.exec(ctx, `INSERT INTO device_nonces (tenant_id, nonce_hash, purpose, device_id, expires_at, used_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, nonce_hash) DO NOTHING`,
		t.tenant.UUID, nonceHash(nonce), purpose, device.UUID, expires, t.now())
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrNonceUsed
	}
	return nil
}

// PurgeDeviceNonces deletes expired device nonces of every tenant.
func (s *Store) PurgeDeviceNonces(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT iam_purge_device_nonces()`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: purge device nonces: %w", classify(err))
	}
	return n, nil
}
