package device

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/melmastoon/iam/syncproto/devcert"
	"github.com/melmastoon/iam/syncproto/devproto"
)

// fakeEdge speaks the device side of devproto over a real WebSocket: it
// stands in for edge/devsync in unit tests. It checks every Auth the way
// an edge must (chain against the bundle, proof of possession).
type fakeEdge struct {
	t   *testing.T
	f   *fixture
	srv *httptest.Server
	wg  sync.WaitGroup

	// script runs after a verified Auth on connection n (from 0); the
	// edge then serves requests until the connection closes.
	script func(n int, ec *edgeConn)
	// onRenew and onToken answer requests (nil: "unavailable").
	onRenew func(ec *edgeConn, m *devproto.Message) *devproto.Message
	onToken func(ec *edgeConn, m *devproto.Message) *devproto.Message

	mu       sync.Mutex
	auths    []*devproto.Message
	requests []*devproto.Message
}

type edgeConn struct {
	t    *testing.T
	conn *websocket.Conn
	auth *devproto.Message
	leaf *x509.Certificate
}

func (ec *edgeConn) send(m *devproto.Message) {
	b, err := devproto.Encode(m)
	if err != nil {
		ec.t.Error(err)
		return
	}
	_ = ec.conn.Write(context.Background(), websocket.MessageBinary, b)
}

func (ec *edgeConn) delta(msg []byte) { ec.send(&devproto.Message{Type: devproto.Delta, Delta: msg}) }

func newFakeEdge(t *testing.T, f *fixture, script func(n int, ec *edgeConn)) *fakeEdge {
	e := &fakeEdge{t: t, f: f, script: script}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(func() {
		e.srv.Close()
		e.wg.Wait()
	})
	return e
}

func (e *fakeEdge) url() string { return e.srv.URL }

func (e *fakeEdge) authCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.auths)
}

func (e *fakeEdge) auth(i int) *devproto.Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.auths[i]
}

func (e *fakeEdge) requestCount(typ devproto.MsgType) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, r := range e.requests {
		if r.Type == typ {
			n++
		}
	}
	return n
}

func (e *fakeEdge) serve(w http.ResponseWriter, r *http.Request) {
	e.wg.Add(1)
	defer e.wg.Done()
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{devproto.Subprotocol}})
	if err != nil {
		return
	}
	defer conn.CloseNow()
	ctx := r.Context()
	nonce := make([]byte, devproto.NonceBytes)
	_, _ = rand.Read(nonce)
	ec := &edgeConn{t: e.t, conn: conn}
	ec.send(&devproto.Message{Type: devproto.Hello, Nonce: nonce, Time: time.Now().UnixMilli()})
	m, ok := e.read(ctx, conn)
	if !ok || m.Type != devproto.Auth {
		conn.Close(devproto.CloseProtocol, "auth expected")
		return
	}
	if err := e.verifyAuth(ec, m, nonce); err != nil {
		e.t.Errorf("edge: auth refused: %v", err)
		conn.Close(devproto.CloseUntrusted, "untrusted")
		return
	}
	e.mu.Lock()
	n := len(e.auths)
	e.auths = append(e.auths, m)
	e.mu.Unlock()
	ec.auth = m
	if e.script != nil {
		e.script(n, ec)
	}
	e.answer(ctx, ec)
}

// verifyAuth is what an edge checks: the chain against the tenant's
// bundle and the proof of possession of the leaf's key.
func (e *fakeEdge) verifyAuth(ec *edgeConn, m *devproto.Message, nonce []byte) error {
	id, err := e.f.ca.bundle.VerifyDevice(m.Chain, e.f.clock.Now(), time.Minute)
	if err != nil {
		return err
	}
	if id.Tenant != m.Tenant || id.Device != m.Device {
		return devcert.ErrWrongTenant
	}
	leaf, _ := x509.ParseCertificate(m.Chain[0])
	ec.leaf = leaf
	return devcert.VerifyPossession(leaf.PublicKey.(ed25519.PublicKey), devcert.HandshakeMessage(m.Tenant, m.Device, nonce), m.Sig)
}

func (e *fakeEdge) read(ctx context.Context, conn *websocket.Conn) (*devproto.Message, bool) {
	_, b, err := conn.Read(ctx)
	if err != nil {
		return nil, false
	}
	m, err := devproto.Decode(b)
	if err != nil {
		e.t.Errorf("edge: device sent a bad frame: %v", err)
		return nil, false
	}
	return m, true
}

// answer serves renew and token requests until the connection closes.
func (e *fakeEdge) answer(ctx context.Context, ec *edgeConn) {
	for {
		m, ok := e.read(ctx, ec.conn)
		if !ok {
			return
		}
		e.mu.Lock()
		e.requests = append(e.requests, m)
		e.mu.Unlock()
		unavailable := func(typ devproto.MsgType) *devproto.Message {
			return &devproto.Message{Type: typ, ID: m.ID, Error: devproto.ErrCodeUnavailable}
		}
		switch m.Type {
		case devproto.RenewRequest:
			e.checkRequest(ec, m, devcert.RenewalMessage)
			resp := unavailable(devproto.RenewResponse)
			if e.onRenew != nil {
				resp = e.onRenew(ec, m)
			}
			ec.send(resp)
		case devproto.TokenRequest:
			e.checkRequest(ec, m, devcert.TokenRequestMessage)
			resp := unavailable(devproto.TokenResponse)
			if e.onToken != nil {
				resp = e.onToken(ec, m)
			}
			ec.send(resp)
		default:
			e.t.Errorf("edge: unexpected %s from device", m.Type)
		}
	}
}

// checkRequest verifies a request's signature as core would.
func (e *fakeEdge) checkRequest(ec *edgeConn, m *devproto.Message, msg func(string, string, []byte) []byte) {
	want := RequestNonceBytes
	if m.Type == devproto.TokenRequest {
		want = TokenNonceBytes
	}
	if len(m.Nonce) != want || m.ID == 0 {
		e.t.Errorf("edge: %s nonce of %d bytes, id %d", m.Type, len(m.Nonce), m.ID)
	}
	pub := ec.leaf.PublicKey.(ed25519.PublicKey)
	if err := devcert.VerifyPossession(pub, msg(ec.auth.Tenant, ec.auth.Device, m.Nonce), m.Sig); err != nil {
		e.t.Errorf("edge: %s signature: %v", m.Type, err)
	}
}

// sealingCore answers token requests as core does: token sealed to the
// request's ephemeral key (edit, if set, alters the answer).
func sealingCore(t *testing.T, token string, edit func(*devproto.Message)) func(ec *edgeConn, m *devproto.Message) *devproto.Message {
	return func(ec *edgeConn, m *devproto.Message) *devproto.Message {
		sealed, err := devproto.SealToken(ec.auth.Tenant, ec.auth.Device, m.Nonce, token)
		if err != nil {
			t.Errorf("edge: seal: %v", err)
		}
		resp := &devproto.Message{Type: devproto.TokenResponse, ID: m.ID, SealedToken: sealed, ExpiresIn: 300}
		if edit != nil {
			edit(resp)
		}
		return resp
	}
}
