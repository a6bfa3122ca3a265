package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// IdempotencyTTL is how long a key is remembered.
const IdempotencyTTL = 24 * time.Hour

// StoredResponse is the response recorded under an idempotency key.
type StoredResponse struct {
	Status  int
	Body    []byte
	Headers map[string]string
}

// ClaimIdempotencyKey claims key for a request whose hash is requestHash, in
// this transaction. It returns (nil, nil) when the key is fresh and now
// claimed: the caller performs the mutation and calls StoreResponse. It
// returns the stored response when the same request was already answered, and
// ErrIdempotencyReuse when the key was used with a different request. A
// concurrent duplicate blocks on the claim until the first transaction ends.
func (t *Tx) ClaimIdempotencyKey(ctx context.Context, key string, requestHash []byte) (*StoredResponse, error) {
	now := t.now()
	// An expired key is forgotten first so it can be claimed afresh.
	if _, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND expires_at <= $3`,
		t.tenant.UUID, key, now); err != nil {
		return nil, fmt.Errorf("store: idempotency: %w", err)
	}
	tag, err := t.exec(ctx, `INSERT INTO idempotency_keys (tenant_id, key, request_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		t.tenant.UUID, key, requestHash, now, now.Add(IdempotencyTTL))
	if err != nil {
		return nil, fmt.Errorf("store: idempotency claim: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return nil, nil
	}
	return t.storedResponse(ctx, key, requestHash)
}

func (t *Tx) storedResponse(ctx context.Context, key string, requestHash []byte) (*StoredResponse, error) {
	var (
		hash    []byte
		resp    StoredResponse
		headers []byte
	)
	err := t.queryRow(ctx, `SELECT request_hash, status_code, response_body, response_headers
		FROM idempotency_keys WHERE tenant_id = $1 AND key = $2`, t.tenant.UUID, key).
		Scan(&hash, &resp.Status, &resp.Body, &headers)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: idempotency key vanished: %w", ErrUnavailable)
	}
	if err != nil {
		return nil, fmt.Errorf("store: idempotency read: %w", err)
	}
	if !bytes.Equal(hash, requestHash) {
		return nil, ErrIdempotencyReuse
	}
	if err := json.Unmarshal(headers, &resp.Headers); err != nil {
		return nil, fmt.Errorf("store: idempotency headers: %w", err)
	}
	return &resp, nil
}

// StoreResponse records the response of a claimed key.
func (t *Tx) StoreResponse(ctx context.Context, key string, resp StoredResponse) error {
	headers, err := json.Marshal(resp.Headers)
	if err != nil {
		return fmt.Errorf("store: idempotency headers: %w", err)
	}
	_, err = t.exec(ctx, `UPDATE idempotency_keys SET status_code = $3, response_body = $4, response_headers = $5
		WHERE tenant_id = $1 AND key = $2`, t.tenant.UUID, key, resp.Status, resp.Body, headers)
	if err != nil {
		return fmt.Errorf("store: idempotency store: %w", err)
	}
	return nil
}

// PurgeExpiredIdempotencyKeys deletes expired keys of the transaction's tenant.
func (t *Tx) PurgeExpiredIdempotencyKeys(ctx context.Context) (int64, error) {
	tag, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE tenant_id = $1 AND expires_at <= $2`, t.tenant.UUID, t.now())
	if err != nil {
		return 0, fmt.Errorf("store: purge idempotency keys: %w", err)
	}
	return tag.RowsAffected(), nil
}

// ReleaseIdempotencyKey forgets a claimed key whose request failed, so a
// retry with the same key runs again.
func (t *Tx) ReleaseIdempotencyKey(ctx context.Context, key string) error {
	_, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND status_code = 0`, t.tenant.UUID, key)
	return err
}
