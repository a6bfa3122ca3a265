package devsync

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/melmastoon/iam/core/ca"
	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/syncproto/devproto"
)

// issue is a chain of the tenant's CA for deviceID and pub, valid for
// validity (zero: the default).
func (tn *tenant) issue(t *testing.T, c *ca.CA, deviceID string, pub ed25519.PublicKey, validity time.Duration) [][]byte {
	t.Helper()
	der, _, _, err := c.IssueDevice(ca.DeviceCertRequest{DeviceID: deviceID, PublicKey: pub, Validity: validity})
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{der, c.Issuing().Raw}
}

// renewedChain is what core answers a renewal of d: a new certificate of
// the tenant's CA for the device's key.
func (d *device) renewedChain(t *testing.T) [][]byte {
	t.Helper()
	return d.tenant.issue(t, d.tenant.ca, d.id, d.key.Public().(ed25519.PublicKey), 10*24*time.Hour)
}

// tokenNonce is a device's token request nonce: 16 random bytes, the time,
// and a fresh ephemeral X25519 public key.
func tokenNonce(t *testing.T) ([]byte, *ecdh.PrivateKey) {
	t.Helper()
	key, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	n := make([]byte, 16, devproto.TokenNonceBytes)
	_, _ = rand.Read(n)
	n = binary.BigEndian.AppendUint64(n, uint64(time.Now().UnixMilli()))
	return append(n, key.PublicKey().Bytes()...), key
}

// sealedReply is core's answer to a token request: token sealed to the
// request's ephemeral key.
func sealedReply(t *testing.T, req devproto.SignedRequest, token string) devproto.TokenReply {
	sealed, err := devproto.SealToken(req.Tenant, req.Device, req.Nonce, token)
	if err != nil {
		t.Error(err)
		return devproto.TokenReply{Error: devproto.ErrCodeInternal}
	}
	return devproto.TokenReply{SealedToken: sealed, ExpiresIn: 600}
}

// sessionNotAfter is the certificate expiry the edge holds for d's session.
func (h *harness) sessionNotAfter(t *testing.T, d *device) time.Time {
	t.Helper()
	ss := h.srv.sessionsOf(d.tenant.id, d.id)
	if len(ss) != 1 {
		t.Fatalf("%d sessions of the device", len(ss))
	}
	ss[0].mu.Lock()
	defer ss[0].mu.Unlock()
	return ss[0].notAfter
}

// TestRenewedChainIsVerified: the edge relays only a chain of the tenant's
// CA for the session's device and key, and takes the session's NotAfter
// from the verified leaf, never from the reply's field.
func TestRenewedChainIsVerified(t *testing.T) {
	h := newHarness(t, nil)
	tn := h.newTenant(true)
	d := tn.newDevice()
	d.enroll()
	other := tn.newDevice()
	pub := d.key.Public().(ed25519.PublicKey)
	intruder, _, _ := ed25519.GenerateKey(rand.Reader)
	kek, _ := keys.NewLocalKEK(bytes.Repeat([]byte{3}, keys.KEKSize))
	foreign, _, err := ca.NewCA(context.Background(), ca.CAConfig{TenantID: tn.id, Encrypter: kek})
	if err != nil {
		t.Fatal(err)
	}
	otherTenant := h.newTenant(true)
	expired := tn.issue(t, tn.ca, d.id, pub, time.Minute)
	garbled := d.renewedChain(t)
	garbled[0] = bytes.Clone(garbled[0])
	garbled[0][len(garbled[0])-1] ^= 1

	var reply devproto.RenewReply
	var mu sync.Mutex
	h.respond(devproto.RenewSubject, func([]byte) any {
		mu.Lock()
		defer mu.Unlock()
		return reply
	})
	cl := h.connect(d, 1, nil)
	cl.expectReady(quiet)
	before := h.sessionNotAfter(t, d)
	id := uint64(0)
	ask := func(r devproto.RenewReply) *devproto.Message {
		t.Helper()
		mu.Lock()
		reply = r
		mu.Unlock()
		id++
		cl.send(&devproto.Message{Type: devproto.RenewRequest, ID: id, Nonce: bytes.Repeat([]byte{7}, devproto.RequestNonceBytes), Sig: make([]byte, 64)})
		m := cl.next()
		if m.Type != devproto.RenewResponse || m.ID != id {
			t.Fatalf("got %+v", m)
		}
		return m
	}

	far := time.Now().Add(365 * 24 * time.Hour).Unix()
	refused := map[string]devproto.RenewReply{
		"not a certificate":   {Chain: [][]byte{[]byte("new leaf")}, NotAfter: far},
		"empty chain":         {NotAfter: far},
		"tampered":            {Chain: garbled, NotAfter: far},
		"another CA":          {Chain: tn.issue(t, foreign, d.id, pub, 0), NotAfter: far},
		"another tenant's CA": {Chain: otherTenant.issue(t, otherTenant.ca, d.id, pub, 0), NotAfter: far},
		"another device":      {Chain: tn.issue(t, tn.ca, other.id, pub, 0), NotAfter: far},
		"another key":         {Chain: tn.issue(t, tn.ca, d.id, intruder, 0), NotAfter: far},
	}
	n := 0
	for name, r := range refused {
		m := ask(r)
		n++
		if m.Error != devproto.ErrCodeInternal || m.Chain != nil {
			t.Errorf("%s: relayed %+v", name, m)
		}
		if got := h.metric("edge_device_requests_total", "kind", "renew", "result", "invalid_chain"); got != float64(n) {
			t.Errorf("%s: invalid_chain count %v, want %d", name, got, n)
		}
		if na := h.sessionNotAfter(t, d); !na.Equal(before) {
			t.Fatalf("%s: session NotAfter moved to %s", name, na)
		}
	}

	// An expired chain (issued for a minute, an hour ago for the edge).
	h.clock.Shift(time.Hour)
	if m := ask(devproto.RenewReply{Chain: expired, NotAfter: far}); m.Error != devproto.ErrCodeInternal {
		t.Errorf("expired chain relayed: %+v", m)
	}
	h.clock.Shift(0)

	// A valid renewal: relayed; the NotAfter is the leaf's.
	good := d.renewedChain(t)
	m := ask(devproto.RenewReply{Chain: good, NotAfter: far})
	if m.Error != "" || len(m.Chain) != 2 || !bytes.Equal(m.Chain[0], good[0]) {
		t.Fatalf("valid renewal: %+v", m)
	}
	na := h.sessionNotAfter(t, d)
	if !na.After(before) || na.Unix() == far || na.After(time.Now().Add(10*24*time.Hour)) {
		t.Fatalf("session NotAfter %s (was %s), reply said %s", na, before, time.Unix(far, 0))
	}
	// Core's refusal codes are relayed as they are.
	if m := ask(devproto.RenewReply{Error: devproto.ErrCodeTooEarly}); m.Error != devproto.ErrCodeTooEarly {
		t.Fatalf("too_early relayed as %+v", m)
	}
	if h.metric("edge_device_requests_total", "kind", "renew", "result", devproto.ErrCodeTooEarly) != 1 {
		t.Fatal("too_early not counted")
	}
}

// TestTokenNeverInClearAtTheEdge: what the edge sees of a token request on
// NATS, and what it writes on the WebSocket, never contains the token; the
// device alone opens it. A core answering a plain token is not relayed.
func TestTokenNeverInClearAtTheEdge(t *testing.T) {
	h := newHarness(t, nil)
	tn := h.newTenant(true)
	d := tn.newDevice()
	d.enroll()
	const token = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSIsImFtciI6WyJkZXZpY2UiXX0.c2lnbmF0dXJlLW9mLWNvcmU"
	legacy := false
	var mu sync.Mutex
	h.respond(devproto.TokenSubject, func(b []byte) any {
		var req devproto.SignedRequest
		_ = json.Unmarshal(b, &req)
		mu.Lock()
		defer mu.Unlock()
		if legacy {
			return map[string]any{"access_token": token, "expires_in": 600}
		}
		return sealedReply(t, req, token)
	})
	// Anything on the edge's NATS connection: what a leaf credential shows.
	var seen [][]byte
	sub, err := h.nc.Subscribe(">", func(m *nats.Msg) {
		mu.Lock()
		seen = append(seen, bytes.Clone(m.Data))
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	_ = h.nc.Flush()

	cl := h.connect(d, 1, nil)
	cl.expectReady(quiet)
	nonce, key := tokenNonce(t)
	cl.send(&devproto.Message{Type: devproto.TokenRequest, ID: 1, Nonce: nonce, Sig: make([]byte, 64)})
	m := cl.next()
	frame, err := devproto.Encode(m) // canonical: the bytes that crossed the socket
	if err != nil {
		t.Fatal(err)
	}
	if m.Error != "" || bytes.Contains(frame, []byte(token)) || bytes.Contains(frame, []byte("eyJ")) {
		t.Fatalf("token response frame shows the token: %+v", m)
	}
	if got, err := devproto.OpenToken(key, tn.id, d.id, nonce, m.SealedToken); err != nil || got != token {
		t.Fatalf("device opens %q, %v", got, err)
	}
	tampered := bytes.Clone(m.SealedToken)
	tampered[devproto.SealedTokenOverhead] ^= 1
	if _, err := devproto.OpenToken(key, tn.id, d.id, nonce, tampered); err == nil {
		t.Fatal("a tampered sealed token opened")
	}
	_ = h.nc.Flush()
	mu.Lock()
	n := len(seen)
	for _, b := range seen {
		if bytes.Contains(b, []byte(token)) || bytes.Contains(b, []byte("eyJ")) {
			t.Errorf("NATS message shows the token: %s", b)
		}
	}
	legacy = true
	mu.Unlock()
	if n < 2 {
		t.Fatalf("observer saw %d messages, want request and reply", n)
	}

	// A core that answers in clear: the edge does not relay it.
	cl.send(&devproto.Message{Type: devproto.TokenRequest, ID: 2, Nonce: nonce, Sig: make([]byte, 64)})
	m = cl.next()
	frame, _ = devproto.Encode(m)
	if m.Error != devproto.ErrCodeInternal || m.SealedToken != nil || bytes.Contains(frame, []byte("eyJ")) {
		t.Fatalf("plain token answered %+v", m)
	}
}
