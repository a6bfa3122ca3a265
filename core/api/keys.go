package api

import (
	"net/http"
	"time"

	"github.com/melmastoon/iam/core/store"
)

type rotateKeysRequest struct {
	// Force publishes a next key now even if the schedule would wait; it
	// still signs only after the publish lead.
	Force bool `json:"force"`
}

type publicKey struct {
	KID         string     `json:"kid"`
	State       string     `json:"state"`
	PublishedAt time.Time  `json:"published_at"`
	NotBefore   time.Time  `json:"not_before"`
	RetireAt    *time.Time `json:"retire_at"`
}

type keyTransition struct {
	KID string    `json:"kid"`
	To  string    `json:"to"`
	At  time.Time `json:"at"`
}

func publicKeys(stored []store.StoredKey) []publicKey {
	out := make([]publicKey, 0, len(stored))
	for _, k := range stored {
		out = append(out, publicKey{KID: k.KID, State: k.State, PublishedAt: k.PublishedAt, NotBefore: k.NotBefore, RetireAt: k.RetireAt})
	}
	return out
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	var items []store.StoredKey
	if err := s.read(r, permKeyRead, nil, func(tx *store.Tx) (err error) { items, err = tx.SigningKeys(r.Context()); return err }); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page[publicKey]{Items: publicKeys(items)})
}

func (s *Server) rotateKeys(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	return s.mutate(w, r, slug, func(tx *store.Tx, body []byte) (result, error) {
		var req rotateKeysRequest
		if len(body) > 0 {
			if err := decodeStrict(body, &req); err != nil {
				return result{}, err
			}
		}
		if err := s.allow(r, tx, permKeyWrite, nil); err != nil {
			return result{}, err
		}
		tr, err := s.cfg.Auth.RotateKeys(r.Context(), tx, s.actor(r), req.Force)
		if err != nil {
			return result{}, err
		}
		out := make([]keyTransition, 0, len(tr))
		for _, t := range tr {
			out = append(out, keyTransition{KID: t.KID, To: t.To.String(), At: t.At})
		}
		return result{status: http.StatusOK, body: page[keyTransition]{Items: out}}, nil
	})
}
