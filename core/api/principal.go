package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/melmastoon/iam/core/auth"
	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/internal/problem"
)

// caller is who makes an admin request: the bootstrap token, or an account
// of the tenant in the path, signed in with an access token.
type caller struct {
	bootstrap bool
	principal auth.Principal
}

type callerKey struct{}

func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(callerKey{}).(caller)
	return c
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return "", false
	}
	return strings.TrimSpace(h[7:]), true
}

func unauthenticated(detail string) error {
	return problem.New(problem.AuthUnauthenticated, detail)
}

func (s *Server) isBootstrap(token string) bool {
	return s.cfg.BootstrapToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.BootstrapToken)) == 1
}

// requireBootstrap admits only the bootstrap token (routes outside a tenant).
func (s *Server) requireBootstrap(next http.Handler) http.Handler {
	return s.adaptMiddleware(func(w http.ResponseWriter, r *http.Request) error {
		token, ok := bearer(r)
		if !ok || !s.isBootstrap(token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="iam"`)
			return unauthenticated("the bootstrap token is required")
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, caller{bootstrap: true})))
		return nil
	})
}

// requireCaller admits the bootstrap token or an access token of the
// tenant in the path; handlers then call allow for the permission they need.
func (s *Server) requireCaller(next http.Handler) http.Handler {
	return s.adaptMiddleware(func(w http.ResponseWriter, r *http.Request) error {
		token, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="iam"`)
			return unauthenticated("a bearer token is required")
		}
		c := caller{bootstrap: s.isBootstrap(token)}
		if !c.bootstrap {
			p, err := s.verifyAccountToken(r, token)
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="iam", error="invalid_token"`)
				return err
			}
			c.principal = p
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
		return nil
	})
}

func (s *Server) verifyAccountToken(r *http.Request, token string) (auth.Principal, error) {
	slug, err := slugParam(r)
	if err != nil {
		return auth.Principal{}, err
	}
	var p auth.Principal
	err = s.cfg.Store.InTenantSlug(r.Context(), slug, func(tx *store.Tx) (err error) {
		p, err = s.cfg.Auth.VerifyAccessToken(r.Context(), tx, slug, token)
		return err
	})
	if errors.Is(err, auth.ErrTokenInvalid) {
		return p, unauthenticated("the access token is not valid for this tenant")
	}
	return p, err
}

// allow checks, inside the request's transaction, that the caller holds
// perm on org (nil: tenant-wide, i.e. on a root organization).
func (s *Server) allow(r *http.Request, tx *store.Tx, perm string, org *store.OrgID) error {
	c := callerOf(r)
	if c.bootstrap {
		return nil
	}
	ok, err := tx.HasPermission(r.Context(), c.principal.Account, perm, org)
	if err != nil {
		return err
	}
	if !ok {
		return problem.New(problem.AuthForbidden, "missing permission "+perm)
	}
	return nil
}

// actor describes the caller for the audit trail.
func (s *Server) actor(r *http.Request) store.Actor {
	id := "bootstrap"
	if c := callerOf(r); !c.bootstrap && c.principal.Account != (store.AccountID{}) {
		id = c.principal.Account.String()
	}
	return store.Actor{ID: id, SourceIP: clientIP(r), TraceParent: traceParent(r)}
}

func (s *Server) meta(r *http.Request) auth.Meta {
	return auth.Meta{SourceIP: clientIP(r), UserAgent: r.UserAgent(), TraceParent: traceParent(r)}
}
