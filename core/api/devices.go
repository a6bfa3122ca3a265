package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/melmastoon/iam/core/auth"
	"github.com/melmastoon/iam/core/devices"
	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/internal/problem"
	"github.com/melmastoon/iam/syncproto"
)

// deviceView is a device as the API shows it. public_key is base64url
// without padding, as enrollment takes it.
type deviceView struct {
	ID         string     `json:"id"`
	AccountID  string     `json:"account_id"`
	Name       string     `json:"name"`
	Platform   string     `json:"platform"`
	Status     string     `json:"status"`
	PublicKey  string     `json:"public_key"`
	CertSerial string     `json:"cert_serial"`
	NotAfter   time.Time  `json:"not_after"`
	LastSeen   *time.Time `json:"last_seen"`
	Version    int64      `json:"version"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func viewDevice(d store.Device) deviceView {
	return deviceView{ID: d.ID.String(), AccountID: d.AccountID.String(), Name: d.Name, Platform: d.Platform, Status: d.Status,
		PublicKey: base64.RawURLEncoding.EncodeToString(d.PublicKey), CertSerial: d.CertSerial, NotAfter: d.NotAfter.UTC(),
		LastSeen: d.LastSeen, Version: d.Version, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, RevokedAt: d.RevokedAt}
}

// nonceResponse carries the tenant id too: the device signs
// devcert.EnrollmentMessage over it and may know only the slug.
type nonceResponse struct {
	Nonce     string    `json:"nonce"`
	TenantID  string    `json:"tenant_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

type enrollRequest struct {
	Name      string `json:"name"`
	Platform  string `json:"platform"`
	PublicKey string `json:"public_key"`
	Nonce     string `json:"nonce"`
	Signature string `json:"signature"`
}

// enrollResponse is the answer of POST …/devices. Byte strings are
// standard base64 (chain, trust_bundle, the anchor's and keys' public_key,
// anchor_certificate); trust_bundle is the devcert canonical JSON bundle,
// base64-encoded so its exact bytes survive (devcert.ParseTrustBundle
// accepts only the canonical encoding). The delta fields are absent when
// core runs without a hub.
type enrollResponse struct {
	Device            deviceView             `json:"device"`
	Chain             [][]byte               `json:"chain"`
	TrustBundle       []byte                 `json:"trust_bundle"`
	DeltaAnchor       *syncproto.TrustAnchor `json:"delta_anchor,omitempty"`
	DeltaKeys         []syncproto.SigningKey `json:"delta_keys,omitempty"`
	AnchorCertificate []byte                 `json:"anchor_certificate,omitempty"`
}

type caResponse struct {
	Generations []devices.CAGeneration `json:"generations"`
}

type rotateCARequest struct {
	Root bool `json:"root"`
}

// accountCaller returns the calling account, or DEVICE.ACCOUNT_REQUIRED
// for the bootstrap token and for a device's own token: enrolling a
// device takes the account's sign-in (password, and second factor when
// enrolled), so a stolen device cannot mint further devices that would
// outlive its revocation.
func accountCaller(r *http.Request) (store.AccountID, error) {
	c := callerOf(r)
	if c.bootstrap || c.principal.Account == (store.AccountID{}) {
		return store.AccountID{}, problem.New(problem.DeviceAccountRequired, "sign in as the account that owns the device")
	}
	if slices.Contains(c.principal.AMR, auth.AMRDevice) {
		return store.AccountID{}, problem.New(problem.DeviceAccountRequired, "a device's token cannot enroll devices: sign in with the account's credentials")
	}
	return c.principal.Account, nil
}

func (s *Server) devicesOn() error {
	if s.cfg.Devices == nil {
		return problem.New(problem.ServiceUnavailable, "")
	}
	return nil
}

// enroller checks an enrollment call: the tenant slug, the calling account
// (accountCaller) and that devices are served.
func (s *Server) enroller(r *http.Request) (string, store.AccountID, error) {
	slug, err := slugParam(r)
	if err != nil {
		return "", store.AccountID{}, err
	}
	account, err := accountCaller(r)
	if err != nil {
		return "", store.AccountID{}, err
	}
	return slug, account, s.devicesOn()
}

func (s *Server) createDeviceNonce(w http.ResponseWriter, r *http.Request) error {
	slug, account, err := s.enroller(r)
	if err != nil {
		return err
	}
	return s.mutate(w, r, slug, func(tx *store.Tx, body []byte) (result, error) {
		if len(body) > 0 { // optional, and then an empty object
			if err := decodeStrict(body, &struct{}{}); err != nil {
				return result{}, err
			}
		}
		n, err := s.cfg.Devices.NewEnrollNonce(r.Context(), tx, account)
		return result{status: http.StatusCreated, body: nonceResponse{Nonce: base64.RawURLEncoding.EncodeToString(n.Nonce),
			TenantID: tx.Tenant().String(), ExpiresAt: n.ExpiresAt.UTC()}}, err
	})
}

// decodeB64URL decodes base64url with or without padding.
func decodeB64URL(field, v string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
	if err != nil || len(b) == 0 {
		return nil, &problem.Error{Code: problem.ValidationFailed, Field: field, Detail: field + " must be base64url"}
	}
	return b, nil
}

func parseEnroll(body []byte, account store.AccountID) (devices.EnrollRequest, error) {
	var req enrollRequest
	if err := decodeStrict(body, &req); err != nil {
		return devices.EnrollRequest{}, err
	}
	if err := required("name", req.Name); err != nil {
		return devices.EnrollRequest{}, err
	}
	out := devices.EnrollRequest{Account: account, Name: req.Name, Platform: req.Platform}
	for _, f := range []struct {
		name, v string
		dst     *[]byte
	}{{"public_key", req.PublicKey, &out.PublicKey}, {"nonce", req.Nonce, &out.Nonce}, {"signature", req.Signature, &out.Signature}} {
		b, err := decodeB64URL(f.name, f.v)
		if err != nil {
			return devices.EnrollRequest{}, err
		}
		*f.dst = b
	}
	return out, nil
}

func (s *Server) enrollDevice(w http.ResponseWriter, r *http.Request) error {
	slug, account, err := s.enroller(r)
	if err != nil {
		return err
	}
	return s.mutate(w, r, slug, func(tx *store.Tx, body []byte) (result, error) {
		req, err := parseEnroll(body, account)
		if err != nil {
			return result{}, err
		}
		e, err := s.cfg.Devices.Enroll(r.Context(), tx, s.actor(r), req)
		if err != nil {
			return result{}, enrollProblem(err)
		}
		out := enrollResponse{Device: viewDevice(e.Device), Chain: e.Chain, TrustBundle: e.Bundle.Marshal()}
		if e.Trust != nil {
			out.DeltaAnchor, out.DeltaKeys, out.AnchorCertificate = &e.Trust.Anchor, e.Trust.Keys, e.Trust.AnchorCertificate
		}
		return result{status: http.StatusCreated, body: out, etag: etag(e.Device.Version)}, nil
	})
}

func enrollProblem(err error) error {
	switch {
	case errors.Is(err, devices.ErrWeakKey):
		return &problem.Error{Code: problem.DeviceWeakKey, Field: "public_key", Err: err}
	case errors.Is(err, devices.ErrBadProof):
		return &problem.Error{Code: problem.DeviceProofInvalid, Field: "signature", Err: err}
	case errors.Is(err, store.ErrNonceUnknown), errors.Is(err, store.ErrNonceUsed), errors.Is(err, store.ErrNonceExpired):
		return &problem.Error{Code: storeCode(err), Field: "nonce", Err: err}
	}
	return err
}

// deviceScope says which devices the caller may see or revoke: all of the
// tenant's (with perm, or the bootstrap token), or only the caller's own
// (own != nil).
func (s *Server) deviceScope(r *http.Request, tx *store.Tx, perm string) (own *store.AccountID, err error) {
	c := callerOf(r)
	if c.bootstrap {
		return nil, nil
	}
	ok, err := tx.HasPermission(r.Context(), c.principal.Account, perm, nil)
	if err != nil || ok {
		return nil, err
	}
	acc := c.principal.Account
	return &acc, nil
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	after, err := cursorID(cursor, store.ParseDeviceID)
	if err != nil {
		return err
	}
	var items []store.Device
	err = s.cfg.Store.InTenantSlug(r.Context(), slug, func(tx *store.Tx) error {
		own, err := s.deviceScope(r, tx, permDeviceRead)
		if err != nil {
			return err
		}
		items, err = tx.ListDevices(r.Context(), own, after, limit+1)
		return err
	})
	if err != nil {
		return err
	}
	p := paginate(items, limit, func(d store.Device) string { return d.ID.String() })
	views := make([]deviceView, 0, len(p.Items))
	for _, d := range p.Items {
		views = append(views, viewDevice(d))
	}
	return writeJSON(w, http.StatusOK, page[deviceView]{Items: views, NextCursor: p.NextCursor})
}

// visibleDevice returns the device if the caller may act on it with perm;
// another account's device is DEVICE.NOT_FOUND (no enumeration).
func (s *Server) visibleDevice(r *http.Request, tx *store.Tx, perm string, id store.DeviceID) (store.Device, error) {
	own, err := s.deviceScope(r, tx, perm)
	if err != nil {
		return store.Device{}, err
	}
	d, err := tx.GetDevice(r.Context(), id)
	if err != nil {
		return d, err
	}
	if own != nil && d.AccountID != *own {
		return store.Device{}, store.ErrDeviceNotFound
	}
	return d, nil
}

func (s *Server) getDevice(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, store.ParseDeviceID)
	if err != nil {
		return err
	}
	var d store.Device
	err = s.cfg.Store.InTenantSlug(r.Context(), slug, func(tx *store.Tx) (err error) {
		d, err = s.visibleDevice(r, tx, permDeviceRead, id)
		return err
	})
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(d.Version))
	return writeJSON(w, http.StatusOK, viewDevice(d))
}

func (s *Server) revokeDevice(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, store.ParseDeviceID)
	if err != nil {
		return err
	}
	if err := s.devicesOn(); err != nil {
		return err
	}
	return s.mutate(w, r, slug, func(tx *store.Tx, _ []byte) (result, error) {
		if _, err := s.visibleDevice(r, tx, permDeviceWrite, id); err != nil {
			return result{}, err
		}
		d, err := s.cfg.Devices.Revoke(r.Context(), tx, s.actor(r), id)
		return result{status: http.StatusOK, body: viewDevice(d), etag: etag(d.Version)}, err
	})
}

func (s *Server) showCA(w http.ResponseWriter, r *http.Request) error {
	if err := s.devicesOn(); err != nil {
		return err
	}
	var gens []devices.CAGeneration
	if err := s.read(r, permCARead, nil, func(tx *store.Tx) (err error) { gens, err = s.cfg.Devices.ShowCA(r.Context(), tx); return err }); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, caResponse{Generations: gens})
}

func (s *Server) rotateCA(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	if err := s.devicesOn(); err != nil {
		return err
	}
	return s.mutate(w, r, slug, func(tx *store.Tx, body []byte) (result, error) {
		var req rotateCARequest
		if len(body) > 0 {
			if err := decodeStrict(body, &req); err != nil {
				return result{}, err
			}
		}
		if err := s.allow(r, tx, permCAWrite, nil); err != nil {
			return result{}, err
		}
		gens, err := s.cfg.Devices.RotateCA(r.Context(), tx, s.actor(r), req.Root)
		if errors.Is(err, devices.ErrTooManyGenerations) {
			return result{}, problem.New(problem.DeviceCALimit, "")
		}
		return result{status: http.StatusOK, body: caResponse{Generations: gens}}, err
	})
}
