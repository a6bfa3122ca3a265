package api

import (
	"context"
	"net/http"
	"time"
)

// healthz reports that the process is alive; it touches nothing else.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz reports ready when the database answers and every migration is applied.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "migrations": "ok"}
	status := http.StatusOK
	if err := s.cfg.Store.Ping(ctx); err != nil {
		checks["database"], checks["migrations"] = "unreachable", "unknown"
		status = http.StatusServiceUnavailable
	} else if ok, err := s.cfg.Store.MigrationsCurrent(ctx); err != nil || !ok {
		checks["migrations"] = "pending"
		status = http.StatusServiceUnavailable
	}
	state := "ready"
	if status != http.StatusOK {
		state = "not_ready"
	}
	return writeJSON(w, status, map[string]any{"status": state, "checks": checks})
}
