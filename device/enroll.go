package device

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/melmastoon/iam/syncproto"
	"github.com/melmastoon/iam/syncproto/devcert"
	"github.com/melmastoon/iam/syncproto/devproto"
)

// Enrollment limits.
const (
	// MaxResponseBytes caps a REST answer of core.
	MaxResponseBytes = 1 << 20
	// DefaultHTTPTimeout bounds each REST call when EnrollConfig has no
	// HTTPClient.
	DefaultHTTPTimeout = 30 * time.Second
)

// EnrollConfig configures Enroll.
type EnrollConfig struct {
	CoreURL  string // core's base URL, e.g. https://iam.example.com
	Tenant   string // tenant slug (as in the REST paths)
	Username string
	Password string
	Name     string // device name shown to admins
	Platform string // default runtime.GOOS
	StateDir string // where device.db is written
	// HTTPClient makes the REST calls. Nil: a client with
	// DefaultHTTPTimeout.
	HTTPClient *http.Client
	// Replace allows overwriting an existing enrollment in StateDir (to
	// re-enroll after expiry or revocation).
	Replace bool
	Options Options
}

// CheckAndSetDefaults validates the required fields and fills defaults.
func (cfg *EnrollConfig) CheckAndSetDefaults() error {
	for _, f := range []struct{ name, v string }{
		{"core URL", cfg.CoreURL}, {"tenant", cfg.Tenant}, {"username", cfg.Username},
		{"password", cfg.Password}, {"name", cfg.Name}, {"state dir", cfg.StateDir},
	} {
		if f.v == "" {
			return fmt.Errorf("device: enroll: %s is required", f.name)
		}
	}
	u, err := url.Parse(cfg.CoreURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("device: enroll: core URL %q must be http(s)://host", cfg.CoreURL)
	}
	if cfg.Platform == "" {
		cfg.Platform = runtime.GOOS
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	cfg.Options.CheckAndSetDefaults()
	return nil
}

// Enroll creates a device key, enrolls it at core for the account
// (username and password), verifies what core returns and stores it in
// cfg.StateDir. It fails with ErrAlreadyEnrolled when StateDir holds an
// enrollment (unless cfg.Replace), ErrMFARequired when the account needs a
// second factor, an *APIError when core refuses a call, and an error
// wrapping ErrUntrustedResponse when core's answer does not verify; on
// failure nothing is written.
func Enroll(ctx context.Context, cfg EnrollConfig) (*Client, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	st, err := openStore(ctx, cfg.StateDir)
	if err != nil {
		return nil, err
	}
	c, err := enrollInto(ctx, &cfg, st)
	if err != nil {
		_ = st.close()
		return nil, err
	}
	return c, nil
}

func enrollInto(ctx context.Context, cfg *EnrollConfig, st *store) (*Client, error) {
	ok, err := st.enrolled(ctx)
	if err != nil {
		return nil, err
	}
	if ok && !cfg.Replace {
		return nil, fmt.Errorf("%w: %s", ErrAlreadyEnrolled, cfg.StateDir)
	}
	rec, err := (&enroller{cfg: cfg}).enroll(ctx)
	if err != nil {
		return nil, err
	}
	c, err := newClient(cfg.Options, st, rec)
	if err != nil {
		return nil, err
	}
	if err := st.put(ctx, rec); err != nil {
		return nil, err
	}
	c.log.InfoContext(ctx, "device enrolled", "device_id", rec.DeviceID, "tenant", rec.TenantID, "not_after", c.leaf.NotAfter)
	return c, nil
}

// enroller runs the three REST calls of an enrollment.
type enroller struct {
	cfg *EnrollConfig
}

type nonceResponse struct {
	Nonce     string `json:"nonce"`
	TenantID  string `json:"tenant_id"`
	ExpiresAt string `json:"expires_at"`
}

type enrollResponse struct {
	Device struct {
		ID         string `json:"id"`
		AccountID  string `json:"account_id"`
		Name       string `json:"name"`
		Platform   string `json:"platform"`
		Status     string `json:"status"`
		CertSerial string `json:"cert_serial"`
		NotAfter   string `json:"not_after"`
		Version    int64  `json:"version"`
	} `json:"device"`
	Chain       []string        `json:"chain"`
	TrustBundle json.RawMessage `json:"trust_bundle"`
	DeltaAnchor struct {
		Tenant    string `json:"tenant"`
		Kid       string `json:"kid"`
		PublicKey string `json:"public_key"`
	} `json:"delta_anchor"`
	DeltaKeys []struct {
		Kid       string `json:"kid"`
		PublicKey string `json:"public_key"`
	} `json:"delta_keys"`
	AnchorCertificate json.RawMessage `json:"anchor_certificate"`
}

func (e *enroller) enroll(ctx context.Context) (*record, error) {
	access, err := e.login(ctx)
	if err != nil {
		return nil, err
	}
	var nr nonceResponse
	if err := e.post(ctx, "/devices/nonce", access, struct{}{}, &nr); err != nil {
		return nil, err
	}
	nonce, err := decodeB64(nr.Nonce)
	if err != nil || len(nonce) < devcert.MinNonceBytes {
		return nil, fmt.Errorf("%w: nonce of core is not base64url of at least %d bytes", ErrUntrustedResponse, devcert.MinNonceBytes)
	}
	if !devcert.IsCanonicalUUID(nr.TenantID) {
		return nil, fmt.Errorf("%w: core's nonce response lacks tenant_id (a canonical UUID)", ErrUntrustedResponse)
	}
	pub, priv, err := newDeviceKey()
	if err != nil {
		return nil, err
	}
	req := map[string]string{
		"name": e.cfg.Name, "platform": e.cfg.Platform, "nonce": nr.Nonce,
		"public_key": b64url(pub),
		"signature":  b64url(ed25519.Sign(priv, devcert.EnrollmentMessage(nr.TenantID, nonce, pub))),
	}
	var er enrollResponse
	if err := e.post(ctx, "/devices", access, req, &er); err != nil {
		return nil, err
	}
	return e.record(&er, nr.TenantID, priv)
}

// login signs the account in and returns its access token.
func (e *enroller) login(ctx context.Context) (string, error) {
	var out struct {
		AccessToken string `json:"access_token"`
		MFARequired bool   `json:"mfa_required"`
	}
	body := map[string]string{"username": e.cfg.Username, "password": e.cfg.Password}
	if err := e.post(ctx, "/auth/login", "", body, &out); err != nil {
		return "", err
	}
	if out.MFARequired {
		return "", ErrMFARequired
	}
	if out.AccessToken == "" {
		return "", fmt.Errorf("%w: sign-in answer without access_token", ErrUntrustedResponse)
	}
	return out.AccessToken, nil
}

// newDeviceKey generates an Ed25519 key that devcert accepts.
func newDeviceKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	for range 3 {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, fmt.Errorf("device: generate key: %w", err)
		}
		if !devcert.IsWeakPublicKey(pub) {
			return pub, priv, nil
		}
	}
	return nil, nil, errors.New("device: generate key: only weak keys drawn")
}

// record checks core's enrollment answer and turns it into the state.
func (e *enroller) record(er *enrollResponse, tenantID string, priv ed25519.PrivateKey) (*record, error) {
	rec := &record{TenantID: tenantID, TenantSlug: e.cfg.Tenant, DeviceID: er.Device.ID, AccountID: er.Device.AccountID, Key: priv}
	if !devcert.IsCanonicalUUID(er.Device.ID) || !devcert.IsCanonicalUUID(er.Device.AccountID) {
		return nil, fmt.Errorf("%w: device or account id is not a canonical UUID", ErrUntrustedResponse)
	}
	var err error
	if rec.Chain, err = decodeChain(er.Chain); err != nil {
		return nil, err
	}
	if rec.Bundle, err = parseBundle(er.TrustBundle, tenantID); err != nil {
		return nil, err
	}
	if rec.Anchor, rec.Keys, err = parseAnchors(er, tenantID); err != nil {
		return nil, err
	}
	rec.AnchorCert = anchorCertBytes(er.AnchorCertificate)
	rec.Entity = devproto.DevicePayload{ID: er.Device.ID, AccountID: er.Device.AccountID, Name: er.Device.Name,
		Platform: er.Device.Platform, Status: er.Device.Status, CertSerial: er.Device.CertSerial,
		NotAfter: er.Device.NotAfter, Version: er.Device.Version}
	if rec.Entity.Version < 0 {
		return nil, fmt.Errorf("%w: negative device version", ErrUntrustedResponse)
	}
	bundle, _ := devcert.ParseTrustBundle(rec.Bundle)
	id, err := bundle.VerifyDevice(rec.Chain, e.cfg.Options.Now(), e.cfg.Options.ClockSkew)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate chain: %w", ErrUntrustedResponse, err)
	}
	if id.Device != rec.DeviceID || id.Tenant != tenantID {
		return nil, fmt.Errorf("%w: certificate names device %s of tenant %s", ErrUntrustedResponse, id.Device, id.Tenant)
	}
	leaf, err := parseLeaf(rec.Chain, priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	rec.ServerTimeMs = leaf.NotBefore.UnixMilli() // core signed it (backdated): a lower bound of its time
	return rec, nil
}

func decodeChain(chain []string) ([][]byte, error) {
	if len(chain) == 0 || len(chain) > devcert.MaxChainCerts {
		return nil, fmt.Errorf("%w: chain of %d certificates", ErrUntrustedResponse, len(chain))
	}
	out := make([][]byte, len(chain))
	for i, s := range chain {
		der, err := decodeB64(s)
		if err != nil {
			return nil, fmt.Errorf("%w: chain certificate %d: %w", ErrUntrustedResponse, i, err)
		}
		out[i] = der
	}
	return out, nil
}

// parseBundle accepts the trust bundle as a JSON object or as a base64
// string of its JSON, and returns its canonical bytes.
func parseBundle(raw json.RawMessage, tenantID string) ([]byte, error) {
	data := []byte(raw)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		b, err := decodeB64(s)
		if err != nil {
			return nil, fmt.Errorf("%w: trust bundle: %w", ErrUntrustedResponse, err)
		}
		data = b
	}
	b, err := devcert.ParseTrustBundle(data)
	if err != nil {
		var compact bytes.Buffer
		if json.Compact(&compact, data) != nil {
			return nil, fmt.Errorf("%w: trust bundle: %w", ErrUntrustedResponse, err)
		}
		if b, err = devcert.ParseTrustBundle(compact.Bytes()); err != nil {
			return nil, fmt.Errorf("%w: trust bundle: %w", ErrUntrustedResponse, err)
		}
	}
	if b.TenantID() != tenantID {
		return nil, fmt.Errorf("%w: trust bundle of tenant %s", ErrUntrustedResponse, b.TenantID())
	}
	return b.Marshal(), nil
}

// parseAnchors checks the delta anchor and keys and that they form a
// keyring.
func parseAnchors(er *enrollResponse, tenantID string) (syncproto.TrustAnchor, []syncproto.SigningKey, error) {
	fail := func(err error) (syncproto.TrustAnchor, []syncproto.SigningKey, error) {
		return syncproto.TrustAnchor{}, nil, fmt.Errorf("%w: delta anchor: %w", ErrUntrustedResponse, err)
	}
	if er.DeltaAnchor.Tenant != tenantID {
		return fail(fmt.Errorf("tenant %q, want %s", er.DeltaAnchor.Tenant, tenantID))
	}
	pub, err := decodeB64(er.DeltaAnchor.PublicKey)
	if err != nil {
		return fail(err)
	}
	anchor := syncproto.TrustAnchor{Tenant: tenantID, Kid: er.DeltaAnchor.Kid, PublicKey: pub}
	keys := make([]syncproto.SigningKey, 0, len(er.DeltaKeys))
	for _, k := range er.DeltaKeys {
		kp, err := decodeB64(k.PublicKey)
		if err != nil {
			return fail(err)
		}
		keys = append(keys, syncproto.SigningKey{Kid: k.Kid, PublicKey: kp})
	}
	if _, err := syncproto.NewKeyring(anchor, keys, nil); err != nil {
		return fail(err)
	}
	return anchor, keys, nil
}

// anchorCertBytes keeps the anchor certificate as sent: the bytes of a
// base64 string, or the raw JSON otherwise; nil when absent.
func anchorCertBytes(raw json.RawMessage) []byte {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if b, err := decodeB64(s); err == nil {
			return b
		}
	}
	return bytes.Clone(raw)
}

// post sends a JSON POST to the tenant's REST path and decodes a 2xx
// answer into out; any other answer becomes an *APIError.
func (e *enroller) post(ctx context.Context, path, bearer string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("device: encode request: %w", err)
	}
	u := strings.TrimRight(e.cfg.CoreURL, "/") + "/api/v1/tenants/" + url.PathEscape(e.cfg.Tenant) + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("device: request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := e.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("device: POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("device: POST %s: %w", path, err)
	}
	if len(data) > MaxResponseBytes {
		return fmt.Errorf("device: POST %s: answer over %d bytes", path, MaxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return problem(resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: POST %s: %w", ErrUntrustedResponse, path, err)
	}
	return nil
}

// problem decodes an application/problem+json body (best effort).
func problem(status int, body []byte) *APIError {
	var p struct {
		Code   string `json:"code"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	_ = json.Unmarshal(body, &p)
	e := &APIError{Status: status, Code: p.Code, Detail: p.Detail}
	if e.Detail == "" {
		e.Detail = p.Title
	}
	if e.Detail == "" {
		e.Detail = http.StatusText(status)
	}
	return e
}
