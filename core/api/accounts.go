package api

import (
	"net/http"

	"github.com/melmastoon/iam/core/store"
)

type createAccountRequest struct {
	Username    string `json:"username"`
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	Password    string `json:"password"`
}

type updateAccountRequest struct {
	Email       *string `json:"email"`
	DisplayName *string `json:"display_name"`
	Status      *string `json:"status"`
}

func (s *Server) createAccount(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	// The password is hashed before the transaction (Argon2id must not hold
	// a database connection); the body is decoded twice for that.
	body, err := peekBody(w, r)
	if err != nil {
		return err
	}
	var req createAccountRequest
	if err := decodeStrict(body, &req); err != nil {
		return err
	}
	if err := required("username", req.Username); err != nil {
		return err
	}
	if err := required("email", req.Email); err != nil {
		return err
	}
	var phc string
	if req.Password != "" {
		if phc, err = s.cfg.Auth.HashNewPassword(r.Context(), req.Password); err != nil {
			return err
		}
	}
	return s.mutate(w, r, slug, func(tx *store.Tx, _ []byte) (result, error) {
		if err := s.allow(r, tx, permAccountWrite, nil); err != nil {
			return result{}, err
		}
		a, err := tx.CreateAccount(r.Context(), s.actor(r), req.Username, req.Email, req.DisplayName)
		if err == nil && phc != "" {
			err = tx.SetPasswordHash(r.Context(), s.actor(r), a.ID, phc, "")
		}
		return result{status: http.StatusCreated, body: a, etag: etag(a.Version)}, err
	})
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, store.ParseAccountID)
	if err != nil {
		return err
	}
	var a store.Account
	if err := s.read(r, permAccountRead, nil, func(tx *store.Tx) (err error) { a, err = tx.GetAccount(r.Context(), id); return err }); err != nil {
		return err
	}
	w.Header().Set("ETag", etag(a.Version))
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	after, err := cursorID(cursor, store.ParseAccountID)
	if err != nil {
		return err
	}
	var items []store.Account
	if err := s.read(r, permAccountRead, nil, func(tx *store.Tx) (err error) { items, err = tx.ListAccounts(r.Context(), after, limit+1); return err }); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, paginate(items, limit, func(a store.Account) string { return a.ID.String() }))
}

func (s *Server) updateAccount(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, store.ParseAccountID)
	if err != nil {
		return err
	}
	match, err := ifMatch(r)
	if err != nil {
		return err
	}
	return s.mutate(w, r, slug, func(tx *store.Tx, body []byte) (result, error) {
		var req updateAccountRequest
		if err := decodeStrict(body, &req); err != nil {
			return result{}, err
		}
		if err := s.allow(r, tx, permAccountWrite, nil); err != nil {
			return result{}, err
		}
		a, err := tx.UpdateAccount(r.Context(), s.actor(r), id,
			store.AccountChanges{Email: req.Email, DisplayName: req.DisplayName, Status: req.Status}, match)
		return result{status: http.StatusOK, body: a, etag: etag(a.Version)}, err
	})
}

func (s *Server) eraseAccount(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, store.ParseAccountID)
	if err != nil {
		return err
	}
	return s.mutate(w, r, slug, func(tx *store.Tx, _ []byte) (result, error) {
		if err := s.allow(r, tx, permAccountWrite, nil); err != nil {
			return result{}, err
		}
		return result{status: http.StatusNoContent}, tx.EraseAccount(r.Context(), s.actor(r), id)
	})
}
