package devsync

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"time"

	"github.com/coder/websocket"

	"github.com/melmastoon/iam/edge/replica"
	"github.com/melmastoon/iam/syncproto/devcert"
	"github.com/melmastoon/iam/syncproto/devproto"
)

// handshake sends Hello, reads and checks Auth. It returns the device's
// cursor, or false after terminating the session with the refusal.
func (s *session) handshake(ctx context.Context) (uint64, bool) {
	cfg := &s.srv.cfg
	nonce := make([]byte, devproto.NonceBytes)
	_, _ = rand.Read(nonce) // never fails (crypto/rand)
	hello, err := devproto.Encode(&devproto.Message{Type: devproto.Hello, Nonce: nonce, Time: cfg.Now().UnixMilli()})
	if err != nil {
		return 0, s.refuse(ctx, refuseInternal, err)
	}
	wctx, cancel := context.WithTimeout(ctx, cfg.WriteTimeout)
	err = s.c.Write(wctx, websocket.MessageBinary, hello)
	cancel()
	if err != nil {
		return 0, s.refuse(ctx, dropPeerClosed, err)
	}
	timer := time.NewTimer(cfg.HandshakeTimeout)
	defer timer.Stop()
	var r readResult
	select {
	case <-s.done:
		return 0, s.refuse(ctx, s.end, nil)
	case <-timer.C:
		return 0, s.refuse(ctx, refuseTimeout, nil)
	case r = <-s.in:
	}
	if r.err != nil {
		return 0, s.refuse(ctx, dropPeerClosed, r.err)
	}
	auth, err := decodeFrame(r)
	if err == nil && auth.Type != devproto.Auth {
		err = errors.New("devsync: first frame is not auth")
	}
	if err == nil && (auth.Tenant == "" || auth.Device == "" || len(auth.Chain) == 0) {
		err = errors.New("devsync: auth lacks tenant, device or chain")
	}
	if err != nil {
		return 0, s.refuse(ctx, refuseProtocol, err)
	}
	s.tenant, s.device = auth.Tenant, auth.Device
	id, why, err := s.verifyAuth(ctx, auth, nonce)
	if err != nil {
		return 0, s.refuse(ctx, why, err)
	}
	s.notAfter = id.NotAfter
	s.leafKey = leafKey(auth.Chain)
	s.srv.metrics.handshakes.WithLabelValues("ok").Inc()
	s.log.InfoContext(ctx, "device sync connected", "tenant", s.tenant, "device", s.device, "remote", s.remote,
		"cursor", auth.Cursor, "serial", id.Serial)
	return auth.Cursor, true
}

// decodeFrame accepts one binary frame that devproto.Decode accepts.
func decodeFrame(r readResult) (*devproto.Message, error) {
	if r.typ != websocket.MessageBinary {
		return nil, errors.New("devsync: text frame")
	}
	return devproto.Decode(r.data)
}

// verifyAuth runs the checks of the package documentation, in an order
// that tells nothing about a device to a client without its key.
func (s *session) verifyAuth(ctx context.Context, auth *devproto.Message, nonce []byte) (devcert.DeviceIdentity, closing, error) {
	cfg := &s.srv.cfg
	if cfg.Stale != nil && cfg.Stale() {
		return devcert.DeviceIdentity{}, refuseStale, errors.New("devsync: edge is stale (fail-closed)")
	}
	bundle, err := s.srv.bundle(ctx, auth.Tenant)
	switch {
	case errors.Is(err, replica.ErrNotFound):
		return devcert.DeviceIdentity{}, refuseUnknown, errors.New("devsync: tenant has no CA at this edge")
	case err != nil:
		return devcert.DeviceIdentity{}, refuseUntrusted, err
	}
	id, err := bundle.VerifyDevice(auth.Chain, cfg.Now(), cfg.ClockSkew)
	if err != nil {
		return id, certRefusal(err), err
	}
	if id.Tenant != auth.Tenant || id.Device != auth.Device {
		return id, refuseUntrusted, errors.New("devsync: certificate names another tenant or device than auth")
	}
	if err := verifySignature(auth, nonce); err != nil {
		return id, refuseUntrusted, err
	}
	_, err = cfg.Store.Device(ctx, auth.Tenant, auth.Device)
	switch {
	case errors.Is(err, replica.ErrNotFound):
		return id, refuseUnknown, errors.New("devsync: device not in the replica")
	case err != nil:
		return id, refuseInternal, err
	}
	// A revoked device is let through the handshake on purpose: catch-up
	// then sends it the signed revocation, which is the only thing a
	// device believes, and closes with 4006. The close code alone is a
	// hint a compromised edge could forge.
	return id, closing{}, nil
}

// verifySignature checks the proof of possession with the leaf's key
// (VerifyDevice already parsed and trusted the leaf).
func verifySignature(auth *devproto.Message, nonce []byte) error {
	leaf, err := x509.ParseCertificate(auth.Chain[0])
	if err != nil {
		return err
	}
	pub, ok := leaf.PublicKey.(ed25519.PublicKey)
	if !ok {
		return errors.New("devsync: leaf key is not Ed25519")
	}
	return devcert.VerifyPossession(pub, devcert.HandshakeMessage(auth.Tenant, auth.Device, nonce), auth.Sig)
}

// refuse terminates a session that did not authenticate, counts and logs
// why; it returns false for handshake's convenience.
func (s *session) refuse(ctx context.Context, why closing, err error) bool {
	s.terminate(why)
	why = s.end
	s.srv.metrics.handshakes.WithLabelValues(why.label).Inc()
	attrs := []any{"reason", why.label, "remote", s.remote, "code", int(why.code)}
	if s.tenant != "" {
		attrs = append(attrs, "tenant", s.tenant, "device", s.device)
	}
	if err != nil {
		attrs = append(attrs, "error", err.Error())
	}
	s.log.WarnContext(ctx, "device sync handshake refused", attrs...)
	return false
}
