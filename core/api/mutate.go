package api

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/internal/problem"
)

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

// result is what a mutation answers.
type result struct {
	status int
	body   any    // nil: no body (204)
	etag   string // "" when the resource is not versioned or was deleted
}

type mutation func(tx *store.Tx, body []byte) (result, error)

// mutate runs fn in one transaction in the tenant named by slug (or the
// global scope when slug is ""), honouring Idempotency-Key on POST and PUT: the key is
// claimed in the same transaction as the change, so a replay, a conflicting
// reuse and a concurrent duplicate are all decided by the database.
func (s *Server) mutate(w http.ResponseWriter, r *http.Request, slug string, fn mutation) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	hash := requestHash(r, body)
	var out store.StoredResponse
	replayed := false
	run := func(tx *store.Tx) error {
		if key != "" {
			stored, err := tx.ClaimIdempotencyKey(r.Context(), key, hash)
			if err != nil {
				return err
			}
			if stored != nil {
				out, replayed = *stored, true
				return nil
			}
		}
		res, err := fn(tx, body)
		if err != nil {
			return err
		}
		if out, err = encodeResult(res); err != nil {
			return err
		}
		if key == "" {
			return nil
		}
		return tx.StoreResponse(r.Context(), key, out)
	}
	if slug == "" {
		err = s.cfg.Store.Global(r.Context(), run)
	} else {
		err = s.cfg.Store.InTenantSlug(r.Context(), slug, run)
	}
	if err != nil {
		return err
	}
	if replayed {
		w.Header().Set("Idempotency-Replayed", "true")
	}
	writeStored(w, out)
	return nil
}

func idempotencyKey(r *http.Request) (string, error) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" || r.Method != http.MethodPost && r.Method != http.MethodPut {
		return "", nil
	}
	if len(key) > maxIdempotencyKey {
		return "", problem.New(problem.IdempotencyKeyInvalid, "Idempotency-Key must be 1-255 visible ASCII characters")
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return "", problem.New(problem.IdempotencyKeyInvalid, "Idempotency-Key must be 1-255 visible ASCII characters")
		}
	}
	return key, nil
}

// requestHash binds a key to the caller, the method, the path and the
// exact body: another caller reusing the key gets 422, never the stored
// response (which may hold the first caller's secrets).
func requestHash(r *http.Request, body []byte) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s %s\n", callerID(r), r.Method, r.URL.Path)
	h.Write(body)
	return h.Sum(nil)
}

// callerID names the authenticated caller ("-" for public routes).
func callerID(r *http.Request) string {
	c := callerOf(r)
	switch {
	case c.bootstrap:
		return "bootstrap"
	case c.principal.Account != (store.AccountID{}):
		return "account:" + c.principal.Account.String()
	}
	return "-"
}

func encodeResult(res result) (store.StoredResponse, error) {
	out := store.StoredResponse{Status: res.status, Headers: map[string]string{}}
	if res.etag != "" {
		out.Headers["ETag"] = res.etag
	}
	if res.body == nil {
		return out, nil
	}
	b, err := json.Marshal(res.body)
	if err != nil {
		return out, fmt.Errorf("api: encode response: %w", err)
	}
	out.Body = append(b, '\n')
	out.Headers["Content-Type"] = "application/json"
	return out, nil
}

func writeStored(w http.ResponseWriter, out store.StoredResponse) {
	for k, v := range out.Headers {
		w.Header().Set(k, v)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(out.Status)
	_, _ = w.Write(out.Body)
}
