package api

import (
	"net/http"

	"github.com/melmastoon/iam/core/store"
)

type resetPasswordRequest struct {
	Password string `json:"password"`
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, store.ParseAccountID)
	if err != nil {
		return err
	}
	body, err := peekBody(w, r)
	if err != nil {
		return err
	}
	var req resetPasswordRequest
	if err := decodeStrict(body, &req); err != nil {
		return err
	}
	if err := required("password", req.Password); err != nil {
		return err
	}
	phc, err := s.cfg.Auth.HashNewPassword(r.Context(), req.Password)
	if err != nil {
		return withField(err, "password")
	}
	return s.mutate(w, r, slug, func(tx *store.Tx, _ []byte) (result, error) {
		if err := s.allow(r, tx, permAccountWrite, nil); err != nil {
			return result{}, err
		}
		return result{status: http.StatusNoContent}, s.cfg.Auth.ResetPassword(r.Context(), tx, s.actor(r), id, phc)
	})
}

func (s *Server) unlockAccount(w http.ResponseWriter, r *http.Request) error {
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
		a, err := tx.UnlockAccount(r.Context(), s.actor(r), id)
		return result{status: http.StatusOK, body: a, etag: etag(a.Version)}, err
	})
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, store.ParseAccountID)
	if err != nil {
		return err
	}
	var items []store.Session
	if err := s.read(r, permSessionRead, nil, func(tx *store.Tx) (err error) { items, err = tx.ListSessions(r.Context(), id); return err }); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, paginate(items, len(items)+1, func(store.Session) string { return "" }))
}

type revokedCount struct {
	Revoked int `json:"revoked"`
}

func (s *Server) revokeAllSessions(w http.ResponseWriter, r *http.Request) error {
	return s.revokeSessions(w, r, false)
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request) error {
	return s.revokeSessions(w, r, true)
}

func (s *Server) revokeSessions(w http.ResponseWriter, r *http.Request, one bool) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, store.ParseAccountID)
	if err != nil {
		return err
	}
	var only *store.SessionID
	if one {
		sid, err := bodyID("sid", r.PathValue("sid"), store.ParseSessionID)
		if err != nil {
			return err
		}
		only = &sid
	}
	return s.mutate(w, r, slug, func(tx *store.Tx, _ []byte) (result, error) {
		if err := s.allow(r, tx, permSessionWrite, nil); err != nil {
			return result{}, err
		}
		if only != nil {
			if sess, err := tx.GetSession(r.Context(), *only); err != nil || sess.AccountID != id {
				return result{}, store.ErrSessionNotFound
			}
		} else if _, err := tx.GetAccount(r.Context(), id); err != nil {
			return result{}, err
		}
		n, err := tx.RevokeSessions(r.Context(), s.actor(r), id, only, "session.revoke", "admin")
		return result{status: http.StatusOK, body: revokedCount{Revoked: n}}, err
	})
}
