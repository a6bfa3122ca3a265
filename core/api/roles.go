package api

import (
	"net/http"

	"github.com/melmastoon/iam/core/store"
)

type createRoleRequest struct {
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
}

type setPermissionsRequest struct {
	Permissions []string `json:"permissions"`
}

func (s *Server) createRole(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	return s.mutate(w, r, slug, func(tx *store.Tx, body []byte) (result, error) {
		var req createRoleRequest
		if err := decodeStrict(body, &req); err != nil {
			return result{}, err
		}
		if err := required("name", req.Name); err != nil {
			return result{}, err
		}
		if err := s.allow(r, tx, permRoleWrite, nil); err != nil {
			return result{}, err
		}
		role, err := tx.CreateRole(r.Context(), s.actor(r), req.Name, orEmpty(req.Permissions))
		return result{status: http.StatusCreated, body: role, etag: etag(role.Version)}, err
	})
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Server) getRole(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, store.ParseRoleID)
	if err != nil {
		return err
	}
	var role store.Role
	if err := s.read(r, permRoleRead, nil, func(tx *store.Tx) (err error) { role, err = tx.GetRole(r.Context(), id); return err }); err != nil {
		return err
	}
	w.Header().Set("ETag", etag(role.Version))
	return writeJSON(w, http.StatusOK, role)
}

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	after, err := cursorID(cursor, store.ParseRoleID)
	if err != nil {
		return err
	}
	var items []store.Role
	if err := s.read(r, permRoleRead, nil, func(tx *store.Tx) (err error) { items, err = tx.ListRoles(r.Context(), after, limit+1); return err }); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, paginate(items, limit, func(x store.Role) string { return x.ID.String() }))
}

func (s *Server) setRolePermissions(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, store.ParseRoleID)
	if err != nil {
		return err
	}
	match, err := ifMatch(r)
	if err != nil {
		return err
	}
	return s.mutate(w, r, slug, func(tx *store.Tx, body []byte) (result, error) {
		var req setPermissionsRequest
		if err := decodeStrict(body, &req); err != nil {
			return result{}, err
		}
		if err := s.allow(r, tx, permRoleWrite, nil); err != nil {
			return result{}, err
		}
		role, err := tx.SetRolePermissions(r.Context(), s.actor(r), id, orEmpty(req.Permissions), match)
		return result{status: http.StatusOK, body: role, etag: etag(role.Version)}, err
	})
}

func (s *Server) deleteRole(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, store.ParseRoleID)
	if err != nil {
		return err
	}
	match, err := ifMatch(r)
	if err != nil {
		return err
	}
	return s.mutate(w, r, slug, func(tx *store.Tx, _ []byte) (result, error) {
		if err := s.allow(r, tx, permRoleWrite, nil); err != nil {
			return result{}, err
		}
		return result{status: http.StatusNoContent}, tx.DeleteRole(r.Context(), s.actor(r), id, match)
	})
}

func (s *Server) listPermissions(w http.ResponseWriter, r *http.Request) error {
	var items []string
	if err := s.read(r, permRoleRead, nil, func(tx *store.Tx) (err error) { items, err = tx.ListPermissions(r.Context()); return err }); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, paginate(items, len(items)+1, func(string) string { return "" }))
}
