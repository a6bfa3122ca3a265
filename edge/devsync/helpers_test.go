package devsync

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/melmastoon/iam/core/ca"
	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/edge/replica"
	"github.com/melmastoon/iam/syncproto"
	"github.com/melmastoon/iam/syncproto/devcert"
	"github.com/melmastoon/iam/syncproto/devproto"
)

// clock is a real clock with a settable offset (certificate expiry tests).
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *clock) Shift(d time.Duration) {
	c.mu.Lock()
	c.off = d
	c.mu.Unlock()
}

func newSigner(t testing.TB, kid string) *syncproto.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := syncproto.NewSigner(kid, priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// harness is a replica, the sync server over it behind httptest, and an
// embedded NATS server on which tests answer for core.
type harness struct {
	t      testing.TB
	rep    *replica.Replica
	reg    *prometheus.Registry
	srv    *Server
	http   *httptest.Server
	nc     *nats.Conn
	clock  *clock
	system *syncproto.Signer
	stream uint64
	mu     sync.Mutex
}

// tenant is one tenant's producer side (core's relay and CA).
type tenant struct {
	h      *harness
	id     string
	root   *syncproto.Signer
	key    *syncproto.Signer
	anchor syncproto.TrustAnchor
	cert   []byte
	chain  *syncproto.Chain
	ca     *ca.CA
	n      int
}

func startNATS(t testing.TB) *nats.Conn {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func newHarness(t testing.TB, adjust func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, reg: prometheus.NewRegistry(), clock: &clock{}, system: newSigner(t, "system")}
	var srv *Server
	rep, err := replica.Open(context.Background(), replica.Config{Path: filepath.Join(t.TempDir(), "replica.db"),
		SystemAnchor: h.system.SigningKey(), OnApplied: func(a replica.Applied) {
			if srv != nil {
				srv.Apply(a)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	h.rep = rep
	h.nc = startNATS(t)
	cfg := Config{Store: rep, Core: NATSCore{Conn: func() *nats.Conn { return h.nc }}, Registry: h.reg, Now: h.clock.Now,
		HandshakeTimeout: 2 * time.Second, SnapshotTimeout: 500 * time.Millisecond, RequestTimeout: 500 * time.Millisecond}
	if adjust != nil {
		adjust(&cfg)
	}
	if srv, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	h.http = httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		h.http.Close()
		rep.Close()
	})
	return h
}

// newTenant creates a tenant at core; with publish it applies the key
// rotation and the CA delta to the replica.
func (h *harness) newTenant(publish bool) *tenant {
	t := h.t
	t.Helper()
	tn := &tenant{h: h, id: uuid.NewString(), root: newSigner(t, "root"), key: newSigner(t, "delta-1")}
	tn.anchor = syncproto.TrustAnchor{Tenant: tn.id, Kid: tn.root.Kid(), PublicKey: tn.root.PublicKey()}
	var err error
	if tn.cert, err = h.system.SignAnchor(tn.anchor, time.Now()); err != nil {
		t.Fatal(err)
	}
	if tn.chain, err = syncproto.NewChain(tn.id, tn.root, 0, syncproto.ZeroHash); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, keys.KEKSize)
	_, _ = rand.Read(key)
	kek, err := keys.NewLocalKEK(key)
	if err != nil {
		t.Fatal(err)
	}
	if tn.ca, _, err = ca.NewCA(context.Background(), ca.CAConfig{TenantID: tn.id, Encrypter: kek}); err != nil {
		t.Fatal(err)
	}
	if publish {
		tn.apply(tn.rotate())
		tn.applyDelta(devproto.TenantCAType, tn.caPayload())
	}
	return tn
}

func (tn *tenant) control() syncproto.Envelope {
	tn.n++
	return syncproto.Envelope{ID: uuid.NewString(), Source: "iam-core", Time: time.Now().UnixMilli()}
}

func (tn *tenant) rotate() []byte {
	msg, err := tn.chain.Rotate(tn.root, tn.key, nil, tn.control())
	if err != nil {
		tn.h.t.Fatal(err)
	}
	return msg
}

func (tn *tenant) sign(typ string, data any) []byte {
	tn.h.t.Helper()
	raw, err := syncproto.EncodeData(data)
	if err != nil {
		tn.h.t.Fatal(err)
	}
	e := tn.control()
	e.Type, e.DataContentType, e.Data = typ, syncproto.DataContentTypeCBOR, raw
	msg, err := tn.chain.Next(e)
	if err != nil {
		tn.h.t.Fatal(err)
	}
	return msg
}

// apply applies one signed message of the tenant's chain to the replica.
func (tn *tenant) apply(msg []byte) {
	tn.h.t.Helper()
	tn.h.mu.Lock()
	tn.h.stream++
	seq := tn.h.stream
	tn.h.mu.Unlock()
	head, _ := tn.chain.Head()
	hdr := map[string]string{replica.HeaderTenant: tn.id, replica.HeaderSeq: fmt.Sprint(head)}
	if head <= 2 {
		hdr[replica.HeaderAnchor] = base64.RawURLEncoding.EncodeToString(tn.cert)
	}
	if _, err := tn.h.rep.Apply(context.Background(), replica.Message{StreamSeq: seq, Data: msg, Headers: hdr}); err != nil {
		tn.h.t.Fatalf("apply: %v", err)
	}
}

func (tn *tenant) applyDelta(typ string, data any) []byte {
	tn.h.t.Helper()
	msg := tn.sign(typ, data)
	tn.apply(msg)
	return msg
}

func (tn *tenant) caPayload() map[string]any {
	return map[string]any{"generation": 1,
		"roots":         []any{base64.StdEncoding.EncodeToString(tn.ca.Root().Raw)},
		"intermediates": []any{base64.StdEncoding.EncodeToString(tn.ca.Issuing().Raw)}}
}

// device is an enrolled device: its key and certificate chain.
type device struct {
	tenant  *tenant
	id      string
	account string
	key     ed25519.PrivateKey
	chain   [][]byte
	version int64
}

// newDevice issues a certificate; enroll applies its enrolled delta.
func (tn *tenant) newDevice() *device {
	t := tn.h.t
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d := &device{tenant: tn, id: uuid.NewString(), account: uuid.NewString(), key: priv}
	der, _, _, err := tn.ca.IssueDevice(ca.DeviceCertRequest{DeviceID: d.id, PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	d.chain = [][]byte{der, tn.ca.Issuing().Raw}
	return d
}

func (d *device) payload(status string) map[string]any {
	return map[string]any{"id": d.id, "account_id": d.account, "name": "phone", "platform": "ios", "status": status,
		"cert_serial": fmt.Sprintf("%032x", d.version), "not_after": time.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339),
		"version": d.version}
}

// change applies the device's next delta and returns its signed bytes.
func (d *device) change(typ, status string) []byte {
	d.version++
	return d.tenant.applyDelta(typ, d.payload(status))
}

func (d *device) enroll() []byte { return d.change(devproto.DeviceEnrolledType, "active") }

// client is a device's sync connection. After the handshake a goroutine
// reads every frame into frames (reading with a deadline would close the
// connection), unless the client plays a device that never reads.
type client struct {
	t      testing.TB
	c      *websocket.Conn
	frames chan frameOrErr
}

type frameOrErr struct {
	m   *devproto.Message
	err error
}

func (h *harness) dialRaw(ctx context.Context) *client {
	h.t.Helper()
	url := "ws" + strings.TrimPrefix(h.http.URL, "http") + "/api/v1/sync"
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{devproto.Subprotocol}})
	if err != nil {
		h.t.Fatal(err)
	}
	c.SetReadLimit(devproto.MaxFrameBytes)
	h.t.Cleanup(func() { c.CloseNow() })
	return &client{t: h.t, c: c, frames: make(chan frameOrErr, 4096)}
}

// pump reads frames into cl.frames until the connection ends.
func (cl *client) pump() {
	go func() {
		for {
			typ, b, err := cl.c.Read(context.Background())
			var m *devproto.Message
			if err == nil {
				if typ != websocket.MessageBinary {
					err = errors.New("text frame")
				} else {
					m, err = devproto.Decode(b)
				}
			}
			cl.frames <- frameOrErr{m, err}
			if err != nil {
				close(cl.frames)
				return
			}
		}
	}()
}

// hello dials and reads Hello without starting the pump.
func (h *harness) hello() (*client, *devproto.Message) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl := h.dialRaw(ctx)
	typ, b, err := cl.c.Read(ctx)
	if err != nil || typ != websocket.MessageBinary {
		h.t.Fatalf("hello: %v", err)
	}
	hello, err := devproto.Decode(b)
	if err != nil || hello.Type != devproto.Hello || len(hello.Nonce) != devproto.NonceBytes {
		h.t.Fatalf("first frame %+v, %v", hello, err)
	}
	return cl, hello
}

func authFor(d *device, cursor uint64, nonce []byte) *devproto.Message {
	tn := d.tenant.id
	return &devproto.Message{Type: devproto.Auth, Tenant: tn, Device: d.id, Chain: d.chain, Cursor: cursor,
		Sig: ed25519.Sign(d.key, devcert.HandshakeMessage(tn, d.id, nonce))}
}

// connect dials, reads Hello, sends Auth (edit may alter it) and starts
// the pump.
func (h *harness) connect(d *device, cursor uint64, edit func(*devproto.Message)) *client {
	h.t.Helper()
	cl, hello := h.hello()
	auth := authFor(d, cursor, hello.Nonce)
	if edit != nil {
		edit(auth)
	}
	cl.send(auth)
	cl.pump()
	return cl
}

func (cl *client) send(m *devproto.Message) {
	cl.t.Helper()
	b, err := devproto.Encode(m)
	if err != nil {
		cl.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cl.c.Write(ctx, websocket.MessageBinary, b); err != nil {
		cl.t.Fatal(err)
	}
}

// nextWithin returns the next frame within d (nil, err when the
// connection ended or nothing came).
func (cl *client) nextWithin(d time.Duration) (*devproto.Message, error) {
	select {
	case f, ok := <-cl.frames:
		if !ok {
			return nil, errors.New("connection ended")
		}
		return f.m, f.err
	case <-time.After(d):
		return nil, errNothing
	}
}

var errNothing = errors.New("no frame in time")

func (cl *client) next() *devproto.Message {
	cl.t.Helper()
	m, err := cl.nextWithin(5 * time.Second)
	if err != nil {
		cl.t.Fatalf("read: %v", err)
	}
	return m
}

// expectReady reads Ready and returns the frames that follow within d.
func (cl *client) expectReady(d time.Duration) [][]byte {
	cl.t.Helper()
	if m := cl.next(); m.Type != devproto.Ready {
		cl.t.Fatalf("got %v, want ready", m.Type)
	}
	return cl.deltasWithin(d)
}

// deltasWithin returns the Delta frames that arrive until d passes
// without one.
func (cl *client) deltasWithin(d time.Duration) [][]byte {
	cl.t.Helper()
	var out [][]byte
	for {
		m, err := cl.nextWithin(d)
		if err != nil {
			return out
		}
		if m.Type != devproto.Delta {
			cl.t.Fatalf("unexpected %v frame", m.Type)
		}
		out = append(out, m.Delta)
	}
}

// expectClose reads until the connection closes and checks the code.
func (cl *client) expectClose(within time.Duration, code websocket.StatusCode) {
	cl.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case f, ok := <-cl.frames:
			if !ok {
				cl.t.Fatal("connection ended without a close error")
			}
			if f.err == nil {
				continue
			}
			if got := websocket.CloseStatus(f.err); got != code {
				cl.t.Fatalf("closed with %v (%v), want %v", got, f.err, code)
			}
			return
		case <-deadline:
			cl.t.Fatalf("not closed within %v", within)
		}
	}
}

// envelope verifies a delta frame's bytes with the tenant's keys.
func (tn *tenant) envelope(t testing.TB, raw []byte) *syncproto.Envelope {
	t.Helper()
	kr, err := syncproto.NewKeyring(tn.anchor, []syncproto.SigningKey{tn.key.SigningKey()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	env, err := syncproto.VerifyStandalone(raw, kr, tn.id)
	if err != nil {
		t.Fatalf("delta does not verify: %v", err)
	}
	return env
}

// deviceOf returns the id in a device delta's data ("" for others).
func deviceOf(t testing.TB, env *syncproto.Envelope) string {
	t.Helper()
	var m map[string]any
	if err := cbor.Unmarshal(env.Data, &m); err != nil {
		t.Fatal(err)
	}
	id, _ := m["id"].(string)
	return id
}

// respond answers subject for core.
func (h *harness) respond(subject string, fn func(req []byte) any) {
	h.t.Helper()
	sub, err := h.nc.Subscribe(subject, func(m *nats.Msg) {
		b, _ := json.Marshal(fn(m.Data))
		_ = m.Respond(b)
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := h.nc.Flush(); err != nil {
		h.t.Fatal(err)
	}
}

// metric returns a counter or gauge with the given label values.
func (h *harness) metric(name string, labels ...string) float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	return 0
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var _ = bytes.Equal
