package device

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/melmastoon/iam/syncproto/devcert"
	"github.com/melmastoon/iam/syncproto/devproto"
)

// session is one sync connection.
type session struct {
	c    *Client
	cfg  *SyncConfig
	conn *websocket.Conn

	ready    chan struct{} // closed on Ready
	readyOne sync.Once
	activity chan struct{} // a frame arrived (coalesced)
	done     <-chan struct{}

	nextID  atomic.Uint64
	mu      sync.Mutex
	pending map[uint64]pendingRequest
}

type pendingRequest struct {
	want devproto.MsgType
	ch   chan *devproto.Message
}

func newSession(c *Client, cfg *SyncConfig, conn *websocket.Conn) *session {
	return &session{c: c, cfg: cfg, conn: conn, ready: make(chan struct{}), activity: make(chan struct{}, 1),
		pending: map[uint64]pendingRequest{}}
}

// errOnceDone ends a session after a successful catch-up.
var errOnceDone = errors.New("device: caught up")

// runSession dials the edge, authenticates and runs one connection until
// it fails or ctx ends. ready reports whether the edge sent Ready.
func (c *Client) runSession(ctx context.Context, u string, cfg *SyncConfig) (ready bool, err error) {
	hctx, hcancel := context.WithTimeout(ctx, cfg.HandshakeTimeout)
	defer hcancel()
	conn, resp, err := websocket.Dial(hctx, u, &websocket.DialOptions{HTTPClient: cfg.HTTPClient, Subprotocols: []string{devproto.Subprotocol}})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return false, fmt.Errorf("device: dial edge: %w", err)
	}
	defer func() { _ = conn.CloseNow() }()
	if conn.Subprotocol() != devproto.Subprotocol {
		_ = conn.Close(websocket.StatusProtocolError, "subprotocol required")
		return false, fmt.Errorf("%w: edge did not accept subprotocol %s", ErrProtocol, devproto.Subprotocol)
	}
	conn.SetReadLimit(devproto.MaxFrameBytes)
	s := newSession(c, cfg, conn)
	if err := s.handshake(hctx); err != nil {
		return false, s.closeWith(err)
	}
	return s.run(ctx)
}

// handshake reads Hello and answers Auth.
func (s *session) handshake(ctx context.Context) error {
	m, err := s.read(ctx)
	if err != nil {
		return err
	}
	if m.Type != devproto.Hello || len(m.Nonce) != devproto.NonceBytes {
		return fmt.Errorf("%w: expected hello with a %d-byte nonce, got %s", ErrProtocol, devproto.NonceBytes, m.Type)
	}
	c := s.c
	c.mu.Lock()
	r := c.rec
	auth := &devproto.Message{
		Type: devproto.Auth, Tenant: r.TenantID, Device: r.DeviceID, Chain: r.Chain,
		Sig:    ed25519.Sign(r.Key, devcert.HandshakeMessage(r.TenantID, r.DeviceID, m.Nonce)),
		Cursor: uint64(max(r.Entity.Version, 0)),
	}
	c.mu.Unlock()
	return s.write(ctx, auth)
}

// read reads and decodes one frame.
func (s *session) read(ctx context.Context) (*devproto.Message, error) {
	typ, b, err := s.conn.Read(ctx)
	if err != nil {
		return nil, s.c.closeReason(ctx, err)
	}
	if typ != websocket.MessageBinary {
		return nil, fmt.Errorf("%w: text frame", ErrProtocol)
	}
	m, err := devproto.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	return m, nil
}

func (s *session) write(ctx context.Context, m *devproto.Message) error {
	b, err := devproto.Encode(m)
	if err != nil {
		return err
	}
	if err := s.conn.Write(ctx, websocket.MessageBinary, b); err != nil {
		return fmt.Errorf("device: write %s: %w", m.Type, err)
	}
	return nil
}

// closeWith closes the connection as err calls for and returns err.
func (s *session) closeWith(err error) error {
	if errors.Is(err, ErrProtocol) {
		_ = s.conn.Close(websocket.StatusProtocolError, "protocol violation")
	}
	return err
}

// closeReason maps a read error to the package's errors. Close codes are
// not signed, so they are hints: 4006 (revoked) becomes ErrRevoked only
// when the device holds a signed Device delta or snapshot with status
// revoked (an honest edge sends it before closing), 4004 (expired)
// becomes ErrCertificateExpired only when the device's own check at its
// trusted time agrees. Otherwise both wrap ErrRefused and are retried like
// other close codes; nothing is persisted.
func (c *Client) closeReason(ctx context.Context, err error) error {
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		return fmt.Errorf("device: connection lost: %w", err)
	}
	switch ce.Code {
	case devproto.CloseCertExpired:
		c.mu.Lock()
		usable := c.checkUsableLocked()
		c.mu.Unlock()
		if usable != nil {
			return fmt.Errorf("%w (edge closed with %d)", usable, ce.Code)
		}
		c.noteHint(ctx, "edge closed with certificate expired, but the certificate is valid at the device's trusted time", int(ce.Code))
		return fmt.Errorf("%w: edge closed with %d (certificate expired at the edge), not confirmed by the device's clock: %w",
			ErrRefused, ce.Code, err)
	case devproto.CloseRevoked:
		if c.Current().Status == StatusRevoked {
			return fmt.Errorf("%w: edge closed with %d", ErrRevoked, ce.Code)
		}
		c.noteHint(ctx, "edge closed with device revoked, without a signed revocation", int(ce.Code))
		return fmt.Errorf("%w: edge closed with %d (device revoked) without a signed revocation: %w", ErrRefused, ce.Code, err)
	case devproto.CloseCertNotYetValid:
		c.log.WarnContext(ctx, "edge says the certificate is not valid yet, check the clock")
	}
	return fmt.Errorf("device: edge closed the connection with %d %q: %w", ce.Code, ce.Reason, err)
}

// noteHint logs and counts an unsigned revoked or expired signal that the
// device does not act upon.
func (c *Client) noteHint(ctx context.Context, msg string, code any) {
	c.mu.Lock()
	c.stats.Hints++
	c.mu.Unlock()
	c.log.WarnContext(ctx, "device ignores an unconfirmed refusal", "reason", msg, "code", code)
}

// run serves a connection after Auth: it waits for Ready, then handles
// frames, pings and renewals until something fails or ctx ends.
func (s *session) run(ctx context.Context) (ready bool, err error) {
	sctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	s.done = sctx.Done()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { cancel(s.readLoop(sctx)) })
	if err := s.awaitReady(ctx, sctx); err != nil {
		_ = s.conn.CloseNow()
		return false, err
	}
	s.c.setSession(s)
	defer s.c.clearSession(s)
	wg.Go(func() { s.pingLoop(sctx, cancel) })
	if s.cfg.Once {
		wg.Go(func() { cancel(s.catchUp(sctx)) })
	} else {
		wg.Go(func() { s.renewLoop(sctx) })
	}
	select {
	case <-ctx.Done():
		err = nil
		_ = s.conn.Close(websocket.StatusNormalClosure, "")
		if s.cfg.Once {
			err = ctx.Err()
		}
	case <-sctx.Done():
		err = context.Cause(sctx)
		if errors.Is(err, errOnceDone) {
			err = nil
			_ = s.conn.Close(websocket.StatusNormalClosure, "")
		}
	}
	cancel(nil)
	_ = s.conn.CloseNow()
	return true, s.closeWith(err)
}

// awaitReady waits for Ready within the handshake timeout.
func (s *session) awaitReady(ctx, sctx context.Context) error {
	t := time.NewTimer(s.cfg.HandshakeTimeout)
	defer t.Stop()
	select {
	case <-s.ready:
		s.c.mu.Lock()
		s.c.stats.Connects++
		s.c.mu.Unlock()
		return nil
	case <-sctx.Done():
		return context.Cause(sctx)
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("%w: no ready within %s", ErrProtocol, s.cfg.HandshakeTimeout)
	}
}

// readLoop handles frames until the connection fails or a frame ends the
// session; it returns why.
func (s *session) readLoop(ctx context.Context) error {
	for {
		m, err := s.read(ctx)
		if err != nil {
			return err
		}
		select {
		case s.activity <- struct{}{}:
		default:
		}
		if err := s.handleFrame(ctx, m); err != nil {
			return err
		}
	}
}

// handleFrame acts on one decoded frame. It returns an error only when the
// session must end (protocol violation, revocation); a rejected delta is
// logged, counted and otherwise ignored.
func (s *session) handleFrame(ctx context.Context, m *devproto.Message) error {
	switch m.Type {
	case devproto.Ready:
		s.readyOne.Do(func() { close(s.ready) })
		return nil
	case devproto.Delta:
		err := s.c.applyDelta(ctx, m.Delta)
		if errors.Is(err, ErrRevoked) {
			return err
		}
		if err != nil {
			s.c.log.WarnContext(ctx, "device delta rejected", "error", err)
		}
		return nil
	case devproto.RenewResponse, devproto.TokenResponse:
		s.deliver(ctx, m)
		return nil
	}
	return fmt.Errorf("%w: unexpected %s frame", ErrProtocol, m.Type)
}

// pingLoop pings the edge every PingInterval and ends the session when a
// pong does not come within PingTimeout.
func (s *session) pingLoop(ctx context.Context, cancel context.CancelCauseFunc) {
	t := time.NewTicker(s.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, pcancel := context.WithTimeout(ctx, s.cfg.PingTimeout)
		err := s.conn.Ping(pctx)
		pcancel()
		if err != nil && ctx.Err() == nil {
			cancel(fmt.Errorf("device: edge did not answer a ping: %w", err))
			return
		}
	}
}

// catchUp waits until no frame arrived for IdleAfterReady, renews the
// certificate if due, and ends the session (Once).
func (s *session) catchUp(ctx context.Context) error {
	t := time.NewTimer(s.cfg.IdleAfterReady)
	defer t.Stop()
	for idle := false; !idle; {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-s.activity:
			t.Reset(s.cfg.IdleAfterReady)
		case <-t.C:
			idle = true
		}
	}
	s.maybeRenew(ctx)
	return errOnceDone
}

// renewLoop renews the certificate when due, checking every CheckInterval.
func (s *session) renewLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.CheckInterval)
	defer t.Stop()
	for {
		s.maybeRenew(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// maybeRenew renews if due. A failed renewal never ends the session and
// never changes the device's status: the current certificate stays. After
// "too_early" the next check asks again; after any other failure (core
// unavailable, an untrusted or rolled-back chain, an unsigned "revoked" or
// "expired") the next attempt waits RenewRetry.
func (s *session) maybeRenew(ctx context.Context) {
	if !s.c.renewalDue() {
		return
	}
	err := s.renew(ctx)
	switch {
	case err == nil, ctx.Err() != nil:
		return
	case errors.Is(err, ErrTooEarly):
		s.c.mu.Lock()
		s.c.stats.TooEarly++
		s.c.mu.Unlock()
		s.c.log.InfoContext(ctx, "device certificate renewal: core says too early, keeping the current one until the next check")
		return
	}
	s.c.log.WarnContext(ctx, "device certificate renewal failed, keeping the current one", "error", err, "retry_in", s.cfg.RenewRetry)
	s.c.postponeRenewal(s.cfg.RenewRetry)
}

// renew asks for a new certificate over this connection and installs it.
func (s *session) renew(ctx context.Context) error {
	resp, _, err := s.signedRequest(ctx, devproto.RenewRequest, devproto.RenewResponse, devcert.RenewalMessage, nil)
	if err != nil {
		return err
	}
	if len(resp.Chain) == 0 {
		return fmt.Errorf("%w: renew response without chain", ErrProtocol)
	}
	return s.c.installChain(ctx, resp.Chain)
}

// signedRequest sends a RenewRequest or TokenRequest (a fresh request
// nonce, followed by key when not nil, signed with msg) and waits for its
// response; it returns the response and the nonce sent. A response Error
// becomes a RequestError; "revoked" and "expired" are counted and logged
// as hints, never acted upon.
func (s *session) signedRequest(ctx context.Context, typ, want devproto.MsgType, msg func(tenant, device string, nonce []byte) []byte,
	key []byte) (*devproto.Message, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	c := s.c
	c.mu.Lock()
	nonce, err := requestNonce(c.trustedNowLocked(), key)
	r := c.rec
	c.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	req := &devproto.Message{Type: typ, ID: s.nextID.Add(1), Nonce: nonce, Sig: ed25519.Sign(r.Key, msg(r.TenantID, r.DeviceID, nonce))}
	ch := make(chan *devproto.Message, 1)
	s.mu.Lock()
	s.pending[req.ID] = pendingRequest{want: want, ch: ch}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, req.ID)
		s.mu.Unlock()
	}()
	if err := s.write(ctx, req); err != nil {
		return nil, nil, err
	}
	select {
	case resp := <-ch:
		switch resp.Error {
		case "":
			return resp, nonce, nil
		case devproto.ErrCodeRevoked, devproto.ErrCodeExpired:
			c.noteHint(ctx, "the "+typ.String()+" was answered with an unsigned refusal", resp.Error)
		}
		return nil, nil, &RequestError{Code: resp.Error}
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("device: %s: %w", typ, ctx.Err())
	case <-s.done:
		return nil, nil, fmt.Errorf("%w: connection ended during %s", ErrNotConnected, typ)
	}
}

// deliver hands a response to the request waiting for it.
func (s *session) deliver(ctx context.Context, m *devproto.Message) {
	s.mu.Lock()
	p, ok := s.pending[m.ID]
	if ok && p.want == m.Type {
		delete(s.pending, m.ID)
	}
	s.mu.Unlock()
	if !ok || p.want != m.Type {
		s.c.log.WarnContext(ctx, "device response ignored, no such request", "type", m.Type.String(), "id", m.ID)
		return
	}
	p.ch <- m
}

// codeError maps a response Error code to a sentinel. "revoked" and
// "expired" are unsigned: ErrRefused, never ErrRevoked or
// ErrCertificateExpired.
func codeError(code string) error {
	switch code {
	case devproto.ErrCodeUnavailable:
		return ErrUnavailable
	case devproto.ErrCodeTooEarly:
		return ErrTooEarly
	}
	return ErrRefused
}

func (c *Client) setSession(s *session) {
	c.mu.Lock()
	c.sess = s
	c.mu.Unlock()
}

func (c *Client) clearSession(s *session) {
	c.mu.Lock()
	if c.sess == s {
		c.sess = nil
	}
	c.mu.Unlock()
}

func (c *Client) session() (*session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return nil, ErrNotConnected
	}
	return c.sess, nil
}

// Renew asks for a new certificate now, over the running Sync's
// connection, and installs it after verifying it (it must also expire
// later than the current one). It fails with ErrNotConnected when no
// connection is ready, an error wrapping ErrUnavailable when core is
// unreachable, ErrTooEarly when core finds the certificate too young to
// renew, ErrUntrustedResponse for a chain that does not verify, or
// ErrRefused (a RequestError) for any other answer; the current
// certificate stays and the device's status never changes.
func (c *Client) Renew(ctx context.Context) error {
	s, err := c.session()
	if err != nil {
		return err
	}
	return s.renew(ctx)
}

// Token obtains a fresh access token of the device's account over the
// running Sync's connection (proof of possession of the device key, no
// password). Each request carries a fresh ephemeral X25519 key in its
// signed nonce; core seals the token to it and only this call can open it
// (devproto.OpenToken), so the edge relaying it never sees the token. A
// sealed token that does not open fails with ErrUntrustedResponse; other
// errors are those of Renew.
func (c *Client) Token(ctx context.Context) (accessToken string, expiresIn time.Duration, err error) {
	s, err := c.session()
	if err != nil {
		return "", 0, err
	}
	key, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return "", 0, fmt.Errorf("device: token key: %w", err)
	}
	resp, nonce, err := s.signedRequest(ctx, devproto.TokenRequest, devproto.TokenResponse, devcert.TokenRequestMessage, key.PublicKey().Bytes())
	if err != nil {
		return "", 0, err
	}
	if len(resp.SealedToken) == 0 {
		return "", 0, fmt.Errorf("%w: token response without a sealed token", ErrProtocol)
	}
	c.mu.Lock()
	tenant, device := c.rec.TenantID, c.rec.DeviceID
	c.mu.Unlock()
	tok, err := devproto.OpenToken(key, tenant, device, nonce, resp.SealedToken)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %w", ErrUntrustedResponse, err)
	}
	return tok, time.Duration(resp.ExpiresIn) * time.Second, nil
}
