package edge

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/melmastoon/iam/edge/edgeapi"
	"github.com/melmastoon/iam/internal/jsonbody"
	"github.com/melmastoon/iam/internal/obs"
	"github.com/melmastoon/iam/internal/problem"
)

func (e *Edge) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", e.metrics.Handler())
	e.route(mux, "GET /healthz", "/healthz", false, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	e.route(mux, "GET /readyz", "/readyz", false, e.readyz)
	e.route(mux, "GET /api/v1/replica/digest", "/api/v1/replica/digest", true, e.digest)
	e.route(mux, "POST /api/v1/verify", "/api/v1/verify", true, decisionHandler(e, func(ctx context.Context, r *http.Request, w http.ResponseWriter) (any, error) {
		var req edgeapi.VerifyRequest
		if err := decode(w, r, &req); err != nil {
			return nil, err
		}
		return e.service.Verify(ctx, req)
	}))
	e.route(mux, "POST /api/v1/check", "/api/v1/check", true, decisionHandler(e, func(ctx context.Context, r *http.Request, w http.ResponseWriter) (any, error) {
		var req edgeapi.CheckRequest
		if err := decode(w, r, &req); err != nil {
			return nil, err
		}
		return e.service.Check(ctx, req)
	}))
	e.route(mux, "POST /api/v1/check/batch", "/api/v1/check/batch", true, decisionHandler(e, func(ctx context.Context, r *http.Request, w http.ResponseWriter) (any, error) {
		var req edgeapi.BatchRequest
		if err := decode(w, r, &req); err != nil {
			return nil, err
		}
		return e.service.CheckBatch(ctx, req)
	}))
	e.route(mux, "GET /api/v1/permissions", "/api/v1/permissions", true, decisionHandler(e, func(ctx context.Context, r *http.Request, _ http.ResponseWriter) (any, error) {
		q := r.URL.Query()
		return e.service.Permissions(ctx, edgeapi.PermissionsRequest{Tenant: q.Get("tenant"), Account: q.Get("account"),
			Organization: q.Get("organization")})
	}))
	e.route(mux, "GET /api/v1/flags", "/api/v1/flags", true, decisionHandler(e, func(ctx context.Context, r *http.Request, _ http.ResponseWriter) (any, error) {
		q := r.URL.Query()
		return e.service.Flags(ctx, edgeapi.FlagsRequest{Tenant: q.Get("tenant"), Account: q.Get("account")})
	}))
	// Devices authenticate with their certificate: no API token.
	e.route(mux, "GET /api/v1/sync", "/api/v1/sync", false, e.devices.ServeHTTP)
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, problem.New(problem.RequestRouteNotFound, "no route "+r.Method+" "+r.URL.Path))
	}))
	return mux
}

// route registers a route with tracing, metrics and, for the API, the
// optional API token.
func (e *Edge) route(mux *http.ServeMux, pattern, route string, api bool, h http.HandlerFunc) {
	var next http.Handler = h
	if api && e.cfg.APIToken != "" {
		next = e.requireAPIToken(next)
	}
	mux.Handle(pattern, e.metrics.InstrumentRoute(route, obs.TraceMiddleware(e.tracer(), route, next)))
}

func (e *Edge) tracer() trace.TracerProvider {
	if e.cfg.TracerProvider != nil {
		return e.cfg.TracerProvider
	}
	return noop.NewTracerProvider()
}

// requireAPIToken checks the shared API token in constant time.
func (e *Edge) requireAPIToken(next http.Handler) http.Handler {
	want := []byte("Bearer " + e.cfg.APIToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			e.counters.apiRefusals.Inc()
			writeProblem(w, r, problem.New(problem.AuthUnauthenticated, "the edge API token is missing or wrong"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// decisionHandler runs a decision, sets the Staleness header when the
// replica is past its limit, and writes the answer or the problem.
func decisionHandler(e *Edge, fn func(context.Context, *http.Request, http.ResponseWriter) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if secs, stale := e.staleSeconds(); stale {
			w.Header().Set("Staleness", strconv.FormatInt(secs, 10))
		}
		v, err := fn(r.Context(), r, w)
		if err != nil {
			writeProblem(w, r, toProblemError(err))
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := jsonbody.Read(w, r, edgeapi.MaxBodyBytes)
	if err != nil {
		return err
	}
	return jsonbody.Decode(body, v)
}

// toProblemError maps a Service error or a decoding error to a problem.
func toProblemError(err error) *problem.Error {
	var pe *problem.Error
	if errors.As(err, &pe) {
		return pe
	}
	var p *edgeapi.Problem
	if errors.As(err, &p) {
		pe := &problem.Error{Code: problem.Code(p.Code), Detail: p.Detail, Field: p.Field}
		if p.Code == edgeapi.CodeEdgeStale {
			pe.RetryAfter = 5
		}
		return pe
	}
	return &problem.Error{Code: problem.ServiceInternal, Err: err}
}

func writeProblem(w http.ResponseWriter, r *http.Request, e *problem.Error) {
	problem.Write(w, r, e, obs.TraceID(r.Context()))
}

// readyz reports the replica's position and staleness. A stale replica is
// reported; it fails readiness only in fail-closed mode, where the edge
// refuses to decide (by default a disconnected edge keeps answering from
// its replica, see DESIGN).
func (e *Edge) readyz(w http.ResponseWriter, _ *http.Request) {
	st := e.Status()
	body := map[string]any{"status": "ready", "stream_seq": st.StreamSeq, "tenants": st.Tenants,
		"staleness_ms": st.StalenessMS, "hub_connected": e.isConnected(), "fail_closed": e.cfg.FailClosed}
	code := http.StatusOK
	if _, stale := e.staleSeconds(); stale {
		body["status"] = "stale"
		if e.cfg.FailClosed {
			code = http.StatusServiceUnavailable
		}
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
	tenant := strings.TrimSpace(r.URL.Query().Get("tenant"))
	seq, _ := e.replica.TenantSeq(tenant)
	d, err := e.replica.Digest(r.Context(), tenant)
	if err != nil {
		writeProblem(w, r, &problem.Error{Code: problem.ValidationFailed, Field: "tenant", Detail: "unknown or invalid tenant"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenant": tenant, "digest": d, "seq": seq, "stream_seq": e.replica.StreamCursor()})
}
