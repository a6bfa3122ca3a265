package client

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/melmastoon/iam/edge/wire"
)

// Limits and defaults of the HTTP client.
const (
	// MaxResponseBytes caps a response body read from the edge.
	MaxResponseBytes = 4 << 20
	// DefaultTimeout bounds one call of the default *http.Client,
	// connection included. The request's context may end it sooner.
	DefaultTimeout = 5 * time.Second
	// DefaultMaxIdleConnsPerHost is the idle keep-alive connections the
	// default transport keeps to the edge: enough for a busy service not
	// to open a connection per decision.
	DefaultMaxIdleConnsPerHost = 256
)

// HTTP is a Decider that asks an edge over HTTP. It is safe for
// concurrent use.
type HTTP struct {
	hc       *http.Client
	apiToken string
	onStale  func(time.Duration)

	verifyURL, checkURL, batchURL, permissionsURL, flagsURL string
}

// Option configures an HTTP client.
type Option func(*HTTP)

// WithHTTPClient makes the client use hc (its timeouts, transport, TLS
// and redirect policy) instead of the default. Nil keeps the default.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *HTTP) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithAPIToken sends token as "Authorization: Bearer <token>" on every
// call, for an edge configured with a shared API token.
func WithAPIToken(token string) Option {
	return func(c *HTTP) { c.apiToken = token }
}

// WithStalenessHook calls hook with the edge's staleness whenever a
// response carries the Staleness header (the edge's replica has not heard
// from core for that long; the answer is valid but may be old). hook runs
// on the caller's goroutine, concurrently with other calls: keep it short.
func WithStalenessHook(hook func(time.Duration)) Option {
	return func(c *HTTP) { c.onStale = hook }
}

// New returns a client of the edge at baseURL (http or https, with an
// optional path prefix). It returns an error if baseURL is not an absolute
// http(s) URL, or carries credentials, a query or a fragment.
func New(baseURL string, opts ...Option) (*HTTP, error) {
	base, err := parseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	c := &HTTP{hc: defaultHTTPClient()}
	for _, o := range opts {
		o(c)
	}
	c.verifyURL = base.JoinPath("api/v1/verify").String()
	c.checkURL = base.JoinPath("api/v1/check").String()
	c.batchURL = base.JoinPath("api/v1/check/batch").String()
	c.permissionsURL = base.JoinPath("api/v1/permissions").String()
	c.flagsURL = base.JoinPath("api/v1/flags").String()
	return c, nil
}

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("client: base URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("client: base URL %q: scheme must be http or https", raw)
	case u.Host == "":
		return nil, fmt.Errorf("client: base URL %q: no host", raw)
	case u.User != nil:
		return nil, fmt.Errorf("client: base URL: credentials belong in WithAPIToken, not the URL")
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, fmt.Errorf("client: base URL %q: no query or fragment allowed", raw)
	}
	return u, nil
}

// defaultHTTPClient has timeouts on every phase, keeps many idle
// connections to the one edge host, and does not follow redirects: an edge
// never redirects, so a redirect is a misconfiguration to report, not to
// follow with the API token.
func defaultHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4 * DefaultMaxIdleConnsPerHost,
		MaxIdleConnsPerHost:   DefaultMaxIdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   3 * time.Second,
		ResponseHeaderTimeout: DefaultTimeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: t,
		Timeout:   DefaultTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Verify implements Decider (POST /api/v1/verify).
func (c *HTTP) Verify(ctx context.Context, req wire.VerifyRequest) (*wire.VerifyResponse, error) {
	return postJSON[wire.VerifyResponse](ctx, c, "verify", c.verifyURL, req)
}

// Check implements Decider (POST /api/v1/check).
func (c *HTTP) Check(ctx context.Context, req wire.CheckRequest) (*wire.CheckResponse, error) {
	return postJSON[wire.CheckResponse](ctx, c, "check", c.checkURL, req)
}

// CheckBatch implements Decider (POST /api/v1/check/batch).
func (c *HTTP) CheckBatch(ctx context.Context, req wire.BatchRequest) (*wire.BatchResponse, error) {
	return postJSON[wire.BatchResponse](ctx, c, "check batch", c.batchURL, req)
}

// Permissions implements Decider (GET /api/v1/permissions).
func (c *HTTP) Permissions(ctx context.Context, req wire.PermissionsRequest) (*wire.PermissionsResponse, error) {
	q := url.Values{"tenant": {req.Tenant}, "account": {req.Account}, "organization": {req.Organization}}
	return getJSON[wire.PermissionsResponse](ctx, c, "permissions", c.permissionsURL, q)
}

// Flags implements Decider (GET /api/v1/flags).
func (c *HTTP) Flags(ctx context.Context, req wire.FlagsRequest) (*wire.FlagsResponse, error) {
	q := url.Values{"tenant": {req.Tenant}, "account": {req.Account}}
	return getJSON[wire.FlagsResponse](ctx, c, "flags", c.flagsURL, q)
}
