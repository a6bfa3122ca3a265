package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/melmastoon/iam/core/auth"
	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/internal/problem"
)

// The check endpoints answer the edge's decision questions from
// PostgreSQL, for administrators and tests (the edge answers services):
// the same request and response shapes as the edge (edge/edgeapi), with
// two differences: tenant is always the slug (a token's issuer depends on
// it), and a permission no role of the tenant covers is "no_grant" (the
// edge, which interns names across tenants, may say "unknown_permission").

const maxCheckBatch = 100

type checkRequest struct {
	Token        string `json:"token,omitempty"`
	Account      string `json:"account,omitempty"`
	Tenant       string `json:"tenant"`
	Permission   string `json:"permission"`
	Organization string `json:"organization"`
}

type checkResponse struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
	Tenant  string `json:"tenant,omitempty"`
	Account string `json:"account,omitempty"`
}

type checkBatchRequest struct {
	Checks []checkRequest `json:"checks"`
}

func (s *Server) check(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var req checkRequest
	if err := decodeStrict(body, &req); err != nil {
		return err
	}
	if err := validateCheck(req, ""); err != nil {
		return err
	}
	res, err := s.checkOne(r, req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

func (s *Server) checkBatch(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var req checkBatchRequest
	if err := decodeStrict(body, &req); err != nil {
		return err
	}
	switch {
	case len(req.Checks) == 0:
		return &problem.Error{Code: problem.ValidationFailed, Field: "checks", Detail: "at least one check is required"}
	case len(req.Checks) > maxCheckBatch:
		return &problem.Error{Code: problem.CheckBatchTooLarge, Field: "checks",
			Detail: fmt.Sprintf("%d checks, at most %d", len(req.Checks), maxCheckBatch)}
	}
	for i, c := range req.Checks {
		if err := validateCheck(c, fmt.Sprintf("checks[%d].", i)); err != nil {
			return err
		}
	}
	out := make([]checkResponse, len(req.Checks))
	for i, c := range req.Checks {
		res, err := s.checkOne(r, c)
		var pe *problem.Error
		switch {
		case errors.As(err, &pe) && pe.Code == problem.AuthUnauthenticated:
			out[i] = checkResponse{Reason: "token_refused"}
		case err != nil:
			return err
		default:
			out[i] = res
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"results": out})
}

func validateCheck(c checkRequest, prefix string) error {
	bad := func(field, detail string) error {
		return &problem.Error{Code: problem.ValidationFailed, Field: prefix + field, Detail: detail}
	}
	switch {
	case !store.ValidSlug(c.Tenant):
		return &problem.Error{Code: problem.ValidationInvalidSlug, Field: prefix + "tenant", Detail: "tenant must be a valid slug"}
	case c.Token == "" && c.Account == "":
		return bad("token", "one of token or account is required")
	case c.Token != "" && c.Account != "":
		return bad("account", "give either token or account, not both")
	case strings.TrimSpace(c.Permission) == "" || len(c.Permission) > 256:
		return bad("permission", "permission is required (at most 256 bytes)")
	}
	if c.Account != "" {
		if _, err := bodyID(prefix+"account", c.Account, store.ParseAccountID); err != nil {
			return err
		}
	}
	_, err := bodyID(prefix+"organization", c.Organization, store.ParseOrgID)
	return err
}

// checkOne decides a validated request in one read transaction. A refused
// token is AUTH.UNAUTHENTICATED naming the reason.
func (s *Server) checkOne(r *http.Request, c checkRequest) (checkResponse, error) {
	ctx := r.Context()
	org, _ := store.ParseOrgID(c.Organization)
	var res checkResponse
	err := s.cfg.Store.InTenantSlug(ctx, c.Tenant, func(tx *store.Tx) error {
		res.Tenant = tx.Tenant().String()
		var account store.AccountID
		if c.Token != "" {
			p, err := s.cfg.Auth.VerifyAccessToken(ctx, tx, c.Tenant, c.Token)
			if err != nil {
				var te *auth.TokenError
				if errors.As(err, &te) || errors.Is(err, auth.ErrTokenInvalid) {
					return &problem.Error{Code: problem.AuthUnauthenticated, Field: "token", Detail: "token refused", Err: err}
				}
				return err
			}
			account = p.Account
		} else {
			account, _ = store.ParseAccountID(c.Account)
		}
		res.Account = account.String()
		reason, err := decideInTx(r, tx, account, c.Permission, org)
		res.Allowed, res.Reason = reason == "granted", reason
		return err
	})
	if errors.Is(err, store.ErrTenantNotFound) {
		return checkResponse{Reason: "unknown_tenant", Account: c.Account}, nil
	}
	return res, err
}

// decideInTx gives the edge's reasons from PostgreSQL.
func decideInTx(r *http.Request, tx *store.Tx, account store.AccountID, perm string, org store.OrgID) (string, error) {
	a, err := tx.GetAccount(r.Context(), account)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "unknown_account", nil
	case err != nil:
		return "", err
	case a.Status == "locked":
		return "account_locked", nil
	case a.Status != "active":
		return "account_disabled", nil
	}
	ok, err := tx.HasPermission(r.Context(), account, perm, &org)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "unknown_org", nil
	case err != nil:
		return "", err
	case ok:
		return "granted", nil
	}
	return "no_grant", nil
}

type grantJSON struct {
	Binding           string   `json:"binding"`
	Role              string   `json:"role"`
	BoundOrganization string   `json:"bound_organization"`
	Path              []string `json:"path"`
}

type permissionJSON struct {
	Permission string      `json:"permission"`
	Grants     []grantJSON `json:"grants"`
}

// permissions lists an account's effective permissions in an organization
// with the grants behind each, nearest binding first.
func (s *Server) permissions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	slug := q.Get("tenant")
	if !store.ValidSlug(slug) {
		return &problem.Error{Code: problem.ValidationInvalidSlug, Field: "tenant", Detail: "tenant must be a valid slug"}
	}
	account, err := bodyID("account", q.Get("account"), store.ParseAccountID)
	if err != nil {
		return err
	}
	org, err := bodyID("organization", q.Get("organization"), store.ParseOrgID)
	if err != nil {
		return err
	}
	out := map[string]any{"tenant": slug, "account": account.String(), "organization": org.String()}
	perms := []permissionJSON{}
	err = s.cfg.Store.InTenantSlug(r.Context(), slug, func(tx *store.Tx) error {
		out["tenant"] = tx.Tenant().String()
		reason, err := decideInTx(r, tx, account, "", org)
		if err != nil || (reason != "no_grant" && reason != "granted") {
			out["reason"] = reason
			return err
		}
		rows, err := tx.EffectiveGrants(r.Context(), account, org)
		if err != nil {
			return err
		}
		chain, err := tx.ListAncestors(r.Context(), org)
		if err != nil {
			return err
		}
		path := make([]string, 0, len(chain)+1)
		for _, o := range chain {
			path = append(path, o.ID.String())
		}
		path = append(path, org.String())
		for _, g := range rows {
			if len(perms) == 0 || perms[len(perms)-1].Permission != g.Permission {
				perms = append(perms, permissionJSON{Permission: g.Permission})
			}
			from := 0
			for i, id := range path {
				if id == g.BoundOrg.String() {
					from = i
				}
			}
			p := &perms[len(perms)-1]
			p.Grants = append(p.Grants, grantJSON{Binding: g.Binding.String(), Role: g.Role.String(),
				BoundOrganization: g.BoundOrg.String(), Path: path[from:]})
		}
		out["reason"] = "no_grant"
		if len(perms) > 0 {
			out["reason"] = "granted"
		}
		return nil
	})
	if errors.Is(err, store.ErrTenantNotFound) {
		out["reason"] = "unknown_tenant"
		err = nil
	}
	if err != nil {
		return err
	}
	out["permissions"] = perms
	return writeJSON(w, http.StatusOK, out)
}
