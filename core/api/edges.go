package api

import (
	"net/http"

	"github.com/melmastoon/iam/core/store"
)

// edgeView is one edge as GET /api/v1/edges shows it.
type edgeView struct {
	store.EdgeStatus
	// Lag is how many stream messages the edge has not applied yet.
	Lag uint64 `json:"lag"`
	// SinceContactMS is how long ago the edge last reported.
	SinceContactMS int64 `json:"since_contact_ms"`
}

func (s *Server) listEdges(w http.ResponseWriter, r *http.Request) error {
	var edges []store.EdgeStatus
	if err := s.cfg.Store.Global(r.Context(), func(tx *store.Tx) (err error) { edges, err = tx.ListEdges(r.Context()); return err }); err != nil {
		return err
	}
	var head uint64
	if s.cfg.StreamHead != nil {
		h, err := s.cfg.StreamHead(r.Context())
		if err != nil {
			return err
		}
		head = h
	}
	now := s.cfg.Now()
	out := make([]edgeView, 0, len(edges))
	for _, e := range edges {
		v := edgeView{EdgeStatus: e, SinceContactMS: now.Sub(e.LastContact).Milliseconds()}
		if head > e.StreamSeq {
			v.Lag = head - e.StreamSeq
		}
		out = append(out, v)
	}
	return writeJSON(w, http.StatusOK, page[edgeView]{Items: out})
}
