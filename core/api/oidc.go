package api

import (
	"bytes"
	"io"
	"mime"
	"net/http"

	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/internal/problem"
)

// Cache lifetimes of the public OIDC documents. A new signing key is
// published a day before it signs, so caching keys for 15 minutes can never
// make a verifier miss one; discovery changes only with deployments.
const (
	discoveryCacheControl = "public, max-age=3600"
	jwksCacheControl      = "public, max-age=900, stale-while-revalidate=60"
)

type discoveryDocument struct {
	Issuer                           string   `json:"issuer"`
	JWKSURI                          string   `json:"jwks_uri"`
	TokenEndpoint                    string   `json:"token_endpoint"`
	GrantTypesSupported              []string `json:"grant_types_supported"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	ClaimsSupported                  []string `json:"claims_supported"`
}

// liveTenant answers 404 for a slug that is not a live tenant.
func (s *Server) liveTenant(r *http.Request) (string, error) {
	slug, err := slugParam(r)
	if err != nil {
		return "", err
	}
	return slug, s.cfg.Store.InTenantSlug(r.Context(), slug, func(*store.Tx) error { return nil })
}

func (s *Server) discovery(w http.ResponseWriter, r *http.Request) error {
	slug, err := s.liveTenant(r)
	if err != nil {
		return err
	}
	iss := s.cfg.Auth.Issuer(slug)
	doc := discoveryDocument{
		Issuer: iss, JWKSURI: iss + "/jwks.json", TokenEndpoint: iss + "/oauth2/token",
		GrantTypesSupported: []string{"refresh_token"}, ResponseTypesSupported: []string{"token"},
		SubjectTypesSupported: []string{"public"}, IDTokenSigningAlgValuesSupported: []string{"EdDSA"},
		TokenEndpointAuthMethods: []string{"none"},
		ClaimsSupported:          []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sid", "tid", "amr"},
	}
	w.Header().Set("Cache-Control", discoveryCacheControl)
	return writeJSONCached(w, doc)
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	set, err := s.cfg.Auth.JWKS(r.Context(), slug)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", jwksCacheControl)
	w.Header().Set("Content-Type", "application/jwk-set+json")
	return writeBody(w, http.StatusOK, set)
}

// token is the RFC 6749 token endpoint; it grants refresh_token only.
// Errors are problems that also carry the RFC 6749 "error" member, so stock
// OAuth2 clients understand them.
func (s *Server) token(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return oauthError(problem.OAuthInvalidRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	body, err := readRawBody(w, r)
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := r.ParseForm(); err != nil {
		return oauthError(problem.OAuthInvalidRequest, "invalid_request", "the form could not be parsed")
	}
	switch r.PostForm.Get("grant_type") {
	case "refresh_token":
	case "":
		return oauthError(problem.OAuthInvalidRequest, "invalid_request", "grant_type is required")
	default:
		return oauthError(problem.OAuthUnsupportedGrant, "unsupported_grant_type", "only refresh_token is supported")
	}
	refresh := r.PostForm.Get("refresh_token")
	if refresh == "" {
		return oauthError(problem.OAuthInvalidRequest, "invalid_request", "refresh_token is required")
	}
	w.Header().Set("Pragma", "no-cache")
	return s.staged(w, r, slug, body, func() (result, error) {
		tok, err := s.cfg.Auth.Refresh(r.Context(), slug, refresh, s.meta(r))
		return result{status: http.StatusOK, body: tok}, err
	})
}

func oauthError(code problem.Code, oauth, detail string) error {
	return &problem.Error{Code: code, Detail: detail, OAuthError: oauth}
}

// errInvalidGrant is the problem of a refused refresh token.
var errInvalidGrant = &problem.Error{Code: problem.OAuthInvalidGrant, OAuthError: "invalid_grant",
	Detail: "the refresh token is invalid, expired or revoked"}
