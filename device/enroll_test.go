package device

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/melmastoon/iam/syncproto/devcert"
)

// fakeCore mimics core's three enrollment calls.
type fakeCore struct {
	t   *testing.T
	f   *fixture
	srv *httptest.Server

	mfa          bool
	noTenantID   bool
	bundleString bool
	wrongKey     bool

	mu      sync.Mutex
	nonce   []byte
	devices int
}

func newFakeCore(t *testing.T, f *fixture) *fakeCore {
	fc := &fakeCore{t: t, f: f}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/tenants/acme/auth/login", fc.login)
	mux.HandleFunc("POST /api/v1/tenants/acme/devices/nonce", fc.issueNonce)
	mux.HandleFunc("POST /api/v1/tenants/acme/devices", fc.enroll)
	fc.srv = httptest.NewServer(mux)
	t.Cleanup(fc.srv.Close)
	return fc
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func problemJSON(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"title": "refused", "status": status, "code": code})
}

func (fc *fakeCore) login(w http.ResponseWriter, r *http.Request) {
	var body struct{ Username, Password string }
	_ = json.NewDecoder(r.Body).Decode(&body)
	switch {
	case body.Username != "alice" || body.Password != "s3cret":
		problemJSON(w, http.StatusUnauthorized, "MELMASTOON.IAM.AUTH.INVALID_CREDENTIALS")
	case fc.mfa:
		writeJSON(w, http.StatusOK, map[string]any{"mfa_required": true, "mfa_token": "m"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"access_token": "at-1", "token_type": "Bearer", "expires_in": 300})
	}
}

func (fc *fakeCore) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer at-1" {
		problemJSON(w, http.StatusUnauthorized, "MELMASTOON.IAM.AUTH.UNAUTHENTICATED")
		return false
	}
	return true
}

func (fc *fakeCore) issueNonce(w http.ResponseWriter, r *http.Request) {
	if !fc.authorized(w, r) {
		return
	}
	n := make([]byte, 32)
	_, _ = rand.Read(n)
	fc.mu.Lock()
	fc.nonce = n
	fc.mu.Unlock()
	resp := map[string]any{"nonce": base64.RawURLEncoding.EncodeToString(n), "expires_at": "2026-03-01T12:05:00Z", "tenant_id": testTenant}
	if fc.noTenantID {
		delete(resp, "tenant_id")
	}
	writeJSON(w, http.StatusCreated, resp)
}

func (fc *fakeCore) enroll(w http.ResponseWriter, r *http.Request) {
	if !fc.authorized(w, r) {
		return
	}
	var body struct{ Name, Platform, PublicKey, Nonce, Signature string }
	body.PublicKey = ""
	var raw map[string]string
	_ = json.NewDecoder(r.Body).Decode(&raw)
	body.Name, body.Platform, body.PublicKey, body.Nonce, body.Signature = raw["name"], raw["platform"], raw["public_key"], raw["nonce"], raw["signature"]
	pub, err1 := base64.RawURLEncoding.DecodeString(body.PublicKey)
	nonce, err2 := base64.RawURLEncoding.DecodeString(body.Nonce)
	sig, err3 := base64.RawURLEncoding.DecodeString(body.Signature)
	fc.mu.Lock()
	issued := fc.nonce
	fc.devices++
	fc.mu.Unlock()
	if err := errors.Join(err1, err2, err3); err != nil || string(nonce) != string(issued) {
		problemJSON(w, http.StatusBadRequest, "MELMASTOON.IAM.VALIDATION.FAILED")
		return
	}
	if err := devcert.VerifyPossession(pub, devcert.EnrollmentMessage(testTenant, nonce, pub), sig); err != nil {
		fc.t.Errorf("core: enrollment signature: %v", err)
		problemJSON(w, http.StatusBadRequest, "MELMASTOON.IAM.DEVICE.PROOF_INVALID")
		return
	}
	if fc.wrongKey {
		pub = testKey("intruder").Public().(ed25519.PublicKey)
	}
	chain := fc.f.ca.issue(fc.t, testDevice, pub, fc.f.clock.Now())
	var bundle any = json.RawMessage(fc.f.ca.bundle.Marshal())
	if fc.bundleString {
		bundle = base64.StdEncoding.EncodeToString(fc.f.ca.bundle.Marshal())
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"device": map[string]any{"id": testDevice, "account_id": testAccount, "name": body.Name, "platform": body.Platform,
			"status": "active", "cert_serial": "x", "not_after": "2026-03-08T12:00:00Z", "version": 1},
		"chain":        []string{base64.StdEncoding.EncodeToString(chain[0]), base64.StdEncoding.EncodeToString(chain[1])},
		"trust_bundle": bundle,
		"delta_anchor": map[string]any{"tenant": testTenant, "kid": fc.f.root.Kid(), "public_key": base64.RawURLEncoding.EncodeToString(fc.f.root.PublicKey())},
		"delta_keys":   []map[string]any{{"kid": fc.f.key.Kid(), "public_key": base64.StdEncoding.EncodeToString(fc.f.key.PublicKey())}},
	})
}

func (fc *fakeCore) config(f *fixture) EnrollConfig {
	return EnrollConfig{CoreURL: fc.srv.URL, Tenant: testSlug, Username: "alice", Password: "s3cret", Name: "phone",
		Platform: "android", StateDir: f.dir, Options: f.options()}
}

func TestEnroll(t *testing.T) {
	for _, asString := range []bool{false, true} {
		f := newFixture(t)
		fc := newFakeCore(t, f)
		fc.bundleString = asString
		c, err := Enroll(context.Background(), fc.config(f))
		if err != nil {
			t.Fatal(err)
		}
		got := c.Current()
		c.Close()
		if got.DeviceID != testDevice || got.TenantID != testTenant || got.TenantSlug != testSlug || got.AccountID != testAccount ||
			got.Status != StatusActive || got.Cursor != 1 || got.Name != "phone" || got.Platform != "android" || !got.NotAfter.Equal(t0.Add(certLife)) {
			t.Fatalf("state %+v", got)
		}
		c2, err := Open(f.dir, f.options())
		if err != nil {
			t.Fatal(err)
		}
		if c2.Current() != got {
			t.Fatalf("reopened %+v, want %+v", c2.Current(), got)
		}
		// The pinned keyring verifies the tenant's deltas.
		if err := c2.applyDelta(context.Background(), f.delta(t, 2, StatusActive)); err != nil {
			t.Fatal(err)
		}
		c2.Close()

		if _, err := Enroll(context.Background(), fc.config(f)); !errors.Is(err, ErrAlreadyEnrolled) {
			t.Fatalf("second Enroll: %v, want ErrAlreadyEnrolled", err)
		}
		cfg := fc.config(f)
		cfg.Replace = true
		c3, err := Enroll(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if c3.Current().Cursor != 1 {
			t.Fatalf("re-enrolled cursor %d", c3.Current().Cursor)
		}
		c3.Close()
	}
}

func TestEnrollFailures(t *testing.T) {
	cases := map[string]struct {
		setup func(fc *fakeCore, cfg *EnrollConfig)
		check func(t *testing.T, err error)
	}{
		"mfa": {func(fc *fakeCore, _ *EnrollConfig) { fc.mfa = true }, wantIs(ErrMFARequired)},
		"bad password": {func(_ *fakeCore, cfg *EnrollConfig) { cfg.Password = "nope" }, func(t *testing.T, err error) {
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || ae.Code != "MELMASTOON.IAM.AUTH.INVALID_CREDENTIALS" {
				t.Fatalf("got %v, want the problem", err)
			}
		}},
		"no tenant id":                {func(fc *fakeCore, _ *EnrollConfig) { fc.noTenantID = true }, wantIs(ErrUntrustedResponse)},
		"certificate for another key": {func(fc *fakeCore, _ *EnrollConfig) { fc.wrongKey = true }, wantIs(ErrUntrustedResponse)},
		"unknown tenant": {func(_ *fakeCore, cfg *EnrollConfig) { cfg.Tenant = "other" }, func(t *testing.T, err error) {
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
				t.Fatalf("got %v, want a 404 APIError", err)
			}
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			fc := newFakeCore(t, f)
			cfg := fc.config(f)
			tc.setup(fc, &cfg)
			_, err := Enroll(context.Background(), cfg)
			tc.check(t, err)
			if _, err := Open(f.dir, f.options()); !errors.Is(err, ErrNotEnrolled) {
				t.Fatalf("state after a failed enrollment: %v", err)
			}
		})
	}
}

func wantIs(want error) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Fatalf("got %v, want %v", err, want)
		}
	}
}
