package api

import (
	"net/http"

	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/internal/problem"
)

type createTenantRequest struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

type updateTenantRequest struct {
	Name string `json:"name"`
}

// slugParam reads and validates the {tenant} path segment.
func slugParam(r *http.Request) (string, error) {
	slug := r.PathValue("tenant")
	if !store.ValidSlug(slug) {
		return "", &problem.Error{Code: problem.ValidationInvalidSlug, Field: "tenant", Detail: "tenant must be a valid slug"}
	}
	return slug, nil
}

func (s *Server) createTenant(w http.ResponseWriter, r *http.Request) error {
	return s.mutate(w, r, "", func(tx *store.Tx, body []byte) (result, error) {
		var req createTenantRequest
		if err := decodeStrict(body, &req); err != nil {
			return result{}, err
		}
		if err := required("slug", req.Slug); err != nil {
			return result{}, err
		}
		if !store.ValidSlug(req.Slug) {
			return result{}, &problem.Error{Code: problem.ValidationInvalidSlug, Field: "slug",
				Detail: "slug must be 3-63 lowercase letters, digits or hyphens, starting with a letter"}
		}
		t, err := s.cfg.Auth.CreateTenant(r.Context(), tx, s.actor(r), req.Slug, req.Name)
		if err == nil && s.cfg.Devices != nil {
			// The tenant's device CA is created and published with it.
			err = tx.AsTenant(r.Context(), t.ID, func() error {
				_, err := s.cfg.Devices.BootstrapCA(r.Context(), tx, s.actor(r))
				return err
			})
		}
		return result{status: http.StatusCreated, body: t, etag: etag(t.Version)}, err
	})
}

func (s *Server) getTenant(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	var t store.Tenant
	err = s.cfg.Store.Global(r.Context(), func(tx *store.Tx) (err error) {
		t, err = tx.GetTenant(r.Context(), slug)
		return err
	})
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(t.Version))
	return writeJSON(w, http.StatusOK, t)
}

func (s *Server) listTenants(w http.ResponseWriter, r *http.Request) error {
	limit, after, err := pageParams(r)
	if err != nil {
		return err
	}
	var items []store.Tenant
	err = s.cfg.Store.Global(r.Context(), func(tx *store.Tx) (err error) {
		items, err = tx.ListTenants(r.Context(), after, limit+1)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, paginate(items, limit, func(t store.Tenant) string { return t.Slug }))
}

func (s *Server) updateTenant(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	match, err := ifMatch(r)
	if err != nil {
		return err
	}
	return s.mutate(w, r, "", func(tx *store.Tx, body []byte) (result, error) {
		var req updateTenantRequest
		if err := decodeStrict(body, &req); err != nil {
			return result{}, err
		}
		t, err := tx.UpdateTenant(r.Context(), s.actor(r), slug, req.Name, match)
		return result{status: http.StatusOK, body: t, etag: etag(t.Version)}, err
	})
}

func (s *Server) deleteTenant(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	match, err := ifMatch(r)
	if err != nil {
		return err
	}
	return s.mutate(w, r, "", func(tx *store.Tx, _ []byte) (result, error) {
		return result{status: http.StatusNoContent}, tx.DeleteTenant(r.Context(), s.actor(r), slug, match)
	})
}
