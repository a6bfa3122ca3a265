package devices

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"time"

	"github.com/melmastoon/iam/core/ca"
	"github.com/melmastoon/iam/core/relay"
	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/syncproto"
	"github.com/melmastoon/iam/syncproto/devcert"
	"github.com/melmastoon/iam/syncproto/devproto"
)

// Request nonces (renewal, token): RequestNonceRandom random bytes then
// the device's time as 8-byte big-endian unix milliseconds; a token
// request's nonce (TokenNonceBytes) then carries the device's ephemeral
// X25519 public key, to which the token is sealed.
const (
	RequestNonceRandom = 16
	RequestNonceBytes  = RequestNonceRandom + 8
	TokenNonceBytes    = devproto.TokenNonceBytes
)

// renewalSlack is added to two thirds of the validity before a renewal is
// refused as too early (NotBefore is backdated a minute, and clocks differ).
const renewalSlack = time.Minute

// errTooEarly refuses a renewal while the stored certificate has more than
// two thirds of the validity (plus renewalSlack) left.
var errTooEarly = refuse(devproto.ErrCodeTooEarly, "too_early")

// nonceBytes is the nonce length of a request purpose.
func nonceBytes(purpose string) int {
	if purpose == store.NonceToken {
		return TokenNonceBytes
	}
	return RequestNonceBytes
}

// requestDevice is the device a signed request names, once verified.
type requestDevice struct {
	slug   string
	device store.Device
}

// checkSignedRequest verifies the shape, freshness and signature of req
// inside tx (scoped to req.Tenant) and records its nonce as used. It
// returns the device; a refusal is one of the errXxx values.
func (s *Service) checkSignedRequest(ctx context.Context, tx *store.Tx, req devproto.SignedRequest, purpose string,
	message func(tenant, device string, nonce []byte) []byte) (requestDevice, error) {
	id, err := store.ParseDeviceID(req.Device)
	if err != nil || id.String() != req.Device || len(req.Nonce) != nonceBytes(purpose) || len(req.Signature) != ed25519.SignatureSize {
		return requestDevice{}, errMalformed
	}
	now := s.cfg.Now()
	at := time.UnixMilli(int64(binary.BigEndian.Uint64(req.Nonce[RequestNonceRandom:]))) //nolint:gosec // any value is compared below
	if at.Before(now.Add(-s.cfg.ClockSkew)) || at.After(now.Add(s.cfg.ClockSkew)) {
		return requestDevice{}, errStaleNonce
	}
	tn, err := tx.CurrentTenant(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return requestDevice{}, errNotFound
	}
	if err != nil {
		return requestDevice{}, err
	}
	d, err := tx.GetDevice(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return requestDevice{}, errNotFound
	}
	if err != nil {
		return requestDevice{}, err
	}
	if devcert.VerifyPossession(d.PublicKey, message(req.Tenant, req.Device, req.Nonce), req.Signature) != nil {
		return requestDevice{}, errBadSignature
	}
	// The nonce is kept until it could no longer pass the freshness check.
	if err := tx.UseRequestNonce(ctx, id, purpose, req.Nonce, at.Add(s.cfg.ClockSkew)); err != nil {
		if errors.Is(err, store.ErrNonceUsed) {
			return requestDevice{}, errReplayed
		}
		return requestDevice{}, err
	}
	switch {
	case d.Status != store.DeviceActive:
		return requestDevice{}, errRevoked
	case !now.Before(d.NotAfter):
		return requestDevice{}, errExpired
	}
	return requestDevice{slug: tn.Slug, device: d}, nil
}

// inRequestTenant runs fn in a transaction of the request's tenant, which
// must be a canonical UUID.
func (s *Service) inRequestTenant(ctx context.Context, tenant string, fn func(*store.Tx) error) error {
	tid, err := store.ParseTenantID(tenant)
	if err != nil || !devcert.IsCanonicalUUID(tenant) {
		return errMalformed
	}
	return s.store.InTenant(ctx, tid, fn)
}

// Renew answers a renewal (devproto.RenewSubject): a device that is
// active, whose stored certificate has not expired and whose signature
// over devcert.RenewalMessage with a fresh, unused nonce verifies gets a
// new certificate (device.renewed delta and audit device.renew). A
// certificate that still has more than two thirds of the configured
// validity plus a minute left is refused as too_early, so a device (or a
// replaying edge) cannot renew in a loop. A refusal changes nothing.
func (s *Service) Renew(ctx context.Context, req devproto.SignedRequest) devproto.RenewReply {
	var reply devproto.RenewReply
	err := s.inRequestTenant(ctx, req.Tenant, func(tx *store.Tx) error {
		rd, err := s.checkSignedRequest(ctx, tx, req, store.NonceRenew, devcert.RenewalMessage)
		if err != nil {
			return err
		}
		if rd.device.NotAfter.Sub(s.cfg.Now()) > s.cfg.CertValidity*2/3+renewalSlack {
			return errTooEarly
		}
		actor := store.Actor{ID: "device:" + req.Device}
		issuer, _, err := s.issuer(ctx, tx, actor)
		if err != nil {
			return err
		}
		der, serial, notAfter, err := issuer.IssueDevice(ca.DeviceCertRequest{DeviceID: req.Device,
			PublicKey: rd.device.PublicKey, Validity: s.cfg.CertValidity})
		if err != nil {
			return err
		}
		if _, err := tx.RenewDevice(ctx, actor, rd.device.ID, serial, notAfter); err != nil {
			if errors.Is(err, store.ErrDeviceRevoked) {
				return errRevoked
			}
			return err
		}
		reply = devproto.RenewReply{Chain: [][]byte{der, issuer.Issuing().Raw}, NotAfter: notAfter.Unix()}
		return nil
	})
	reply.Error = s.outcome(ctx, "renew", req.Tenant, req.Device, err)
	if reply.Error != "" {
		reply.Chain, reply.NotAfter = nil, 0
	}
	return reply
}

// Token answers a token request (devproto.TokenSubject): an active device
// with an unexpired certificate, a valid signature over
// devcert.TokenRequestMessage with a fresh, unused nonce (TokenNonceBytes,
// ending with the device's ephemeral X25519 key), and an active account
// gets an access token for the account (amr ["device"], no refresh token),
// sealed to that key (devproto.SealToken): the reply never carries the
// token in clear, so neither the edge nor any NATS subscriber can read
// it. Audited as device.token.
func (s *Service) Token(ctx context.Context, req devproto.SignedRequest) devproto.TokenReply {
	var reply devproto.TokenReply
	err := s.inRequestTenant(ctx, req.Tenant, func(tx *store.Tx) error {
		rd, err := s.checkSignedRequest(ctx, tx, req, store.NonceToken, devcert.TokenRequestMessage)
		if err != nil {
			return err
		}
		acc, err := tx.GetAccount(ctx, rd.device.AccountID)
		if err != nil || acc.Status != store.AccountActive {
			return errAccount
		}
		tok, ttl, err := s.cfg.Auth.IssueDeviceToken(ctx, tx, rd.slug, acc.ID, rd.device.ID)
		if err != nil {
			return err
		}
		sealed, err := devproto.SealToken(req.Tenant, req.Device, req.Nonce, tok)
		if errors.Is(err, devproto.ErrSealedToken) {
			return errBadTokenKey // the token is discarded, nothing is recorded
		}
		if err != nil {
			return err
		}
		if err := tx.TouchDevice(ctx, rd.device.ID); err != nil {
			return err
		}
		err = tx.Audit(ctx, store.Actor{ID: "device:" + req.Device}, store.AuditEvent{Action: "device.token",
			TargetType: "account", TargetID: acc.ID.String(), Details: map[string]any{"device_id": req.Device}})
		reply = devproto.TokenReply{SealedToken: sealed, ExpiresIn: ttl}
		return err
	})
	reply.Error = s.outcome(ctx, "token", req.Tenant, req.Device, err)
	if reply.Error != "" {
		reply.SealedToken, reply.ExpiresIn = nil, 0
	}
	return reply
}

// errBadTokenKey refuses a token request whose nonce carries an unusable
// X25519 key (a low-order point).
var errBadTokenKey = refuse(devproto.ErrCodeBadRequest, "bad_token_key")

// Snapshot answers a Device snapshot request (devproto.SnapshotSubject):
// the device's current DevicePayload in an envelope of type
// devproto.DeviceSnapshotType, subject the device id, signed with the
// tenant's delta-signing key at the chain's current head (relay
// SignStandalone). It needs a hub (Trust).
func (s *Service) Snapshot(ctx context.Context, req devproto.SnapshotRequest) devproto.SnapshotReply {
	var d store.Device
	err := s.inRequestTenant(ctx, req.Tenant, func(tx *store.Tx) error {
		id, err := store.ParseDeviceID(req.Device)
		if err != nil || id.String() != req.Device {
			return errMalformed
		}
		d, err = tx.GetDevice(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return errNotFound
		}
		return err
	})
	var reply devproto.SnapshotReply
	if err == nil {
		reply.Delta, err = s.signSnapshot(ctx, req.Tenant, d)
	}
	reply.Error = s.outcome(ctx, "snapshot", req.Tenant, req.Device, err)
	if reply.Error != "" {
		reply.Delta = nil
	}
	return reply
}

func (s *Service) signSnapshot(ctx context.Context, tenant string, d store.Device) ([]byte, error) {
	if s.cfg.Trust == nil {
		return nil, errNoChain
	}
	data, err := syncproto.EncodeData(d.Payload())
	if err != nil {
		return nil, err
	}
	msg, err := s.cfg.Trust.SignStandalone(ctx, tenant, syncproto.Envelope{Type: devproto.DeviceSnapshotType,
		Subject: d.ID.String(), Data: data})
	if errors.Is(err, relay.ErrNoChain) {
		return nil, errNoChain
	}
	return msg, err
}

// outcome counts and logs a request's result and returns its wire code
// ("" for success).
func (s *Service) outcome(ctx context.Context, op, tenant, device string, err error) string {
	code, result := classify(err)
	s.m.requests.WithLabelValues(op, result).Inc()
	switch result {
	case "ok":
		s.log.InfoContext(ctx, "device request served", "op", op, "tenant", tenant, "device", device)
	case "internal", "unavailable":
		s.log.WarnContext(ctx, "device request failed", "op", op, "tenant", tenant, "device", device, "result", result, "error", err)
	default:
		s.log.InfoContext(ctx, "device request refused", "op", op, "tenant", tenant, "device", device, "result", result)
	}
	return code
}
