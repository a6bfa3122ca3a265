package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/melmastoon/iam/core/auth"
	"github.com/melmastoon/iam/core/devices"
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
	// BootstrapToken authenticates the first administrator; accounts then
	// use access tokens and need iam.* permissions.
	BootstrapToken string
	// Auth signs accounts in and verifies their tokens.
	Auth *auth.Service
	// StreamHead reports the last sequence of the delta stream, to compute
	// each edge's lag (nil: no stream).
	StreamHead func(context.Context) (uint64, error)
	// Devices enrolls devices and runs the tenant CAs (nil: no device
	// routes work; they answer 503).
	Devices *devices.Service
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
	s.unmatched = s.chain("unmatched", public, s.unmatchedRoute)
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

// access says who may call a route.
type access int

const (
	public    access = iota // anyone (health, sign-in, discovery)
	bootstrap               // the bootstrap token only (routes outside a tenant)
	tenant                  // the bootstrap token or an access token of the tenant; handlers call allow
)

// route registers pattern with the full middleware chain.
func (s *Server) route(pattern string, a access, h handlerFunc) {
	s.mux.Handle(pattern, s.chain(pattern, a, h))
}

// chain wraps h in the middleware every route shares: tracing, metrics,
// panic recovery and authentication.
func (s *Server) chain(pattern string, a access, h handlerFunc) http.Handler {
	_, path, _ := strings.Cut(pattern, " ")
	if path == "" {
		path = pattern
	}
	next := http.Handler(s.adapt(h))
	switch a {
	case bootstrap:
		next = s.requireBootstrap(next)
	case tenant:
		next = s.requireCaller(next)
	}
	next = s.recoverPanics(next)
	next = s.cfg.Metrics.InstrumentRoute(path, next)
	return obs.TraceMiddleware(s.cfg.TracerProvider, pattern, next)
}

func (s *Server) routes() {
	s.route("GET /healthz", public, s.healthz)
	s.route("GET /readyz", public, s.readyz)
	s.mux.Handle("GET /metrics", s.cfg.Metrics.Handler())

	s.route("POST /api/v1/tenants", bootstrap, s.createTenant)
	s.route("GET /api/v1/tenants", bootstrap, s.listTenants)
	s.route("GET /api/v1/tenants/{tenant}", bootstrap, s.getTenant)
	s.route("PATCH /api/v1/tenants/{tenant}", bootstrap, s.updateTenant)
	s.route("DELETE /api/v1/tenants/{tenant}", bootstrap, s.deleteTenant)
	s.route("GET /api/v1/edges", bootstrap, s.listEdges)
	s.route("POST /api/v1/check", bootstrap, s.check)
	s.route("POST /api/v1/check/batch", bootstrap, s.checkBatch)
	s.route("GET /api/v1/permissions", bootstrap, s.permissions)

	s.route("POST /api/v1/tenants/{tenant}/organizations", tenant, s.createOrganization)
	s.route("GET /api/v1/tenants/{tenant}/organizations", tenant, s.listRootOrganizations)
	s.route("GET /api/v1/tenants/{tenant}/organizations/{id}", tenant, s.getOrganization)
	s.route("POST /api/v1/tenants/{tenant}/organizations/{id}/move", tenant, s.moveOrganization)
	s.route("GET /api/v1/tenants/{tenant}/organizations/{id}/children", tenant, s.listChildren)
	s.route("GET /api/v1/tenants/{tenant}/organizations/{id}/subtree", tenant, s.listSubtree)
	s.route("GET /api/v1/tenants/{tenant}/organizations/{id}/ancestors", tenant, s.listAncestors)

	s.route("POST /api/v1/tenants/{tenant}/accounts", tenant, s.createAccount)
	s.route("GET /api/v1/tenants/{tenant}/accounts", tenant, s.listAccounts)
	s.route("GET /api/v1/tenants/{tenant}/accounts/{id}", tenant, s.getAccount)
	s.route("PATCH /api/v1/tenants/{tenant}/accounts/{id}", tenant, s.updateAccount)
	s.route("DELETE /api/v1/tenants/{tenant}/accounts/{id}", tenant, s.eraseAccount)
	s.route("POST /api/v1/tenants/{tenant}/accounts/{id}/password", tenant, s.resetPassword)
	s.route("POST /api/v1/tenants/{tenant}/accounts/{id}/unlock", tenant, s.unlockAccount)
	s.route("GET /api/v1/tenants/{tenant}/accounts/{id}/sessions", tenant, s.listSessions)
	s.route("POST /api/v1/tenants/{tenant}/accounts/{id}/sessions/revoke", tenant, s.revokeAllSessions)
	s.route("POST /api/v1/tenants/{tenant}/accounts/{id}/sessions/{sid}/revoke", tenant, s.revokeSession)

	s.route("POST /api/v1/tenants/{tenant}/roles", tenant, s.createRole)
	s.route("GET /api/v1/tenants/{tenant}/roles", tenant, s.listRoles)
	s.route("GET /api/v1/tenants/{tenant}/roles/{id}", tenant, s.getRole)
	s.route("PUT /api/v1/tenants/{tenant}/roles/{id}/permissions", tenant, s.setRolePermissions)
	s.route("DELETE /api/v1/tenants/{tenant}/roles/{id}", tenant, s.deleteRole)
	s.route("GET /api/v1/tenants/{tenant}/permissions", tenant, s.listPermissions)

	s.route("POST /api/v1/tenants/{tenant}/role-bindings", tenant, s.createBinding)
	s.route("GET /api/v1/tenants/{tenant}/role-bindings", tenant, s.listBindings)
	s.route("GET /api/v1/tenants/{tenant}/role-bindings/{id}", tenant, s.getBinding)
	s.route("DELETE /api/v1/tenants/{tenant}/role-bindings/{id}", tenant, s.deleteBinding)

	s.route("GET /api/v1/tenants/{tenant}/keys", tenant, s.listKeys)
	s.route("POST /api/v1/tenants/{tenant}/keys/rotate", tenant, s.rotateKeys)

	s.route("POST /api/v1/tenants/{tenant}/devices/nonce", tenant, s.createDeviceNonce)
	s.route("POST /api/v1/tenants/{tenant}/devices", tenant, s.enrollDevice)
	s.route("GET /api/v1/tenants/{tenant}/devices", tenant, s.listDevices)
	s.route("GET /api/v1/tenants/{tenant}/devices/{id}", tenant, s.getDevice)
	s.route("POST /api/v1/tenants/{tenant}/devices/{id}/revoke", tenant, s.revokeDevice)
	s.route("GET /api/v1/tenants/{tenant}/ca", tenant, s.showCA)
	s.route("POST /api/v1/tenants/{tenant}/ca/rotate", tenant, s.rotateCA)

	s.route("GET /api/v1/tenants/{tenant}/flags", tenant, s.listFlags)
	s.route("GET /api/v1/tenants/{tenant}/flags/{name}", tenant, s.getFlag)
	s.route("PUT /api/v1/tenants/{tenant}/flags/{name}", tenant, s.setFlag)

	s.route("POST /api/v1/tenants/{tenant}/auth/login", public, s.login)
	s.route("POST /api/v1/tenants/{tenant}/auth/mfa", public, s.completeMFA)
	s.route("POST /api/v1/tenants/{tenant}/auth/logout", tenant, s.logout)
	s.route("POST /api/v1/tenants/{tenant}/auth/password", tenant, s.changePassword)
	s.route("POST /api/v1/tenants/{tenant}/auth/mfa/totp", tenant, s.enrollTOTP)
	s.route("POST /api/v1/tenants/{tenant}/auth/mfa/totp/confirm", tenant, s.confirmTOTP)

	s.route("GET /t/{tenant}/.well-known/openid-configuration", public, s.discovery)
	s.route("GET /t/{tenant}/jwks.json", public, s.jwks)
	s.route("POST /t/{tenant}/oauth2/token", public, s.token)
}

func traceParent(r *http.Request) string { return obs.TraceParent(r.Context()) }

func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}
