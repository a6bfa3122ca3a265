package devices

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/melmastoon/iam/core/ca"
	"github.com/melmastoon/iam/core/relay"
	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/syncproto/devcert"
	"github.com/melmastoon/iam/syncproto/devproto"
)

// Nonce is an enrollment nonce handed to an account.
type Nonce struct {
	Nonce     []byte
	ExpiresAt time.Time
}

// NewEnrollNonce draws a devproto.NonceBytes nonce for account, stores its
// hash (single use, valid EnrollNonceTTL) in tx and returns it.
func (s *Service) NewEnrollNonce(ctx context.Context, tx *store.Tx, account store.AccountID) (Nonce, error) {
	n := make([]byte, devproto.NonceBytes)
	if _, err := io.ReadFull(s.cfg.Rand, n); err != nil {
		return Nonce{}, fmt.Errorf("devices: nonce: %w", err)
	}
	exp := s.cfg.Now().Add(s.cfg.EnrollNonceTTL).Truncate(time.Second)
	if err := tx.CreateEnrollNonce(ctx, account, n, exp); err != nil {
		return Nonce{}, err
	}
	s.m.requests.WithLabelValues("nonce", "ok").Inc()
	return Nonce{Nonce: n, ExpiresAt: exp}, nil
}

// EnrollRequest is a device's enrollment, checked by the caller for
// shape (lengths of key and signature are checked here).
type EnrollRequest struct {
	Account   store.AccountID
	Name      string
	Platform  string
	PublicKey []byte
	Nonce     []byte
	Signature []byte
}

// Enrollment is what an enrolled device receives.
type Enrollment struct {
	Device store.Device
	// Chain is the device certificate and the issuing certificate (DER).
	Chain [][]byte
	// Bundle is the tenant's trust bundle (every active CA generation).
	Bundle *devcert.TrustBundle
	// Trust is the tenant's delta trust; nil when core has no hub.
	Trust *relay.TenantTrust
}

// Enroll checks the proof of possession and the nonce, issues the device
// certificate and records the device (audit device.enroll, outbox
// device.enrolled), all in tx. It fails with store.FieldError, ErrWeakKey,
// ErrBadProof, store.ErrNonceUnknown, store.ErrNonceUsed,
// store.ErrNonceExpired or a store.DuplicateError (a key in use by an
// active device); a failure changes nothing once tx rolls back.
func (s *Service) Enroll(ctx context.Context, tx *store.Tx, actor store.Actor, req EnrollRequest) (Enrollment, error) {
	e, err := s.enroll(ctx, tx, actor, req)
	result := "ok"
	if err != nil {
		result = enrollResult(err)
	}
	s.m.requests.WithLabelValues("enroll", result).Inc()
	if err != nil {
		s.log.InfoContext(ctx, "device enrollment refused", "tenant", tx.Tenant().String(), "account", req.Account.String(), "reason", result)
		return Enrollment{}, err
	}
	s.log.InfoContext(ctx, "device enrolled", "tenant", tx.Tenant().String(), "account", req.Account.String(),
		"device", e.Device.ID.String(), "cert_serial", e.Device.CertSerial)
	return e, nil
}

func (s *Service) enroll(ctx context.Context, tx *store.Tx, actor store.Actor, req EnrollRequest) (Enrollment, error) {
	if err := store.ValidateDeviceInput(req.Name, req.Platform); err != nil {
		return Enrollment{}, err
	}
	pub := ed25519.PublicKey(req.PublicKey)
	if devcert.IsWeakPublicKey(pub) {
		return Enrollment{}, ErrWeakKey
	}
	msg := devcert.EnrollmentMessage(tx.Tenant().String(), req.Nonce, pub)
	if err := devcert.VerifyPossession(pub, msg, req.Signature); err != nil {
		return Enrollment{}, ErrBadProof
	}
	if err := tx.ConsumeEnrollNonce(ctx, req.Account, req.Nonce); err != nil {
		return Enrollment{}, err
	}
	issuer, bundle, err := s.issuer(ctx, tx, actor)
	if err != nil {
		return Enrollment{}, err
	}
	id := store.NewDeviceID()
	der, serial, notAfter, err := issuer.IssueDevice(ca.DeviceCertRequest{DeviceID: id.String(), PublicKey: pub, Validity: s.cfg.CertValidity})
	if err != nil {
		return Enrollment{}, fmt.Errorf("devices: issue certificate: %w", err)
	}
	d, err := tx.CreateDevice(ctx, actor, store.NewDevice{ID: id, Account: req.Account, Name: req.Name, Platform: req.Platform,
		PublicKey: req.PublicKey, CertSerial: serial, NotAfter: notAfter})
	if err != nil {
		return Enrollment{}, err
	}
	e := Enrollment{Device: d, Chain: [][]byte{der, issuer.Issuing().Raw}, Bundle: bundle}
	if s.cfg.Trust != nil {
		t, err := s.cfg.Trust.TenantTrust(ctx, tx.Tenant().String())
		if err != nil {
			return Enrollment{}, fmt.Errorf("devices: tenant delta trust: %w", err)
		}
		e.Trust = &t
	}
	return e, nil
}

func enrollResult(err error) string {
	var fe *store.FieldError
	var dup *store.DuplicateError
	switch {
	case errors.As(err, &fe):
		return "invalid"
	case errors.Is(err, ErrWeakKey):
		return "weak_key"
	case errors.Is(err, ErrBadProof):
		return "bad_signature"
	case errors.Is(err, store.ErrNonceUnknown):
		return "unknown_nonce"
	case errors.Is(err, store.ErrNonceUsed):
		return "replayed_nonce"
	case errors.Is(err, store.ErrNonceExpired):
		return "expired_nonce"
	case errors.As(err, &dup):
		return "key_in_use"
	case isUnavailable(err):
		return "unavailable"
	}
	return "internal"
}

// Revoke revokes a device (idempotent: a revoked device is returned as
// is, with no audit or outbox row) and counts it.
func (s *Service) Revoke(ctx context.Context, tx *store.Tx, actor store.Actor, id store.DeviceID) (store.Device, error) {
	d, changed, err := tx.RevokeDevice(ctx, actor, id)
	switch {
	case err != nil:
		s.m.requests.WithLabelValues("revoke", enrollResult(err)).Inc()
		return d, err
	case changed:
		s.m.requests.WithLabelValues("revoke", "ok").Inc()
		s.log.InfoContext(ctx, "device revoked", "tenant", tx.Tenant().String(), "device", id.String(), "actor", actor.ID)
	default:
		s.m.requests.WithLabelValues("revoke", "already_revoked").Inc()
	}
	return d, nil
}
