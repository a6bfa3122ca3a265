package api

import (
	"context"
	"net/http"

	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/internal/problem"
)

// sealedMarker flags a stored response whose body is sealed with the KEK.
const sealedMarker = "Iam-Sealed"

// staged honours Idempotency-Key for calls that cannot run inside one
// transaction (sign-in hashes a password, which must not hold a database
// connection). The key is claimed in a transaction of its own; a duplicate
// arriving while the first is still running gets 409 with Retry-After; a
// failed call releases the key. Responses carry tokens, so they are stored
// sealed with the key-encryption key; the request is stored only as a hash.
func (s *Server) staged(w http.ResponseWriter, r *http.Request, slug string, body []byte, process func() (result, error)) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	if key == "" {
		res, err := process()
		if err != nil {
			return err
		}
		out, err := encodeResult(res)
		if err != nil {
			return err
		}
		writeStored(w, out)
		return nil
	}
	if stored, err := s.claimStaged(r, slug, key, requestHash(r, body)); err != nil || stored != nil {
		if err == nil {
			w.Header().Set("Idempotency-Replayed", "true")
			writeStored(w, *stored)
		}
		return err
	}
	res, err := process()
	if err != nil {
		rctx := context.WithoutCancel(r.Context())
		_ = s.cfg.Store.InTenantSlug(rctx, slug, func(tx *store.Tx) error {
			return tx.ReleaseIdempotencyKey(rctx, key)
		})
		return err
	}
	out, err := encodeResult(res)
	if err != nil {
		return err
	}
	sealed := out
	sealed.Headers = map[string]string{sealedMarker: "1"}
	for k, v := range out.Headers {
		sealed.Headers[k] = v
	}
	if sealed.Body, err = s.cfg.Auth.Seal(r.Context(), slug, callerID(r)+"\n"+key, out.Body); err != nil {
		return err
	}
	err = s.cfg.Store.InTenantSlug(r.Context(), slug, func(tx *store.Tx) error { return tx.StoreResponse(r.Context(), key, sealed) })
	if err != nil {
		return err
	}
	writeStored(w, out)
	return nil
}

// claimStaged claims key; it returns the stored response of a finished
// duplicate, or a problem for one still running.
func (s *Server) claimStaged(r *http.Request, slug, key string, hash []byte) (*store.StoredResponse, error) {
	ctx := r.Context()
	var stored *store.StoredResponse
	err := s.cfg.Store.InTenantSlug(ctx, slug, func(tx *store.Tx) (err error) {
		stored, err = tx.ClaimIdempotencyKey(ctx, key, hash)
		return err
	})
	if err != nil || stored == nil {
		return nil, err
	}
	if stored.Status == 0 {
		return nil, &problem.Error{Code: problem.IdempotencyInProgress, RetryAfter: 1,
			Detail: "a request with this Idempotency-Key is still being processed"}
	}
	if stored.Headers[sealedMarker] != "" {
		if stored.Body, err = s.cfg.Auth.Open(ctx, slug, callerID(r)+"\n"+key, stored.Body); err != nil {
			return nil, err
		}
		delete(stored.Headers, sealedMarker)
	}
	return stored, nil
}
