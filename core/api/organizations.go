package api

import (
	"errors"
	"net/http"

	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/internal/problem"
)

type createOrganizationRequest struct {
	Name     string  `json:"name"`
	ParentID *string `json:"parent_id"`
}

type moveOrganizationRequest struct {
	ParentID *string `json:"parent_id"`
}

// read runs fn in a read transaction scoped to the {tenant} of r, after
// checking that the caller holds perm on org (nil: tenant-wide).
func (s *Server) read(r *http.Request, perm string, org *store.OrgID, fn func(*store.Tx) error) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	return s.cfg.Store.InTenantSlug(r.Context(), slug, func(tx *store.Tx) error {
		if err := s.allow(r, tx, perm, org); err != nil {
			return err
		}
		return fn(tx)
	})
}

// optionalOrgID parses an optional organization id from field.
func optionalOrgID(field string, v *string) (*store.OrgID, error) {
	if v == nil {
		return nil, nil
	}
	id, err := store.ParseOrgID(*v)
	if err != nil {
		return nil, &problem.Error{Code: problem.ValidationInvalidID, Field: field, Detail: field + " must be a UUID"}
	}
	return &id, nil
}

func pathID[T any](r *http.Request, parse func(string) (T, error)) (T, error) {
	id, err := parse(r.PathValue("id"))
	if err != nil {
		return id, &problem.Error{Code: problem.ValidationInvalidID, Field: "id", Detail: "id must be a UUID"}
	}
	return id, nil
}

func (s *Server) createOrganization(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	return s.mutate(w, r, slug, func(tx *store.Tx, body []byte) (result, error) {
		var req createOrganizationRequest
		if err := decodeStrict(body, &req); err != nil {
			return result{}, err
		}
		if err := required("name", req.Name); err != nil {
			return result{}, err
		}
		parent, err := optionalOrgID("parent_id", req.ParentID)
		if err != nil {
			return result{}, err
		}
		if err := s.allow(r, tx, permOrgWrite, parent); err != nil {
			return result{}, err
		}
		o, err := tx.CreateOrganization(r.Context(), s.actor(r), req.Name, parent)
		return result{status: http.StatusCreated, body: o, etag: etag(o.Version)}, err
	})
}

func (s *Server) getOrganization(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, store.ParseOrgID)
	if err != nil {
		return err
	}
	var o store.Organization
	if err := s.read(r, permOrgRead, &id, func(tx *store.Tx) (err error) { o, err = tx.GetOrganization(r.Context(), id); return err }); err != nil {
		return err
	}
	w.Header().Set("ETag", etag(o.Version))
	return writeJSON(w, http.StatusOK, o)
}

func (s *Server) moveOrganization(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, store.ParseOrgID)
	if err != nil {
		return err
	}
	match, err := ifMatch(r)
	if err != nil {
		return err
	}
	return s.mutate(w, r, slug, func(tx *store.Tx, body []byte) (result, error) {
		var req moveOrganizationRequest
		if err := decodeStrict(body, &req); err != nil {
			return result{}, err
		}
		parent, err := optionalOrgID("parent_id", req.ParentID)
		if err != nil {
			return result{}, err
		}
		if err := s.allow(r, tx, permOrgWrite, &id); err != nil {
			return result{}, err
		}
		if err := s.allow(r, tx, permOrgWrite, parent); err != nil {
			return result{}, err
		}
		o, err := tx.MoveOrganization(r.Context(), s.actor(r), id, parent, match)
		return result{status: http.StatusOK, body: o, etag: etag(o.Version)}, err
	})
}

func (s *Server) listRootOrganizations(w http.ResponseWriter, r *http.Request) error {
	return s.listChildrenOf(w, r, nil)
}

func (s *Server) listChildren(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, store.ParseOrgID)
	if err != nil {
		return err
	}
	return s.listChildrenOf(w, r, &id)
}

func (s *Server) listChildrenOf(w http.ResponseWriter, r *http.Request, parent *store.OrgID) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	after, err := cursorID(cursor, store.ParseOrgID)
	if err != nil {
		return err
	}
	var items []store.Organization
	err = s.read(r, permOrgRead, parent, func(tx *store.Tx) (err error) {
		items, err = tx.ListChildren(r.Context(), parent, after, limit+1)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, paginate(items, limit, func(o store.Organization) string { return o.ID.String() }))
}

func (s *Server) listSubtree(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, store.ParseOrgID)
	if err != nil {
		return err
	}
	limit, after, err := pageParams(r)
	if err != nil {
		return err
	}
	var items []store.Organization
	err = s.read(r, permOrgRead, &id, func(tx *store.Tx) (err error) {
		items, err = tx.ListSubtree(r.Context(), id, after, limit+1)
		return err
	})
	if err != nil {
		var fe *store.FieldError
		if errors.As(err, &fe) {
			return &problem.Error{Code: problem.PaginationCursor, Field: "cursor", Detail: "cursor does not belong to this subtree"}
		}
		return err
	}
	return writeJSON(w, http.StatusOK, paginate(items, limit, func(o store.Organization) string { return o.Path }))
}

func (s *Server) listAncestors(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, store.ParseOrgID)
	if err != nil {
		return err
	}
	var items []store.Organization
	if err := s.read(r, permOrgRead, &id, func(tx *store.Tx) (err error) { items, err = tx.ListAncestors(r.Context(), id); return err }); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, paginate(items, len(items)+1, func(store.Organization) string { return "" }))
}

// cursorID parses a cursor that holds an id; "" means from the start.
func cursorID[T any](cursor string, parse func(string) (T, error)) (*T, error) {
	if cursor == "" {
		return nil, nil
	}
	id, err := parse(cursor)
	if err != nil {
		return nil, &problem.Error{Code: problem.PaginationCursor, Field: "cursor", Detail: "cursor is not one this server issued"}
	}
	return &id, nil
}
