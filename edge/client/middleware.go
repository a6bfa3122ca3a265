package client

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/melmastoon/iam/edge/wire"
)

// MiddlewareOption configures Require and Authenticate.
type MiddlewareOption func(*middlewareConfig)

type middlewareConfig struct {
	fallback   http.Handler
	writeError ErrorWriter
	logger     *slog.Logger
}

// WithFallback hands to h the requests without a bearer token (no
// Authorization header, or another scheme such as Basic) and those of
// accounts whose iam_authentication_enabled flag is off; Require also
// hands it requests of accounts whose iam_authorization_enabled flag is
// off, with the claims in the context. A malformed bearer header, a
// refused token and an unreachable edge are never handed to h.
func WithFallback(h http.Handler) MiddlewareOption {
	return func(c *middlewareConfig) { c.fallback = h }
}

// WithErrorWriter replaces the default application/problem+json writer of
// refusals.
func WithErrorWriter(f ErrorWriter) MiddlewareOption {
	return func(c *middlewareConfig) { c.writeError = f }
}

// WithLogger logs refusals (debug), fallbacks (debug) and edge failures
// (warn) to l. The token is never logged. Default: discard.
func WithLogger(l *slog.Logger) MiddlewareOption {
	return func(c *middlewareConfig) {
		if l != nil {
			c.logger = l
		}
	}
}

func newMiddlewareConfig(opts []MiddlewareOption) middlewareConfig {
	c := middlewareConfig{logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// Require admits a request whose bearer token the edge verifies and whose
// account holds permission in the organization org names, and stores the
// token's claims in its context (ClaimsFrom). It refuses with
// application/problem+json:
//
//   - 401 MELMASTOON.IAM.AUTH.UNAUTHENTICATED: no bearer token (unless a
//     fallback is configured) or a malformed one;
//   - 401 with the edge's MELMASTOON.IAM.TOKEN.* code: a refused token;
//   - 400 MELMASTOON.IAM.VALIDATION.FAILED: org fails, or the edge finds
//     the organization malformed;
//   - 403 MELMASTOON.IAM.AUTH.FORBIDDEN: the permission is denied;
//   - 503 MELMASTOON.IAM.SERVICE.UNAVAILABLE with Retry-After: the edge
//     could not answer (fail closed).
//
// The check names the account by the verified claims' subject and tenant,
// so the token is verified once per request. Require panics if d or org
// is nil or permission is empty: wiring errors, caught at startup.
func Require(d Decider, permission string, org OrgFunc, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	if d == nil || org == nil || permission == "" {
		panic("client: Require needs a Decider, a permission and an OrgFunc")
	}
	cfg := newMiddlewareConfig(opts)
	return func(next http.Handler) http.Handler {
		return &guard{d: d, permission: permission, org: org, next: next, middlewareConfig: cfg}
	}
}

// Authenticate is Require without the permission check: it admits any
// request whose bearer token the edge verifies, with its claims in the
// context. It panics if d is nil.
func Authenticate(d Decider, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	if d == nil {
		panic("client: Authenticate needs a Decider")
	}
	cfg := newMiddlewareConfig(opts)
	return func(next http.Handler) http.Handler {
		return &guard{d: d, next: next, middlewareConfig: cfg}
	}
}

// guard is the handler of Require (permission set) and Authenticate.
type guard struct {
	d          Decider
	permission string
	org        OrgFunc
	next       http.Handler
	middlewareConfig
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v, ok := g.authenticate(w, r)
	if !ok {
		return
	}
	r = r.WithContext(withClaims(r.Context(), v.Claims))
	switch {
	case g.permission == "":
		g.next.ServeHTTP(w, r)
	case g.fallback != nil && flagOff(v.Flags, wire.FlagAuthorization):
		g.toFallback(w, r, "authorization_disabled")
	default:
		g.authorize(w, r, v.Claims)
	}
}

// authenticate verifies the bearer token. False means the request has been
// answered: refused, or handed to the fallback.
func (g *guard) authenticate(w http.ResponseWriter, r *http.Request) (*wire.VerifyResponse, bool) {
	token, state := bearerToken(r.Header.Values("Authorization"))
	switch state {
	case bearerAbsent, bearerOtherScheme:
		if g.fallback != nil {
			g.toFallback(w, r, "no_bearer_token")
			return nil, false
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="iam"`)
		g.refuse(w, r, http.StatusUnauthorized, codeUnauthenticated, "", "a bearer token is required")
		return nil, false
	case bearerMalformed:
		g.refuseToken(w, r, codeUnauthenticated, "", "the Authorization header does not hold a valid bearer token")
		return nil, false
	}
	v, err := g.d.Verify(r.Context(), wire.VerifyRequest{Token: token})
	switch {
	case err != nil:
		g.verifyFailed(w, r, err)
		return nil, false
	case !v.Valid:
		g.refuseToken(w, r, codeUnauthenticated, "", "the access token is not valid")
		return nil, false
	case g.fallback != nil && flagOff(v.Flags, wire.FlagAuthentication):
		g.toFallback(w, r, "authentication_disabled")
		return nil, false
	}
	return v, true
}

// authorize checks the permission for the verified account.
func (g *guard) authorize(w http.ResponseWriter, r *http.Request, c wire.Claims) {
	org, err := g.org(r)
	if err != nil {
		g.refuse(w, r, http.StatusBadRequest, wire.CodeValidationFailed, "", err.Error())
		return
	}
	res, err := g.d.Check(r.Context(), wire.CheckRequest{Account: c.Subject, Tenant: c.Tenant,
		Permission: g.permission, Organization: org})
	if err != nil {
		g.checkFailed(w, r, err)
		return
	}
	if !res.Allowed {
		g.logger.DebugContext(r.Context(), "client: permission denied", "permission", g.permission,
			"organization", org, "account", c.Subject, "tenant", c.Tenant, "reason", res.Reason)
		g.refuse(w, r, http.StatusForbidden, codeForbidden, "",
			fmt.Sprintf("permission %s denied: %s", g.permission, orDefault(res.Reason, "denied")))
		return
	}
	g.next.ServeHTTP(w, r)
}

// verifyFailed passes a token refusal through as 401; anything else means
// the edge could not decide.
func (g *guard) verifyFailed(w http.ResponseWriter, r *http.Request, err error) {
	var p *wire.Problem
	if errors.As(err, &p) && strings.HasPrefix(p.Code, tokenCodePrefix) {
		g.logger.DebugContext(r.Context(), "client: token refused", "code", p.Code)
		g.refuseToken(w, r, p.Code, p.Title, p.Detail)
		return
	}
	g.unavailable(w, r, "verify", err)
}

// checkFailed passes a malformed organization through as 400; anything
// else means the edge could not decide.
func (g *guard) checkFailed(w http.ResponseWriter, r *http.Request, err error) {
	var p *wire.Problem
	if errors.As(err, &p) && p.Code == wire.CodeValidationFailed {
		g.refuse(w, r, http.StatusBadRequest, p.Code, p.Title, p.Detail)
		return
	}
	g.unavailable(w, r, "check", err)
}

// unavailable fails closed: 503, retry in a second.
func (g *guard) unavailable(w http.ResponseWriter, r *http.Request, op string, err error) {
	level := slog.LevelWarn
	if r.Context().Err() != nil {
		level = slog.LevelDebug // the caller went away; nothing is wrong with the edge
	}
	g.logger.Log(r.Context(), level, "client: edge could not decide", "op", op, "error", err.Error())
	w.Header().Set("Retry-After", "1")
	g.refuse(w, r, http.StatusServiceUnavailable, codeServiceUnavailable, "",
		"the authorization service is unavailable")
}

// refuseToken answers 401 with the RFC 6750 invalid_token challenge.
func (g *guard) refuseToken(w http.ResponseWriter, r *http.Request, code, title, detail string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="iam", error="invalid_token"`)
	g.refuse(w, r, http.StatusUnauthorized, code, title, detail)
}

func (g *guard) refuse(w http.ResponseWriter, r *http.Request, status int, code, title, detail string) {
	if g.writeError != nil {
		g.writeError(w, r, status, code, detail)
		return
	}
	writeProblem(w, status, code, title, detail)
}

func (g *guard) toFallback(w http.ResponseWriter, r *http.Request, reason string) {
	g.logger.DebugContext(r.Context(), "client: request handed to fallback", "reason", reason)
	g.fallback.ServeHTTP(w, r)
}

// flagOff reports whether a flag is explicitly off; unset flags are on
// (docs/feature-flags.md).
func flagOff(flags map[string]bool, name string) bool {
	on, set := flags[name]
	return set && !on
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
