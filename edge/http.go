package edge

import (
	"encoding/json"
	"net/http"
)

func (e *Edge) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", e.metrics.Handler())
	mux.Handle("GET /healthz", e.metrics.InstrumentRoute("/healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})))
	mux.Handle("GET /readyz", e.metrics.InstrumentRoute("/readyz", http.HandlerFunc(e.readyz)))
	mux.Handle("GET /api/v1/replica/digest", e.metrics.InstrumentRoute("/api/v1/replica/digest", http.HandlerFunc(e.digest)))
	return mux
}

// readyz reports the replica's position and staleness. It fails only when
// a maximum staleness is configured and exceeded: a disconnected edge keeps
// answering from its replica (fail open by default, see DESIGN).
func (e *Edge) readyz(w http.ResponseWriter, _ *http.Request) {
	st := e.Status()
	body := map[string]any{"status": "ready", "stream_seq": st.StreamSeq, "tenants": st.Tenants,
		"staleness_ms": st.StalenessMS, "hub_connected": e.isConnected()}
	code := http.StatusOK
	if e.cfg.MaxStaleness > 0 && st.StalenessMS > e.cfg.MaxStaleness.Milliseconds() {
		body["status"], code = "stale", http.StatusServiceUnavailable
	}
	writeJSON(w, code, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// digest answers the replica digest of ?tenant= (docs/deltas.md), for
// operators and tests comparing an edge with core.
func (e *Edge) digest(w http.ResponseWriter, r *http.Request) {
	tenant := r.URL.Query().Get("tenant")
	seq, _ := e.replica.TenantSeq(tenant)
	d, err := e.replica.Digest(r.Context(), tenant)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unknown or invalid tenant"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenant": tenant, "digest": d, "seq": seq, "stream_seq": e.replica.StreamCursor()})
}
