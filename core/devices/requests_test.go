package devices_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/melmastoon/iam/core/ca"
	"github.com/melmastoon/iam/syncproto/devcert"
	"github.com/melmastoon/iam/syncproto/devproto"
	"github.com/melmastoon/iam/test/coretest"
	"github.com/melmastoon/iam/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const password = "violet-harbour-lantern-93"

// enrolled is one device enrolled at a core with a hub.
type enrolled struct {
	c      *coretest.Instance
	clock  *coretest.Clock
	nc     *nats.Conn
	tenant string
	device string
	key    ed25519.PrivateKey
	chain  [][]byte
	bundle *devcert.TrustBundle
}

func enroll(t *testing.T) *enrolled {
	t.Helper()
	clock := &coretest.Clock{}
	c := coretest.Start(t, coretest.WithHub(t.TempDir()), coretest.WithClock(clock))
	tenant := c.MustCreate("/api/v1/tenants", map[string]string{"slug": "acme", "name": "Acme"})
	c.MustCreate("/api/v1/tenants/acme/accounts", map[string]any{"username": "alice", "email": "alice@acme.example", "password": password})
	r := c.Do(coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/auth/login", NoAuth: true,
		Body: map[string]string{"username": "alice", "password": password}})
	tok, _ := r.JSON()["access_token"].(string)
	if r.Status != http.StatusOK || tok == "" {
		t.Fatalf("login = %d %s", r.Status, r.Body)
	}
	r = c.As(tok, coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/devices/nonce", Body: map[string]any{}})
	nb64, _ := r.JSON()["nonce"].(string)
	nonce, err := base64.RawURLEncoding.DecodeString(nb64)
	if r.Status != http.StatusCreated || err != nil {
		t.Fatalf("nonce = %d %s", r.Status, r.Body)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	b64 := base64.RawURLEncoding.EncodeToString
	r = c.As(tok, coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/devices", Body: map[string]string{
		"name": "phone", "platform": "android", "public_key": b64(pub), "nonce": b64(nonce),
		"signature": b64(ed25519.Sign(priv, devcert.EnrollmentMessage(tenant, nonce, pub)))}})
	var e struct {
		Device      struct{ ID string }
		Chain       [][]byte
		TrustBundle []byte `json:"trust_bundle"`
	}
	if r.Status != http.StatusCreated {
		t.Fatalf("enroll = %d %s", r.Status, r.Body)
	}
	r.Decode(t, &e)
	bundle, err := devcert.ParseTrustBundle(e.TrustBundle)
	if err != nil {
		t.Fatal(err)
	}
	return &enrolled{c: c, clock: clock, nc: c.Core.Hub().Conn(), tenant: tenant, device: e.Device.ID, key: priv,
		chain: e.Chain, bundle: bundle}
}

// requestNonce is a renew nonce at at; with key, a token nonce carrying it.
func requestNonce(at time.Time, key *ecdh.PrivateKey) []byte {
	n := make([]byte, 16, devproto.TokenNonceBytes)
	_, _ = rand.Read(n)
	n = binary.BigEndian.AppendUint64(n, uint64(at.UnixMilli()))
	if key != nil {
		n = append(n, key.PublicKey().Bytes()...)
	}
	return n
}

func (d *enrolled) signed(msg func(tenant, device string, nonce []byte) []byte, nonce []byte) devproto.SignedRequest {
	return devproto.SignedRequest{Tenant: d.tenant, Device: d.device, Nonce: nonce, Signature: ed25519.Sign(d.key, msg(d.tenant, d.device, nonce))}
}

// request sends req over NATS as an edge does and returns the raw reply.
func (d *enrolled) request(t *testing.T, subject string, req devproto.SignedRequest, reply any) []byte {
	t.Helper()
	body, _ := json.Marshal(req)
	m, err := d.nc.Request(subject, body, 10*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	if err := json.Unmarshal(m.Data, reply); err != nil {
		t.Fatalf("%s reply %s: %v", subject, m.Data, err)
	}
	return m.Data
}

func ephemeral(t *testing.T) *ecdh.PrivateKey {
	t.Helper()
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func count(t *testing.T, c *coretest.Instance, query string) int {
	t.Helper()
	var n int
	if err := c.DB.AdminConn(t).QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTokenIsSealed: the reply on NATS carries the token sealed to the
// request's ephemeral key; a subscriber of every subject (what any holder
// of leaf credentials can be) never sees it, the device opens it.
func TestTokenIsSealed(t *testing.T) {
	d := enroll(t)
	var mu sync.Mutex
	var seen [][]byte
	sub, err := d.nc.Subscribe(">", func(m *nats.Msg) {
		mu.Lock()
		seen = append(seen, bytes.Clone(m.Data))
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := d.nc.Flush(); err != nil {
		t.Fatal(err)
	}

	key := ephemeral(t)
	req := d.signed(devcert.TokenRequestMessage, requestNonce(d.clock.Now(), key))
	var reply devproto.TokenReply
	raw := d.request(t, devproto.TokenSubject, req, &reply)
	if reply.Error != "" || len(reply.SealedToken) <= devproto.SealedTokenOverhead || reply.ExpiresIn <= 0 {
		t.Fatalf("token reply %s", raw)
	}
	var fields map[string]any
	_ = json.Unmarshal(raw, &fields)
	if _, ok := fields["access_token"]; ok || fields["sealed_token"] == nil {
		t.Fatalf("reply fields %v", fields)
	}
	tok, err := devproto.OpenToken(key, d.tenant, d.device, req.Nonce, reply.SealedToken)
	if err != nil || strings.Count(tok, ".") != 2 {
		t.Fatalf("OpenToken = %q, %v", tok, err)
	}
	if r := d.c.As(tok, coretest.Request{Method: "GET", Path: "/api/v1/tenants/acme/devices"}); r.Status != http.StatusOK {
		t.Fatalf("opened token at core = %d %s", r.Status, r.Body)
	}
	// Another key cannot open it; a tampered seal does not open.
	if _, err := devproto.OpenToken(ephemeral(t), d.tenant, d.device, req.Nonce, reply.SealedToken); err == nil {
		t.Fatal("opened with another key")
	}
	tampered := bytes.Clone(reply.SealedToken)
	tampered[len(tampered)-1] ^= 1
	if _, err := devproto.OpenToken(key, d.tenant, d.device, req.Nonce, tampered); err == nil {
		t.Fatal("tampered sealed token opened")
	}

	_ = d.nc.Flush()
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 2 {
		t.Fatalf("the observer saw %d messages, want the request and the reply", len(seen))
	}
	for _, part := range append(strings.Split(tok, "."), tok) {
		for _, m := range seen {
			if bytes.Contains(m, []byte(part)) {
				t.Fatalf("a NATS message shows the token (%q): %s", part, m)
			}
		}
	}

	// The same request again (same ephemeral key): refused by nonce single use.
	var replay devproto.TokenReply
	d.request(t, devproto.TokenSubject, req, &replay)
	if replay.Error != devproto.ErrCodeBadRequest || replay.SealedToken != nil {
		t.Fatalf("replayed token request: %+v", replay)
	}
	if n := count(t, d.c, `SELECT count(*) FROM audit_events WHERE action = 'device.token'`); n != 1 {
		t.Fatalf("device.token audit rows = %d, want 1", n)
	}
}

// swapKey replaces the ephemeral key of a signed token request (what an
// edge that wants to read the token would do): the signature no longer
// verifies.
func swapKey(req devproto.SignedRequest, key *ecdh.PrivateKey) devproto.SignedRequest {
	req.Nonce = append(bytes.Clone(req.Nonce[:devproto.RequestNonceBytes]), key.PublicKey().Bytes()...)
	return req
}

func TestTokenRequestNonceShape(t *testing.T) {
	d := enroll(t)
	now := d.clock.Now()
	lowOrder := append(requestNonce(now, nil), make([]byte, 32)...)
	cases := map[string]devproto.SignedRequest{
		"renew-sized nonce":   d.signed(devcert.TokenRequestMessage, requestNonce(now, nil)),
		"low-order key":       d.signed(devcert.TokenRequestMessage, lowOrder),
		"key not signed":      swapKey(d.signed(devcert.TokenRequestMessage, requestNonce(now, ephemeral(t))), ephemeral(t)),
		"renewal signature":   d.signed(devcert.RenewalMessage, requestNonce(now, ephemeral(t))),
		"nonce with trailing": d.signed(devcert.TokenRequestMessage, append(requestNonce(now, ephemeral(t)), 0)),
	}
	for name, req := range cases {
		var r devproto.TokenReply
		d.request(t, devproto.TokenSubject, req, &r)
		if r.Error != devproto.ErrCodeBadRequest || r.SealedToken != nil {
			t.Errorf("%s: %+v, want bad_request", name, r)
		}
	}
	// A token-sized nonce is not a renewal's.
	var rr devproto.RenewReply
	d.request(t, devproto.RenewSubject, d.signed(devcert.RenewalMessage, requestNonce(now, ephemeral(t))), &rr)
	if rr.Error != devproto.ErrCodeBadRequest {
		t.Errorf("renewal with a token nonce: %+v", rr)
	}
	if n := count(t, d.c, `SELECT count(*) FROM audit_events WHERE action = 'device.token'`); n != 0 {
		t.Fatalf("refused requests audited %d tokens", n)
	}
}

// TestRenewTooEarly: core renews only once the certificate is past a
// third of its life (two thirds of the validity plus a minute left).
func TestRenewTooEarly(t *testing.T) {
	d := enroll(t)
	validity := ca.DefaultDeviceValidity
	renew := func() devproto.RenewReply {
		var r devproto.RenewReply
		d.request(t, devproto.RenewSubject, d.signed(devcert.RenewalMessage, requestNonce(d.clock.Now(), nil)), &r)
		return r
	}
	if r := renew(); r.Error != devproto.ErrCodeTooEarly || r.Chain != nil {
		t.Fatalf("renewal right after enrollment: %+v", r)
	}
	d.clock.Advance(validity/3 - 2*time.Minute)
	if r := renew(); r.Error != devproto.ErrCodeTooEarly {
		t.Fatalf("renewal two minutes before a third of the validity: %+v", r)
	}
	if n := count(t, d.c, `SELECT count(*) FROM outbox WHERE type = 'melmastoon.iam.device.renewed.v1'`); n != 0 {
		t.Fatalf("too early renewals issued %d certificates", n)
	}
	d.clock.Advance(2 * time.Minute)
	r := renew()
	if r.Error != "" || len(r.Chain) != 2 {
		t.Fatalf("renewal at a third of the validity: %+v", r)
	}
	id, err := d.bundle.VerifyDevice(r.Chain, d.clock.Now(), time.Minute)
	if err != nil || id.Device != d.device {
		t.Fatalf("renewed chain: %+v %v", id, err)
	}
	// The new certificate starts a new life: renewing it at once is too early again.
	if r := renew(); r.Error != devproto.ErrCodeTooEarly {
		t.Fatalf("renewal right after a renewal: %+v", r)
	}
}
