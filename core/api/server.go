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
	cfg Config
	log *slog.Logger
	mux *http.ServeMux
}

// New builds the API handler tree.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	s.routes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// route registers pattern with the full middleware chain. admin routes need
// the bootstrap token.
func (s *Server) route(pattern string, admin bool, h handlerFunc) {
	_, path, _ := strings.Cut(pattern, " ")
	var next http.Handler = s.adapt(h)
	if admin {
		next = s.requireAdmin(next)
	}
	next = s.recoverPanics(next)
	next = s.cfg.Metrics.InstrumentRoute(path, next)
	next = obs.TraceMiddleware(s.cfg.TracerProvider, pattern, next)
	s.mux.Handle(pattern, next)
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

	s.route("/", false, func(_ http.ResponseWriter, _ *http.Request) error {
		return problem.New(problem.RequestRouteNotFound, "")
	})
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
