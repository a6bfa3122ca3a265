package api

import (
	"net/http"

	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/internal/problem"
)

type createBindingRequest struct {
	AccountID      string `json:"account_id"`
	RoleID         string `json:"role_id"`
	OrganizationID string `json:"organization_id"`
}

func bodyID[T any](field, v string, parse func(string) (T, error)) (T, error) {
	id, err := parse(v)
	if err != nil {
		return id, &problem.Error{Code: problem.ValidationInvalidID, Field: field, Detail: field + " must be a UUID"}
	}
	return id, nil
}

func (s *Server) createBinding(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	return s.mutate(w, r, slug, func(tx *store.Tx, body []byte) (result, error) {
		var req createBindingRequest
		if err := decodeStrict(body, &req); err != nil {
			return result{}, err
		}
		account, err := bodyID("account_id", req.AccountID, store.ParseAccountID)
		if err != nil {
			return result{}, err
		}
		role, err := bodyID("role_id", req.RoleID, store.ParseRoleID)
		if err != nil {
			return result{}, err
		}
		org, err := bodyID("organization_id", req.OrganizationID, store.ParseOrgID)
		if err != nil {
			return result{}, err
		}
		if err := s.allow(r, tx, permBindingWrite, &org); err != nil {
			return result{}, err
		}
		b, err := tx.CreateBinding(r.Context(), s.actor(r), account, role, org)
		return result{status: http.StatusCreated, body: b}, err
	})
}

func (s *Server) getBinding(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, store.ParseBindingID)
	if err != nil {
		return err
	}
	var b store.RoleBinding
	if err := s.read(r, permBindingRead, nil, func(tx *store.Tx) (err error) { b, err = tx.GetBinding(r.Context(), id); return err }); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, b)
}

func (s *Server) listBindings(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	after, err := cursorID(cursor, store.ParseBindingID)
	if err != nil {
		return err
	}
	var f store.BindingFilter
	q := r.URL.Query()
	if v := q.Get("account_id"); v != "" {
		id, err := bodyID("account_id", v, store.ParseAccountID)
		if err != nil {
			return err
		}
		f.Account = &id
	}
	if v := q.Get("organization_id"); v != "" {
		id, err := bodyID("organization_id", v, store.ParseOrgID)
		if err != nil {
			return err
		}
		f.Organization = &id
	}
	var items []store.RoleBinding
	if err := s.read(r, permBindingRead, f.Organization, func(tx *store.Tx) (err error) {
		items, err = tx.ListBindings(r.Context(), f, after, limit+1)
		return err
	}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, paginate(items, limit, func(b store.RoleBinding) string { return b.ID.String() }))
}

func (s *Server) deleteBinding(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, store.ParseBindingID)
	if err != nil {
		return err
	}
	return s.mutate(w, r, slug, func(tx *store.Tx, _ []byte) (result, error) {
		b, err := tx.GetBinding(r.Context(), id)
		if err != nil {
			return result{}, err
		}
		if err := s.allow(r, tx, permBindingWrite, &b.OrganizationID); err != nil {
			return result{}, err
		}
		return result{status: http.StatusNoContent}, tx.DeleteBinding(r.Context(), s.actor(r), id)
	})
}
