package api

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/internal/obs"
	"github.com/melmastoon/iam/internal/problem"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

// Config configures the API.
type Config struct {
	Store          *store.Store
	Logger         *slog.Logger
	Metrics        *obs.Metrics
	TracerProvider trace.TracerProvider
	// BootstrapToken authenticates administrators until account tokens exist.
	BootstrapToken string
	// Ready reports extra readiness conditions (nil: only the database).
	Now func() time.Time
}

// Server serves the REST API.
type Server struct {
	cfg       Config
	log       *slog.Logger
	mux       *http.ServeMux
	unmatched http.Handler
}

// New builds the API handler tree.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	s.routes()
	s.unmatched = s.chain("unmatched", false, s.unmatchedRoute)
	return s
}

// ServeHTTP implements http.Handler. Requests no route matches get a
// problem: 405 with Allow when the path exists for other methods, else 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	s.unmatched.ServeHTTP(w, r)
}

// unmatchedRoute answers requests no pattern matches; it is instrumented
// like every route under the label "unmatched".
func (s *Server) unmatchedRoute(w http.ResponseWriter, r *http.Request) error {
	if allow := s.allowedMethods(r); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return problem.New(problem.RequestMethod, "")
	}
	return problem.New(problem.RequestRouteNotFound, "")
}

func (s *Server) allowedMethods(r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" {
			allow = append(allow, m)
		}
	}
	return allow
}

// route registers pattern with the full middleware chain. admin routes need
// the bootstrap token.
func (s *Server) route(pattern string, admin bool, h handlerFunc) {
	s.mux.Handle(pattern, s.chain(pattern, admin, h))
}

// chain wraps h in the middleware every route shares: tracing, metrics,
// panic recovery and (for admin routes) authentication.
func (s *Server) chain(pattern string, admin bool, h handlerFunc) http.Handler {
	_, path, _ := strings.Cut(pattern, " ")
	if path == "" {
		path = pattern
	}
	var next http.Handler = s.adapt(h)
	if admin {
		next = s.requireAdmin(next)
	}
	next = s.recoverPanics(next)
	next = s.cfg.Metrics.InstrumentRoute(path, next)
	return obs.TraceMiddleware(s.cfg.TracerProvider, pattern, next)
}

func (s *Server) routes() {
	s.route("GET /healthz", false, s.healthz)
	s.route("GET /readyz", false, s.readyz)
	s.mux.Handle("GET /metrics", s.cfg.Metrics.Handler())

	s.route("POST /api/v1/tenants", true, s.createTenant)
	s.route("GET /api/v1/tenants", true, s.listTenants)
	s.route("GET /api/v1/tenants/{tenant}", true, s.getTenant)
	s.route("PATCH /api/v1/tenants/{tenant}", true, s.updateTenant)
	s.route("DELETE /api/v1/tenants/{tenant}", true, s.deleteTenant)

	s.route("POST /api/v1/tenants/{tenant}/organizations", true, s.createOrganization)
	s.route("GET /api/v1/tenants/{tenant}/organizations", true, s.listRootOrganizations)
	s.route("GET /api/v1/tenants/{tenant}/organizations/{id}", true, s.getOrganization)
	s.route("POST /api/v1/tenants/{tenant}/organizations/{id}/move", true, s.moveOrganization)
	s.route("GET /api/v1/tenants/{tenant}/organizations/{id}/children", true, s.listChildren)
	s.route("GET /api/v1/tenants/{tenant}/organizations/{id}/subtree", true, s.listSubtree)
	s.route("GET /api/v1/tenants/{tenant}/organizations/{id}/ancestors", true, s.listAncestors)

	s.route("POST /api/v1/tenants/{tenant}/accounts", true, s.createAccount)
	s.route("GET /api/v1/tenants/{tenant}/accounts", true, s.listAccounts)
	s.route("GET /api/v1/tenants/{tenant}/accounts/{id}", true, s.getAccount)
	s.route("PATCH /api/v1/tenants/{tenant}/accounts/{id}", true, s.updateAccount)

	s.route("POST /api/v1/tenants/{tenant}/roles", true, s.createRole)
	s.route("GET /api/v1/tenants/{tenant}/roles", true, s.listRoles)
	s.route("GET /api/v1/tenants/{tenant}/roles/{id}", true, s.getRole)
	s.route("PUT /api/v1/tenants/{tenant}/roles/{id}/permissions", true, s.setRolePermissions)
	s.route("DELETE /api/v1/tenants/{tenant}/roles/{id}", true, s.deleteRole)
	s.route("GET /api/v1/tenants/{tenant}/permissions", true, s.listPermissions)

	s.route("POST /api/v1/tenants/{tenant}/role-bindings", true, s.createBinding)
	s.route("GET /api/v1/tenants/{tenant}/role-bindings", true, s.listBindings)
	s.route("GET /api/v1/tenants/{tenant}/role-bindings/{id}", true, s.getBinding)
	s.route("DELETE /api/v1/tenants/{tenant}/role-bindings/{id}", true, s.deleteBinding)
}

// requireAdmin admits requests bearing the bootstrap token.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	want := []byte("Bearer " + s.cfg.BootstrapToken)
	return s.adaptMiddleware(func(w http.ResponseWriter, r *http.Request) error {
		got := []byte(r.Header.Get("Authorization"))
		if s.cfg.BootstrapToken == "" || subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="iam"`)
			return problem.New(problem.AuthUnauthenticated, "a valid bearer token is required")
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

// actor describes the caller for the audit trail.
func (s *Server) actor(r *http.Request) store.Actor {
	return store.Actor{ID: "bootstrap", SourceIP: clientIP(r), TraceParent: obs.TraceParent(r.Context())}
}

func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}
