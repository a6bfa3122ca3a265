package coretest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melmastoon/iam/core"
	"github.com/melmastoon/iam/core/auth"
	"github.com/melmastoon/iam/core/hub"
	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/core/password"
	"github.com/melmastoon/iam/internal/obs"
	"github.com/melmastoon/iam/test/apitest"
	"github.com/melmastoon/iam/test/pgtest"
)

// Token is the bootstrap token of every test core.
const Token = "test-bootstrap-token-0123456789"

// Instance is a running core. Its Client checks every request and response
// against openapi/iam-service.yaml, failing the test on a mismatch.
type Instance struct {
	Core   *core.Core
	DB     *pgtest.DB
	URL    string
	Client *http.Client
	t      testing.TB
}

// Option adjusts an instance before start.
type Option func(*core.Config)

// Start runs core on a fresh database (or on databaseURL when non-empty) and
// stops it when t ends.
func Start(t testing.TB, opts ...Option) *Instance {
	t.Helper()
	db := pgtest.New(t)
	inst := StartOn(t, db.URL, opts...)
	inst.DB = db
	return inst
}

// StartOn runs core against an existing database URL.
func StartOn(t testing.TB, databaseURL string, opts ...Option) *Instance {
	t.Helper()
	kek, err := keys.NewLocalKEK(bytes.Repeat([]byte{7}, keys.KEKSize))
	if err != nil {
		t.Fatal(err)
	}
	cfg := core.Config{DatabaseURL: databaseURL, HTTPAddr: "127.0.0.1:0", BootstrapToken: Token,
		MigrateOnStart: true, KEK: kek, Logger: testLogger(),
		// Cheap Argon2id keeps the suite fast; production defaults are measured in bench.
		Auth: auth.Config{PasswordParams: password.Params{MemoryKiB: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := core.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("coretest: start core: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("coretest: core run: %v", err)
		}
		_ = c.Close()
	})
	client := apitest.Load(t).Client(t, http.DefaultTransport)
	client.Timeout = 30 * time.Second
	return &Instance{Core: c, URL: "http://" + c.Addr(), Client: client, t: t}
}

// Response is a decoded API response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map.
func (r *Response) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Decode decodes the body into v.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("coretest: decode %s: %v", r.Body, err)
	}
}

// Code returns the problem code of an error response.
func (r *Response) Code() string {
	c, _ := r.JSON()["code"].(string)
	return c
}

// Request describes one call.
type Request struct {
	Method string
	Path   string
	Body   any               // marshalled as JSON unless []byte or string
	Header map[string]string // extra headers
	NoAuth bool
	// Invalid marks a deliberately bad request: the contract check of the
	// request is skipped (the response is still checked).
	Invalid bool
	Context context.Context
}

// Do performs req with the bootstrap token and JSON content type.
func (i *Instance) Do(req Request) *Response {
	i.t.Helper()
	var body io.Reader
	switch b := req.Body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case string:
		body = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			i.t.Fatalf("coretest: marshal: %v", err)
		}
		body = bytes.NewReader(raw)
	}
	ctx := req.Context
	if ctx == nil {
		ctx = context.Background()
	}
	if req.Invalid {
		ctx = apitest.SkipRequestValidation(ctx)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, i.URL+req.Path, body)
	if err != nil {
		i.t.Fatalf("coretest: request: %v", err)
	}
	if body != nil && req.Header["Content-Type"] == "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	if !req.NoAuth {
		hr.Header.Set("Authorization", "Bearer "+Token)
	}
	for k, v := range req.Header {
		hr.Header.Set(k, v)
	}
	resp, err := i.Client.Do(hr)
	if err != nil {
		i.t.Fatalf("coretest: %s %s: %v", req.Method, req.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		i.t.Fatalf("coretest: read body: %v", err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// Post is Do with POST.
func (i *Instance) Post(path string, body any) *Response {
	i.t.Helper()
	return i.Do(Request{Method: http.MethodPost, Path: path, Body: body})
}

// Get is Do with GET.
func (i *Instance) Get(path string) *Response {
	i.t.Helper()
	return i.Do(Request{Method: http.MethodGet, Path: path})
}

// MustCreate posts body and fails the test unless the answer is 201; it
// returns the created resource's id.
func (i *Instance) MustCreate(path string, body any) string {
	i.t.Helper()
	r := i.Post(path, body)
	if r.Status != http.StatusCreated {
		i.t.Fatalf("coretest: POST %s = %d %s", path, r.Status, r.Body)
	}
	id, _ := r.JSON()["id"].(string)
	return id
}

// testLogger discards logs unless IAM_TEST_LOG=1 (then JSON to stderr).
func testLogger() *slog.Logger {
	if os.Getenv("IAM_TEST_LOG") == "1" {
		return obs.NewLogger(os.Stderr, slog.LevelDebug)
	}
	return slog.New(slog.DiscardHandler)
}

// Clock is a test clock: real time plus an offset the test moves.
type Clock struct{ offset atomic.Int64 }

// Now returns the shifted time.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// Set sets the offset from real time.
func (c *Clock) Set(d time.Duration) { c.offset.Store(int64(d)) }

// WithClock makes core use clock.
func WithClock(clock *Clock) Option { return func(c *core.Config) { c.Now = clock.Now } }

// WithLogger makes core log to l.
func WithLogger(l *slog.Logger) Option { return func(c *core.Config) { c.Logger = l } }

// WithAuth adjusts the sign-in configuration.
func WithAuth(f func(*auth.Config)) Option { return func(c *core.Config) { f(&c.Auth) } }

// Form posts a form-encoded body (the OAuth2 token endpoint).
func (i *Instance) Form(path string, values url.Values) *Response {
	i.t.Helper()
	return i.Do(Request{Method: http.MethodPost, Path: path, Body: values.Encode(),
		Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
}

// As performs req with an account's access token instead of the bootstrap token.
func (i *Instance) As(token string, req Request) *Response {
	i.t.Helper()
	req.NoAuth = true
	if req.Header == nil {
		req.Header = map[string]string{}
	}
	req.Header["Authorization"] = "Bearer " + token
	return i.Do(req)
}

// WithHub embeds a NATS hub on random loopback ports with its JetStream
// storage in dir.
func WithHub(dir string) Option {
	return func(c *core.Config) {
		c.Hub = &hub.Config{DataDir: dir, ClientListen: "127.0.0.1:-1", LeafListen: "127.0.0.1:-1",
			LeafUsers: []hub.LeafCredential{{User: "edge", Password: "edge-password-for-tests"}}}
	}
}
