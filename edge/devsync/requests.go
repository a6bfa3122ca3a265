package devsync

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/melmastoon/iam/syncproto/devproto"
)

// handleFrame answers one frame of an authenticated device: renew and
// token requests go to core; anything else breaks the protocol.
func (s *session) handleFrame(ctx context.Context, r readResult) {
	m, err := decodeFrame(r)
	if err != nil || (m.Type != devproto.RenewRequest && m.Type != devproto.TokenRequest) {
		s.log.WarnContext(ctx, "device sync protocol error", "tenant", s.tenant, "device", s.device, "error", errText(err))
		s.terminate(refuseProtocol)
		return
	}
	kind, respType := "renew", devproto.RenewResponse
	if m.Type == devproto.TokenRequest {
		kind, respType = "token", devproto.TokenResponse
	}
	if len(m.Nonce) == 0 || len(m.Nonce) > MaxRequestNonceBytes || len(m.Sig) != 64 {
		s.answer(kind, "bad_request", &devproto.Message{Type: respType, ID: m.ID, Error: devproto.ErrCodeBadRequest})
		return
	}
	if s.inflight.Add(1) > MaxInflightRequests {
		s.inflight.Add(-1)
		s.answer(kind, "busy", &devproto.Message{Type: respType, ID: m.ID, Error: devproto.ErrCodeUnavailable})
		return
	}
	s.tasks.Add(1)
	go func() {
		defer s.tasks.Done()
		defer s.inflight.Add(-1)
		s.forward(ctx, kind, m)
	}()
}

func errText(err error) string {
	if err == nil {
		return "unexpected frame type"
	}
	return err.Error()
}

// forward sends a request to core and relays the reply with the same ID.
func (s *session) forward(ctx context.Context, kind string, m *devproto.Message) {
	subject, respType := devproto.RenewSubject, devproto.RenewResponse
	if kind == "token" {
		subject, respType = devproto.TokenSubject, devproto.TokenResponse
	}
	resp := &devproto.Message{Type: respType, ID: m.ID}
	data, err := s.askCore(ctx, subject, devproto.SignedRequest{Tenant: s.tenant, Device: s.device, Nonce: m.Nonce, Signature: m.Sig})
	if err != nil {
		s.log.WarnContext(ctx, "device sync request: core unavailable", "tenant", s.tenant, "device", s.device,
			"kind", kind, "error", err)
		resp.Error = devproto.ErrCodeUnavailable
		s.answer(kind, "unavailable", resp)
		return
	}
	result := ""
	if kind == "renew" {
		result = s.renewResponse(ctx, data, resp)
	} else {
		s.tokenResponse(data, resp)
	}
	if result == "" {
		result = resultLabel(resp.Error)
	}
	s.answer(kind, result, resp)
}

// knownCodes are the error codes used as metric labels; anything else
// core might answer counts as "error".
var knownCodes = map[string]bool{devproto.ErrCodeUnavailable: true, devproto.ErrCodeExpired: true,
	devproto.ErrCodeRevoked: true, devproto.ErrCodeBadRequest: true, devproto.ErrCodeNotFound: true,
	devproto.ErrCodeAccount: true, devproto.ErrCodeInternal: true, devproto.ErrCodeTooEarly: true}

// resultInvalidChain counts a renewal whose chain from core did not verify.
const resultInvalidChain = "invalid_chain"

func resultLabel(code string) string {
	switch {
	case code == "":
		return "ok"
	case knownCodes[code]:
		return code
	}
	return "error"
}

func (s *session) askCore(ctx context.Context, subject string, req devproto.SignedRequest) ([]byte, error) {
	if s.srv.cfg.Core == nil {
		return nil, ErrCoreUnavailable
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, s.srv.cfg.RequestTimeout)
	defer cancel()
	return s.srv.cfg.Core.Request(rctx, subject, body)
}

// renewResponse fills resp from core's renewal reply. The chain is
// verified before it is relayed or believed: it must chain to the tenant's
// CA bundle of the replica, be valid now (with the clock skew), name this
// session's tenant and device and certify the key the device authenticated
// with; the session's NotAfter moves to that of the verified leaf (never
// to the reply's NotAfter field). An invalid chain is answered
// ErrCodeInternal and counted as resultInvalidChain, which it returns
// ("" otherwise: the caller labels by resp.Error).
func (s *session) renewResponse(ctx context.Context, data []byte, resp *devproto.Message) string {
	var r devproto.RenewReply
	switch {
	case json.Unmarshal(data, &r) != nil:
		resp.Error = devproto.ErrCodeInternal
		return ""
	case r.Error != "":
		resp.Error = r.Error
		return ""
	}
	notAfter, err := s.verifyRenewed(ctx, r.Chain)
	if err != nil {
		s.log.WarnContext(ctx, "device renewal: chain from core refused", "tenant", s.tenant, "device", s.device, "error", err)
		resp.Error = devproto.ErrCodeInternal
		return resultInvalidChain
	}
	resp.Chain = r.Chain
	s.mu.Lock()
	if notAfter.After(s.notAfter) {
		s.notAfter = notAfter
	}
	s.mu.Unlock()
	return ""
}

// verifyRenewed checks a renewed chain (see renewResponse) and returns its
// leaf's NotAfter.
func (s *session) verifyRenewed(ctx context.Context, chain [][]byte) (time.Time, error) {
	if len(chain) == 0 || len(chain) > devproto.MaxChainCerts {
		return time.Time{}, fmt.Errorf("devsync: chain of %d certificates", len(chain))
	}
	bundle, err := s.srv.bundle(ctx, s.tenant)
	if err != nil {
		return time.Time{}, fmt.Errorf("devsync: tenant CA: %w", err)
	}
	id, err := bundle.VerifyDevice(chain, s.srv.cfg.Now(), s.srv.cfg.ClockSkew)
	if err != nil {
		return time.Time{}, err
	}
	if id.Tenant != s.tenant || id.Device != s.device {
		return time.Time{}, fmt.Errorf("devsync: chain names device %s of tenant %s", id.Device, id.Tenant)
	}
	if k := leafKey(chain); k == nil || len(s.leafKey) == 0 || !bytes.Equal(k, s.leafKey) {
		return time.Time{}, errors.New("devsync: chain certifies another key than the session's")
	}
	return id.NotAfter, nil
}

// leafKey is the Ed25519 key of a chain's leaf, nil when it has none.
func leafKey(chain [][]byte) []byte {
	if len(chain) == 0 {
		return nil
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil
	}
	pub, ok := leaf.PublicKey.(ed25519.PublicKey)
	if !ok {
		return nil
	}
	return pub
}

// tokenResponse relays core's token reply. The token is sealed to the
// device's ephemeral key (devproto.SealToken): the edge passes the sealed
// bytes on untouched and cannot read them. A reply without a sealed token
// (an older core's plain access_token is not even decoded) is answered
// ErrCodeInternal.
func (s *session) tokenResponse(data []byte, resp *devproto.Message) {
	var r devproto.TokenReply
	switch {
	case json.Unmarshal(data, &r) != nil:
		resp.Error = devproto.ErrCodeInternal
	case r.Error != "":
		resp.Error = r.Error
	case len(r.SealedToken) <= devproto.SealedTokenOverhead:
		resp.Error = devproto.ErrCodeInternal
	default:
		resp.SealedToken, resp.ExpiresIn = r.SealedToken, r.ExpiresIn
	}
}

// answer queues a response frame and counts the request.
func (s *session) answer(kind, result string, resp *devproto.Message) {
	s.srv.metrics.requests.WithLabelValues(kind, result).Inc()
	b, err := devproto.Encode(resp)
	if err != nil {
		b, _ = devproto.Encode(&devproto.Message{Type: resp.Type, ID: resp.ID, Error: devproto.ErrCodeInternal})
	}
	s.enqueue(outFrame{data: b})
}
