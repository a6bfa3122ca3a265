package devsync

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/melmastoon/iam/edge/replica"
	"github.com/melmastoon/iam/syncproto"
	"github.com/melmastoon/iam/syncproto/devproto"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
	_ = os.Stdout
}

const quiet = 300 * time.Millisecond

// types returns the envelope types of deltas.
func types(t *testing.T, tn *tenant, deltas [][]byte) []string {
	t.Helper()
	var out []string
	for _, d := range deltas {
		out = append(out, tn.envelope(t, d).Type)
	}
	return out
}

func TestHandshakeSendsReadyRotationsAndDeltas(t *testing.T) {
	h := newHarness(t, nil)
	tn := h.newTenant(true)
	d := tn.newDevice()
	enrolled := d.enroll()
	renewed := d.change(devproto.DeviceRenewedType, "active")

	cl := h.connect(d, 0, nil)
	got := cl.expectReady(quiet)
	if len(got) != 3 || !bytes.Equal(got[1], enrolled) || !bytes.Equal(got[2], renewed) {
		t.Fatalf("got %v", types(t, tn, got))
	}
	if typ := tn.envelope(t, got[0]).Type; typ != syncproto.TypeKeyRotation {
		t.Fatalf("first delta %s, want the key rotation", typ)
	}
	if h.metric("edge_device_handshakes_total", "result", "ok") != 1 || h.metric("edge_device_connections") != 1 {
		t.Fatal("handshake metrics")
	}
}

func TestResumeFromCursor(t *testing.T) {
	h := newHarness(t, nil)
	tn := h.newTenant(true)
	d := tn.newDevice()
	d.enroll()
	d.change(devproto.DeviceRenewedType, "active")
	third := d.change(devproto.DeviceRenewedType, "active")

	got := h.connect(d, 2, nil).expectReady(quiet)
	if len(got) != 2 || !bytes.Equal(got[1], third) {
		t.Fatalf("resume from 2: %v", types(t, tn, got))
	}
	// Up to date: only the key rotation.
	if got := h.connect(d, 3, nil).expectReady(quiet); len(got) != 1 {
		t.Fatalf("resume from 3: %v", types(t, tn, got))
	}
}

func TestHandshakeRefusals(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.HandshakeTimeout = 300 * time.Millisecond })
	tn := h.newTenant(true)
	other := h.newTenant(true)
	unpublished := h.newTenant(false)

	active := tn.newDevice()
	active.enroll()
	revoked := tn.newDevice()
	revoked.enroll()
	revoked.change(devproto.DeviceRevokedType, "revoked")
	unknown := tn.newDevice() // certificate issued, never enrolled at the edge
	foreign := other.newDevice()
	foreign.enroll()
	noCA := unpublished.newDevice()

	day := 24 * time.Hour
	cases := []struct {
		name   string
		dev    *device
		edit   func(*devproto.Message)
		shift  time.Duration
		code   websocket.StatusCode
		result string
	}{
		{"expired", active, nil, 7*day + 6*time.Minute, devproto.CloseCertExpired, "expired"},
		{"not yet valid", active, nil, -10 * time.Minute, devproto.CloseCertNotYetValid, "not_yet_valid"},
		{"within skew after expiry", active, nil, 7*day + 4*time.Minute, 0, "ok"},
		{"revoked: handshake passes, catch-up sends the signed revocation and closes", revoked, nil, 0, devproto.CloseRevoked, "ok"},
		{"unknown device", unknown, nil, 0, devproto.CloseUnknownDevice, "unknown_device"},
		{"tenant without CA", noCA, nil, 0, devproto.CloseUnknownDevice, "unknown_device"},
		{"wrong signature", active, func(m *devproto.Message) { m.Sig[0] ^= 1 }, 0, devproto.CloseUntrusted, "untrusted"},
		{"signature by another key", active, func(m *devproto.Message) {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			m.Sig = ed25519.Sign(k, []byte("x"))
		}, 0, devproto.CloseUntrusted, "untrusted"},
		{"another tenant's CA", foreign, func(m *devproto.Message) { m.Tenant = tn.id }, 0, devproto.CloseUntrusted, "untrusted"},
		{"certificate of another device", active, func(m *devproto.Message) { m.Device = unknown.id }, 0, devproto.CloseUntrusted, "untrusted"},
		{"wrong frame type", active, func(m *devproto.Message) { m.Type = devproto.TokenRequest }, 0, devproto.CloseProtocol, "protocol"},
		{"no chain", active, func(m *devproto.Message) { m.Chain = nil }, 0, devproto.CloseProtocol, "protocol"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.clock.Shift(c.shift)
			defer h.clock.Shift(0)
			before := h.metric("edge_device_handshakes_total", "result", c.result)
			cl := h.connect(c.dev, 0, c.edit)
			if c.code == 0 {
				cl.expectReady(50 * time.Millisecond)
			} else {
				cl.expectClose(2*time.Second, c.code)
			}
			eventually(t, time.Second, "handshake metric", func() bool {
				return h.metric("edge_device_handshakes_total", "result", c.result) == before+1
			})
		})
	}
	t.Run("garbage frame", func(t *testing.T) {
		cl, _ := h.hello()
		if err := cl.c.Write(t.Context(), websocket.MessageBinary, []byte{0xff, 0x00, 0x13}); err != nil {
			t.Fatal(err)
		}
		cl.pump()
		cl.expectClose(2*time.Second, devproto.CloseProtocol)
	})
	t.Run("text frame", func(t *testing.T) {
		cl, _ := h.hello()
		if err := cl.c.Write(t.Context(), websocket.MessageText, []byte("{}")); err != nil {
			t.Fatal(err)
		}
		cl.pump()
		cl.expectClose(2*time.Second, devproto.CloseProtocol)
	})
	t.Run("no auth in time", func(t *testing.T) {
		cl, _ := h.hello()
		cl.pump()
		cl.expectClose(2*time.Second, devproto.CloseHandshakeTimeout)
	})
}

func TestStaleEdgeRefuses(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Stale = func() bool { return true } })
	tn := h.newTenant(true)
	d := tn.newDevice()
	d.enroll()
	h.connect(d, 0, nil).expectClose(2*time.Second, devproto.CloseEdgeStale)
}

func TestSubprotocolRequired(t *testing.T) {
	h := newHarness(t, nil)
	url := "ws" + h.http.URL[len("http"):] + "/api/v1/sync"
	c, _, err := websocket.Dial(t.Context(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	_, _, err = c.Read(t.Context())
	if websocket.CloseStatus(err) != devproto.CloseProtocol {
		t.Fatalf("got %v", err)
	}
}

func TestFanOutToTheDeviceOnly(t *testing.T) {
	h := newHarness(t, nil)
	tn := h.newTenant(true)
	a, b := tn.newDevice(), tn.newDevice()
	a.enroll()
	b.enroll()
	a1, a2, b1 := h.connect(a, 1, nil), h.connect(a, 1, nil), h.connect(b, 1, nil)
	for _, cl := range []*client{a1, a2, b1} {
		cl.expectReady(quiet)
	}
	renewed := a.change(devproto.DeviceRenewedType, "active")
	tn.applyDelta("melmastoon.iam.account.created.v1", map[string]any{"id": a.account, "status": "active", "version": 1})
	for _, cl := range []*client{a1, a2} {
		if m := cl.next(); m.Type != devproto.Delta || !bytes.Equal(m.Delta, renewed) {
			t.Fatalf("device a got %+v", m)
		}
	}
	if m, err := b1.nextWithin(quiet); err == nil {
		t.Fatalf("device b got %v", types(t, tn, [][]byte{m.Delta}))
	}
	// A key rotation goes to every device of the tenant.
	next := newSigner(t, "delta-2")
	rot, err := tn.chain.Rotate(tn.root, next, nil, tn.control())
	if err != nil {
		t.Fatal(err)
	}
	tn.apply(rot)
	tn.key = next
	for _, cl := range []*client{a1, a2, b1} {
		if m := cl.next(); !bytes.Equal(m.Delta, rot) {
			t.Fatal("key rotation not pushed")
		}
	}
}

func TestRevocationClosesWithinASecond(t *testing.T) {
	h := newHarness(t, nil)
	tn := h.newTenant(true)
	d := tn.newDevice()
	d.enroll()
	cl := h.connect(d, 1, nil)
	cl.expectReady(quiet)
	start := time.Now()
	revoked := d.change(devproto.DeviceRevokedType, "revoked")
	if m := cl.next(); !bytes.Equal(m.Delta, revoked) {
		t.Fatal("revocation delta not pushed first")
	}
	cl.expectClose(time.Second, devproto.CloseRevoked)
	if el := time.Since(start); el > time.Second {
		t.Fatalf("closed after %v", el)
	}
	eventually(t, time.Second, "disconnect metric", func() bool {
		return h.metric("edge_device_disconnects_total", "reason", "revoked") == 1 && h.metric("edge_device_connections") == 0
	})
	// And a new handshake is refused.
	h.connect(d, 0, nil).expectClose(2*time.Second, devproto.CloseRevoked)
}

func TestTenantDeletedCloses(t *testing.T) {
	h := newHarness(t, nil)
	tn := h.newTenant(true)
	d := tn.newDevice()
	d.enroll()
	cl := h.connect(d, 1, nil)
	cl.expectReady(quiet)
	tn.applyDelta("melmastoon.iam.tenant.deleted.v1", map[string]any{"id": tn.id})
	cl.expectClose(2*time.Second, devproto.CloseUnknownDevice)
}

func TestSlowConsumerIsDropped(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SendBuffer = 8; c.WriteTimeout = 500 * time.Millisecond })
	tn := h.newTenant(true)
	slow, fast := tn.newDevice(), tn.newDevice()
	slow.enroll()
	fast.enroll()
	// The slow device authenticates and never reads again.
	sl, hello := h.hello()
	sl.send(authFor(slow, 1, hello.Nonce))
	eventually(t, 2*time.Second, "slow device registered", func() bool { return len(h.srv.sessionsOf(tn.id, slow.id)) == 1 })
	fc := h.connect(fast, 1, nil)
	fc.expectReady(quiet)

	// Large frames fill the socket buffers quickly; Apply must never block.
	big := bytes.Repeat([]byte{0xa5}, devproto.MaxFrameBytes-64)
	start := time.Now()
	for v := int64(2); v < 400; v++ {
		h.srv.Apply(replica.Applied{Tenant: tn.id, Type: devproto.DeviceRenewedType, Raw: big,
			Changes: []replica.Change{replica.Device{ID: slow.id, Status: "active", Version: v}}})
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("Apply stalled %v on a slow device", el)
	}
	eventually(t, 5*time.Second, "slow consumer dropped", func() bool {
		return h.metric("edge_device_disconnects_total", "reason", "slow_consumer") == 1
	})
	renewed := fast.change(devproto.DeviceRenewedType, "active")
	if m := fc.next(); !bytes.Equal(m.Delta, renewed) {
		t.Fatal("the other device stopped receiving")
	}
	eventually(t, 15*time.Second, "slow session gone", func() bool { return h.srv.Connections() == 1 })
}

func TestHeartbeatDropsSilentDevice(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PingInterval = 50 * time.Millisecond; c.PingTimeout = 100 * time.Millisecond })
	tn := h.newTenant(true)
	d := tn.newDevice()
	d.enroll()
	// A device that answers pings (it reads) stays.
	alive := h.connect(d, 1, nil)
	alive.expectReady(quiet)
	// One that never reads cannot answer pings.
	sl, hello := h.hello()
	sl.send(authFor(d, 1, hello.Nonce))
	eventually(t, 3*time.Second, "silent device dropped", func() bool {
		return h.metric("edge_device_disconnects_total", "reason", "heartbeat") == 1
	})
	if h.metric("edge_device_connections") != 1 {
		t.Fatal("the answering device was dropped too")
	}
}

func TestCertificateExpiryClosesConnection(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PingInterval = 50 * time.Millisecond })
	tn := h.newTenant(true)
	d := tn.newDevice()
	d.enroll()
	cl := h.connect(d, 1, nil)
	cl.expectReady(quiet)
	h.clock.Shift(8 * 24 * time.Hour)
	cl.expectClose(2*time.Second, devproto.CloseCertExpired)
}

func TestRenewAndTokenForwarding(t *testing.T) {
	h := newHarness(t, nil)
	tn := h.newTenant(true)
	d := tn.newDevice()
	d.enroll()
	seen := make(chan devproto.SignedRequest, 2)
	renewed := d.renewedChain(t)
	h.respond(devproto.RenewSubject, func(b []byte) any {
		var req devproto.SignedRequest
		_ = json.Unmarshal(b, &req)
		seen <- req
		return devproto.RenewReply{Chain: renewed, NotAfter: time.Now().Add(time.Hour).Unix()}
	})
	h.respond(devproto.TokenSubject, func(b []byte) any {
		var req devproto.SignedRequest
		_ = json.Unmarshal(b, &req)
		seen <- req
		return sealedReply(t, req, "access-token")
	})
	cl := h.connect(d, 1, nil)
	cl.expectReady(quiet)
	nonce, sig := bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{9}, 64)
	cl.send(&devproto.Message{Type: devproto.RenewRequest, ID: 41, Nonce: nonce, Sig: sig})
	if m := cl.next(); m.Type != devproto.RenewResponse || m.ID != 41 || m.Error != "" || !bytes.Equal(m.Chain[0], renewed[0]) {
		t.Fatalf("renew response %+v", m)
	}
	if req := <-seen; req.Tenant != tn.id || req.Device != d.id || !bytes.Equal(req.Nonce, nonce) || !bytes.Equal(req.Signature, sig) {
		t.Fatalf("core saw %+v", req)
	}
	tnonce, key := tokenNonce(t)
	cl.send(&devproto.Message{Type: devproto.TokenRequest, ID: 42, Nonce: tnonce, Sig: sig})
	m := cl.next()
	if m.Type != devproto.TokenResponse || m.ID != 42 || m.ExpiresIn != 600 {
		t.Fatalf("token response %+v", m)
	}
	if tok, err := devproto.OpenToken(key, tn.id, d.id, tnonce, m.SealedToken); err != nil || tok != "access-token" {
		t.Fatalf("sealed token opens to %q, %v", tok, err)
	}
	<-seen
	// A malformed request is answered locally.
	cl.send(&devproto.Message{Type: devproto.TokenRequest, ID: 43, Nonce: nonce})
	if m := cl.next(); m.ID != 43 || m.Error != devproto.ErrCodeBadRequest {
		t.Fatalf("bad request answered %+v", m)
	}
	if h.metric("edge_device_requests_total", "kind", "renew", "result", "ok") != 1 ||
		h.metric("edge_device_requests_total", "kind", "token", "result", "ok") != 1 {
		t.Fatal("request metrics")
	}
}

func TestRequestsWhenCoreIsUnreachable(t *testing.T) {
	h := newHarness(t, nil)
	tn := h.newTenant(true)
	d := tn.newDevice()
	d.enroll()
	cl := h.connect(d, 1, nil)
	cl.expectReady(quiet)
	// No responder on the hub.
	cl.send(&devproto.Message{Type: devproto.RenewRequest, ID: 1, Nonce: []byte("0123456789abcdef"), Sig: make([]byte, 64)})
	if m := cl.next(); m.Type != devproto.RenewResponse || m.ID != 1 || m.Error != devproto.ErrCodeUnavailable {
		t.Fatalf("got %+v", m)
	}
	// A responder that never answers: the request times out.
	sub, err := h.nc.Subscribe(devproto.TokenSubject, func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	_ = h.nc.Flush()
	cl.send(&devproto.Message{Type: devproto.TokenRequest, ID: 2, Nonce: []byte("0123456789abcdef"), Sig: make([]byte, 64)})
	if m := cl.next(); m.Type != devproto.TokenResponse || m.ID != 2 || m.Error != devproto.ErrCodeUnavailable {
		t.Fatalf("got %+v", m)
	}
	// A frame a device must not send ends the connection.
	cl.send(&devproto.Message{Type: devproto.Ready})
	cl.expectClose(2*time.Second, devproto.CloseProtocol)
}

// snapshotTenant is a tenant the replica knows only from a snapshot (no
// raw deltas, no key rotation), with one enrolled device.
func snapshotTenant(t *testing.T, h *harness) (*tenant, *device) {
	tn := h.newTenant(false)
	d := tn.newDevice()
	tn.rotate()
	d.version = 3
	tn.sign(devproto.DeviceEnrolledType, d.payload("active"))
	rec := func(typ string, data any) cbor.RawMessage {
		raw, err := syncproto.EncodeData(map[string]any{"type": typ, "data": data})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	seq, head := tn.chain.Head()
	snap := &syncproto.Snapshot{Tenant: tn.id, Seq: seq, Hash: head[:], Time: time.Now().UnixMilli(), Final: true,
		Keys:    []syncproto.SigningKey{tn.key.SigningKey()},
		Records: []cbor.RawMessage{rec(devproto.TenantCAType, tn.caPayload()), rec(devproto.DeviceEnrolledType, d.payload("active"))}}
	chunk, err := tn.root.SignSnapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.rep.LoadSnapshot(t.Context(), [][]byte{chunk}, tn.cert, 5); err != nil {
		t.Fatal(err)
	}
	h.stream = 5
	return tn, d
}

// deviceSnapshot is core's signed Device snapshot.
func (tn *tenant) deviceSnapshot(t *testing.T, d *device) []byte {
	data, err := syncproto.EncodeData(d.payload("active"))
	if err != nil {
		t.Fatal(err)
	}
	seq, head := tn.chain.Head()
	env := &syncproto.Envelope{ID: uuid.NewString(), Time: time.Now().UnixMilli(), Source: "iam-core", Subject: d.id,
		Type: devproto.DeviceSnapshotType, DataContentType: syncproto.DataContentTypeCBOR, Data: data, Tenant: tn.id,
		Seq: seq, Prev: head[:]}
	msg, err := tn.key.SignEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestSnapshotWhenRawDeltasAreMissing(t *testing.T) {
	h := newHarness(t, nil)
	tn, d := snapshotTenant(t, h)
	snap := tn.deviceSnapshot(t, d)
	asked := make(chan devproto.SnapshotRequest, 1)
	h.respond(devproto.SnapshotSubject, func(b []byte) any {
		var req devproto.SnapshotRequest
		_ = json.Unmarshal(b, &req)
		asked <- req
		return devproto.SnapshotReply{Delta: snap}
	})
	got := h.connect(d, 1, nil).expectReady(quiet)
	if len(got) != 1 || !bytes.Equal(got[0], snap) {
		t.Fatalf("got %d deltas", len(got))
	}
	if req := <-asked; req.Tenant != tn.id || req.Device != d.id {
		t.Fatalf("asked %+v", req)
	}
	// Up to date: core is not asked.
	if got := h.connect(d, 3, nil).expectReady(quiet); len(got) != 0 || len(asked) != 0 {
		t.Fatal("asked core for a device that is up to date")
	}
}

func TestSnapshotRefusedWhenNotTheDevice(t *testing.T) {
	h := newHarness(t, nil)
	tn, d := snapshotTenant(t, h)
	other := tn.newDevice()
	other.version = 1
	h.respond(devproto.SnapshotSubject, func([]byte) any { return devproto.SnapshotReply{Delta: tn.deviceSnapshot(t, other)} })
	if got := h.connect(d, 1, nil).expectReady(quiet); len(got) != 0 {
		t.Fatal("relayed a snapshot of another device")
	}
	if h.metric("edge_device_requests_total", "kind", "snapshot", "result", "invalid") != 1 {
		t.Fatal("invalid snapshot not counted")
	}
}

func TestSnapshotCoreUnreachableSendsNothing(t *testing.T) {
	h := newHarness(t, nil)
	_, d := snapshotTenant(t, h)
	cl := h.connect(d, 1, nil)
	if got := cl.expectReady(quiet); len(got) != 0 {
		t.Fatalf("got %d deltas", len(got))
	}
	if h.metric("edge_device_requests_total", "kind", "snapshot", "result", "unavailable") != 1 {
		t.Fatal("unavailable snapshot not counted")
	}
	// The connection stays and later deltas arrive.
	renewed := d.change(devproto.DeviceRenewedType, "active")
	if m := cl.next(); !bytes.Equal(m.Delta, renewed) {
		t.Fatal("live delta after an unavailable snapshot")
	}
}

// TestOnlyTheDeviceEntityCrosses drives a tenant with every kind of change
// and two devices and checks that each Delta frame a device receives is a
// device.* delta or Device snapshot of that device, or a key rotation.
func TestOnlyTheDeviceEntityCrosses(t *testing.T) {
	h := newHarness(t, nil)
	tn := h.newTenant(true)
	a, b := tn.newDevice(), tn.newDevice()
	a.enroll()
	b.enroll()
	ca, cb := h.connect(a, 0, nil), h.connect(b, 0, nil)
	org, acct, role := uuid.NewString(), uuid.NewString(), uuid.NewString()
	tn.applyDelta("melmastoon.iam.tenant.created.v1", map[string]any{"id": tn.id, "slug": "t", "name": "T", "status": "active", "version": 1})
	tn.applyDelta("melmastoon.iam.organization.created.v1", map[string]any{"id": org, "parent_id": nil, "name": "O", "depth": 0, "version": 1})
	tn.applyDelta("melmastoon.iam.account.created.v1", map[string]any{"id": acct, "status": "active", "version": 1})
	tn.applyDelta("melmastoon.iam.role.created.v1", map[string]any{"id": role, "name": "r", "permissions": []any{"a.b"}, "version": 1})
	tn.applyDelta("melmastoon.iam.role_binding.created.v1", map[string]any{"id": uuid.NewString(), "account_id": acct, "role_id": role, "organization_id": org})
	a.change(devproto.DeviceRenewedType, "active")
	b.change(devproto.DeviceRenewedType, "active")
	tn.applyDelta(devproto.TenantCAType, tn.caPayload())
	tn.applyDelta("melmastoon.iam.session.revoked.v1", map[string]any{"id": uuid.NewString(), "account_id": acct, "reason": "x", "revoked_at": "2026-01-01T00:00:00Z"})
	a.change(devproto.DeviceRevokedType, "revoked")
	allowed := map[string]bool{devproto.DeviceEnrolledType: true, devproto.DeviceRenewedType: true,
		devproto.DeviceRevokedType: true, devproto.DeviceSnapshotType: true, syncproto.TypeKeyRotation: true}
	for _, c := range []struct {
		cl   *client
		dev  *device
		want int
	}{{ca, a, 4}, {cb, b, 3}} {
		var deltas [][]byte
		for {
			m, err := c.cl.nextWithin(quiet)
			if err != nil {
				break
			}
			if m.Type == devproto.Delta {
				deltas = append(deltas, m.Delta)
			}
		}
		for _, raw := range deltas {
			env := tn.envelope(t, raw)
			if !allowed[env.Type] {
				t.Errorf("device %s received %s", c.dev.id, env.Type)
			}
			if env.Type != syncproto.TypeKeyRotation && deviceOf(t, env) != c.dev.id {
				t.Errorf("device %s received a delta of device %s", c.dev.id, deviceOf(t, env))
			}
		}
		if len(deltas) != c.want {
			t.Errorf("device %s received %d deltas, want %d (%v)", c.dev.id, len(deltas), c.want, types(t, tn, deltas))
		}
	}
}

func TestCloseSendsGoingAway(t *testing.T) {
	h := newHarness(t, nil)
	tn := h.newTenant(true)
	d := tn.newDevice()
	d.enroll()
	cl := h.connect(d, 1, nil)
	cl.expectReady(quiet)
	pending, _ := h.hello() // in handshake
	pending.pump()
	h.srv.Close()
	cl.expectClose(2*time.Second, websocket.StatusGoingAway)
	pending.expectClose(2*time.Second, websocket.StatusGoingAway)
	if h.srv.Connections() != 0 {
		t.Fatal("connections left after Close")
	}
}

func TestAccountErasedClosesItsDevicesOnly(t *testing.T) {
	h := newHarness(t, nil)
	tn := h.newTenant(true)
	gone, kept := tn.newDevice(), tn.newDevice()
	gone.enroll()
	kept.enroll()
	clGone := h.connect(gone, 1, nil)
	clGone.expectReady(quiet)
	clKept := h.connect(kept, 1, nil)
	clKept.expectReady(quiet)
	tn.applyDelta("melmastoon.iam.account.erased.v1", map[string]any{"id": gone.account})
	clGone.expectClose(2*time.Second, devproto.CloseUnknownDevice)
	// The other account's device stays connected and keeps receiving.
	renewed := kept.change(devproto.DeviceRenewedType, "active")
	if m := clKept.next(); !bytes.Equal(m.Delta, renewed) {
		t.Fatal("the other device stopped receiving")
	}
}

// A revoked device that missed its revocation is let through the
// handshake: it receives the signed revocation (what a device believes)
// before the close, not just the close code an edge could forge.
func TestRevokedDeviceReceivesItsSignedRevocation(t *testing.T) {
	h := newHarness(t, nil)
	tn := h.newTenant(true)
	d := tn.newDevice()
	d.enroll()
	revoked := d.change(devproto.DeviceRevokedType, "revoked")
	cl := h.connect(d, 1, nil)
	got := false
	for {
		m, err := cl.nextWithin(2 * time.Second)
		if err != nil {
			if code := websocket.CloseStatus(err); code != devproto.CloseRevoked {
				t.Fatalf("ended with %v (%v), want %v", code, err, devproto.CloseRevoked)
			}
			break
		}
		got = got || m.Type == devproto.Delta && bytes.Equal(m.Delta, revoked)
	}
	if !got {
		t.Fatal("the signed revocation was not sent before the close")
	}
}
