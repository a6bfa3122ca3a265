package devsync

import (
	"context"
	"encoding/json"
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
	if kind == "renew" {
		s.renewResponse(data, resp)
	} else {
		s.tokenResponse(data, resp)
	}
	s.answer(kind, resultLabel(resp.Error), resp)
}

// knownCodes are the error codes used as metric labels; anything else
// core might answer counts as "error".
var knownCodes = map[string]bool{devproto.ErrCodeUnavailable: true, devproto.ErrCodeExpired: true,
	devproto.ErrCodeRevoked: true, devproto.ErrCodeBadRequest: true, devproto.ErrCodeNotFound: true,
	devproto.ErrCodeAccount: true, devproto.ErrCodeInternal: true}

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

func (s *session) renewResponse(data []byte, resp *devproto.Message) {
	var r devproto.RenewReply
	switch {
	case json.Unmarshal(data, &r) != nil:
		resp.Error = devproto.ErrCodeInternal
	case r.Error != "":
		resp.Error = r.Error
	case len(r.Chain) == 0 || len(r.Chain) > devproto.MaxChainCerts:
		resp.Error = devproto.ErrCodeInternal
	default:
		resp.Chain = r.Chain
		s.mu.Lock()
		if na := time.Unix(r.NotAfter, 0); na.After(s.notAfter) {
			s.notAfter = na
		}
		s.mu.Unlock()
	}
}

func (s *session) tokenResponse(data []byte, resp *devproto.Message) {
	var r devproto.TokenReply
	switch {
	case json.Unmarshal(data, &r) != nil:
		resp.Error = devproto.ErrCodeInternal
	case r.Error != "":
		resp.Error = r.Error
	case r.AccessToken == "":
		resp.Error = devproto.ErrCodeInternal
	default:
		resp.Token, resp.ExpiresIn = r.AccessToken, r.ExpiresIn
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
