package edgeapi

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/melmastoon/iam/authz"
	"github.com/melmastoon/iam/edge/decide"
	"github.com/melmastoon/iam/internal/problem"
)

// Config configures a Service.
type Config struct {
	// Decider answers the decisions. Required.
	Decider *decide.Decider
	// Staleness reports how long the replica has not heard from core
	// (edge/replica.Replica.MaxStaleness). Nil means never stale.
	Staleness func() time.Duration
	// MaxStaleness is the staleness past which answers are marked stale
	// (0: never).
	MaxStaleness time.Duration
	// FailClosed refuses every decision with MELMASTOON.IAM.EDGE.STALE
	// while the replica is staler than MaxStaleness.
	FailClosed bool
	// Registry, if set, receives the decision metrics.
	Registry prometheus.Registerer
}

// Service answers the decision API from a Decider. It is safe for
// concurrent use.
type Service struct {
	cfg     Config
	d       *decide.Decider
	metrics *metrics

	// The replica's staleness, refreshed at most every staleEvery: reading
	// it takes the replica's lock, too much for every request.
	staleAt, staleVal atomic.Int64 // unix nanoseconds, nanoseconds
}

// staleEvery is how old the cached staleness may be.
const staleEvery = 100 * time.Millisecond

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Decider == nil {
		return nil, fmt.Errorf("edgeapi: Decider is required")
	}
	if cfg.Staleness == nil {
		cfg.Staleness = func() time.Duration { return 0 }
	}
	s := &Service{cfg: cfg, d: cfg.Decider, metrics: newMetrics(cfg.Decider)}
	if cfg.Registry != nil {
		if err := s.metrics.register(cfg.Registry); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Stale reports the replica's staleness and whether it exceeds
// MaxStaleness.
func (s *Service) Stale() (time.Duration, bool) {
	now := time.Now().UnixNano()
	st := time.Duration(s.staleVal.Load())
	if now-s.staleAt.Load() > int64(staleEvery) {
		st = s.cfg.Staleness()
		s.staleVal.Store(int64(st))
		s.staleAt.Store(now)
	}
	return st, s.cfg.MaxStaleness > 0 && st > s.cfg.MaxStaleness
}

// refuseStale fails a decision in fail-closed mode while stale.
func (s *Service) refuseStale() *Problem {
	if !s.cfg.FailClosed {
		return nil
	}
	if st, stale := s.Stale(); stale {
		s.metrics.staleRefusals.Inc()
		return newProblem(problem.EdgeStale, "", fmt.Sprintf("replica %s stale, limit %s",
			st.Round(time.Second), s.cfg.MaxStaleness))
	}
	return nil
}

// Verify verifies a token and returns its claims and its account's flags.
func (s *Service) Verify(_ context.Context, req VerifyRequest) (*VerifyResponse, error) {
	if p := s.refuseStale(); p != nil {
		return nil, p
	}
	if req.Token == "" {
		return nil, invalid("token", "token is required")
	}
	start := time.Now()
	c, err := s.d.VerifyToken(req.Token)
	s.metrics.observeToken(err, time.Since(start))
	if err != nil {
		return nil, tokenProblem(err)
	}
	return &VerifyResponse{Valid: true, Claims: s.claims(c), Flags: s.flags(c.TenantID, c.Subject)}, nil
}

func (s *Service) claims(c decide.Claims) Claims {
	out := Claims{Tenant: c.TenantID, TenantSlug: s.d.TenantSlug(c.TenantID), Subject: c.Subject,
		SessionID: c.SessionID, TokenID: c.TokenID, Issuer: c.Issuer, AMR: c.AMR, ExpiresAt: c.ExpiresAt.Unix()}
	if !c.IssuedAt.IsZero() {
		out.IssuedAt = c.IssuedAt.Unix()
	}
	return out
}

func (s *Service) flags(tenant, account string) map[string]bool {
	return s.d.Flags(tenant, account, FlagNames[:])
}

// Check decides one permission question. A refused token is an error (a
// TOKEN.* problem); a denied permission is not.
func (s *Service) Check(_ context.Context, req CheckRequest) (*CheckResponse, error) {
	if p := s.refuseStale(); p != nil {
		return nil, p
	}
	if p := validateCheck(req, ""); p != nil {
		return nil, p
	}
	res, err := s.check(req)
	if err != nil {
		return nil, tokenProblem(err)
	}
	return res, nil
}

// CheckBatch decides up to MaxBatch questions. The whole batch is refused
// if one check is malformed; a refused token gives that check a denied
// result with reason "token_<refusal>".
func (s *Service) CheckBatch(_ context.Context, req BatchRequest) (*BatchResponse, error) {
	if p := s.refuseStale(); p != nil {
		return nil, p
	}
	switch {
	case len(req.Checks) == 0:
		return nil, invalid("checks", "at least one check is required")
	case len(req.Checks) > MaxBatch:
		return nil, newProblem(problem.CheckBatchTooLarge, "checks",
			fmt.Sprintf("%d checks, at most %d", len(req.Checks), MaxBatch))
	}
	for i, c := range req.Checks {
		if p := validateCheck(c, fmt.Sprintf("checks[%d].", i)); p != nil {
			return nil, p
		}
	}
	out := &BatchResponse{Results: make([]CheckResponse, len(req.Checks))}
	for i, c := range req.Checks {
		res, err := s.check(c)
		if err != nil {
			var p *Problem
			if errors.As(err, &p) {
				p.Field = fmt.Sprintf("checks[%d].%s", i, p.Field)
				return nil, p
			}
			out.Results[i] = CheckResponse{Reason: "token_" + decide.Reason(err)}
			continue
		}
		out.Results[i] = *res
	}
	return out, nil
}

// check decides a validated request; the error is a token refusal (a
// decide error) or a validation Problem.
func (s *Service) check(req CheckRequest) (*CheckResponse, error) {
	start := time.Now()
	tenant, account := "", req.Account
	if req.Token != "" {
		c, err := s.d.VerifyToken(req.Token)
		s.metrics.observeToken(err, time.Since(start))
		if err != nil {
			s.metrics.observeCheck("token_refused", time.Since(start))
			return nil, err
		}
		tenant, account = c.TenantID, c.Subject
		if req.Tenant != "" {
			if id, _ := s.d.ResolveTenant(req.Tenant); id != tenant {
				return nil, invalid("tenant", "tenant does not match the token's tenant")
			}
		}
	} else {
		id, ok := s.d.ResolveTenant(req.Tenant)
		if !ok {
			s.metrics.observeCheck("denied", time.Since(start))
			return &CheckResponse{Reason: authz.ReasonUnknownTenant.String(), Account: account}, nil
		}
		tenant = id
	}
	dec := s.d.Check(tenant, account, req.Permission, req.Organization)
	outcome := "denied"
	if dec.Allowed {
		outcome = "allowed"
	}
	s.metrics.observeCheck(outcome, time.Since(start))
	return &CheckResponse{Allowed: dec.Allowed, Reason: dec.Reason, Tenant: tenant, Account: account}, nil
}

// Permissions lists the account's effective permissions in the
// organization with their grants.
func (s *Service) Permissions(_ context.Context, req PermissionsRequest) (*PermissionsResponse, error) {
	if p := s.refuseStale(); p != nil {
		return nil, p
	}
	for _, f := range []struct{ name, v string }{{"tenant", req.Tenant}, {"account", req.Account}, {"organization", req.Organization}} {
		if p := validateField(f.name, f.v, true); p != nil {
			return nil, p
		}
	}
	out := &PermissionsResponse{Tenant: req.Tenant, Account: req.Account, Organization: req.Organization,
		Permissions: []Permission{}}
	id, ok := s.d.ResolveTenant(req.Tenant)
	if !ok {
		out.Reason = authz.ReasonUnknownTenant.String()
		return out, nil
	}
	out.Tenant = id
	perms, reason := s.d.EffectivePermissions(id, req.Account, req.Organization)
	out.Reason = reason.String()
	for _, p := range perms {
		gs := make([]Grant, len(p.Grants))
		for i, g := range p.Grants {
			path := make([]string, len(g.Path))
			for j, o := range g.Path {
				path[j] = string(o)
			}
			gs[i] = Grant{Binding: string(g.Binding), Role: string(g.Role), BoundOrganization: string(g.BoundOrg), Path: path}
		}
		out.Permissions = append(out.Permissions, Permission{Permission: p.Permission, Grants: gs})
	}
	return out, nil
}

// Flags evaluates every feature flag for an account.
func (s *Service) Flags(_ context.Context, req FlagsRequest) (*FlagsResponse, error) {
	if p := s.refuseStale(); p != nil {
		return nil, p
	}
	if p := validateField("tenant", req.Tenant, true); p != nil {
		return nil, p
	}
	if p := validateField("account", req.Account, true); p != nil {
		return nil, p
	}
	id, ok := s.d.ResolveTenant(req.Tenant)
	if !ok {
		id = req.Tenant
	}
	return &FlagsResponse{Tenant: id, Account: req.Account, Flags: s.flags(id, req.Account)}, nil
}

// validateCheck checks a request's shape; prefix names the batch element.
func validateCheck(c CheckRequest, prefix string) *Problem {
	withPrefix := func(p *Problem) *Problem {
		if p != nil {
			p.Field = prefix + p.Field
		}
		return p
	}
	switch {
	case c.Token == "" && c.Account == "":
		return withPrefix(invalid("token", "one of token or account is required"))
	case c.Token != "" && c.Account != "":
		return withPrefix(invalid("account", "give either token or account, not both"))
	case c.Account != "" && c.Tenant == "":
		return withPrefix(invalid("tenant", "tenant is required with account"))
	}
	for _, f := range []struct {
		name, v  string
		required bool
	}{{"account", c.Account, false}, {"tenant", c.Tenant, false}, {"permission", c.Permission, true}, {"organization", c.Organization, true}} {
		if p := validateField(f.name, f.v, f.required); p != nil {
			return withPrefix(p)
		}
	}
	return nil
}

var fieldPattern = regexp.MustCompile(`^[\x21-\x7e]+$`)

// validateField requires printable ASCII without spaces, at most
// MaxFieldBytes long.
func validateField(name, v string, required bool) *Problem {
	switch {
	case v == "":
		if required {
			return invalid(name, name+" is required")
		}
		return nil
	case len(v) > MaxFieldBytes:
		return invalid(name, fmt.Sprintf("%s longer than %d bytes", name, MaxFieldBytes))
	case !utf8.ValidString(v) || !fieldPattern.MatchString(v):
		return invalid(name, name+" must be printable ASCII without spaces")
	}
	return nil
}
