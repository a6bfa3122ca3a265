package api_test

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/nats-io/nats.go"

	"github.com/melmastoon/iam/core/ca"
	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/syncproto"
	"github.com/melmastoon/iam/syncproto/devcert"
	"github.com/melmastoon/iam/syncproto/devproto"
	"github.com/melmastoon/iam/test/coretest"
)

// enrollment mirrors the answer of POST …/devices.
type enrollment struct {
	Device struct {
		ID         string `json:"id"`
		AccountID  string `json:"account_id"`
		Status     string `json:"status"`
		CertSerial string `json:"cert_serial"`
		Version    int64  `json:"version"`
	} `json:"device"`
	Chain             [][]byte               `json:"chain"`
	TrustBundle       []byte                 `json:"trust_bundle"`
	DeltaAnchor       *syncproto.TrustAnchor `json:"delta_anchor"`
	DeltaKeys         []syncproto.SigningKey `json:"delta_keys"`
	AnchorCertificate []byte                 `json:"anchor_certificate"`
}

// deviceFixture is signinFixture plus alice's access token and the
// tenant id.
type deviceFixture struct {
	*signinFixture
	token  string
	tenant string
}

func newDevices(t *testing.T, opts ...coretest.Option) *deviceFixture {
	t.Helper()
	f := newSignin(t, opts...)
	var tn struct{ ID string }
	f.c.Get("/api/v1/tenants/acme").Decode(t, &tn)
	return &deviceFixture{signinFixture: f, token: f.mustLogin(t, "alice", alicePassword).AccessToken, tenant: tn.ID}
}

func (f *deviceFixture) nonce(t *testing.T) []byte {
	t.Helper()
	r := f.c.As(f.token, coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/devices/nonce", Body: map[string]any{}})
	if r.Status != http.StatusCreated {
		t.Fatalf("nonce = %d %s", r.Status, r.Body)
	}
	var n struct {
		Nonce    string
		TenantID string `json:"tenant_id"`
	}
	r.Decode(t, &n)
	if n.TenantID != f.tenant {
		t.Fatalf("nonce names tenant %q, want %s", n.TenantID, f.tenant)
	}
	b, err := base64.RawURLEncoding.DecodeString(n.Nonce)
	if err != nil || len(b) != 32 {
		t.Fatalf("nonce %q: %v", n.Nonce, err)
	}
	return b
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// enrollBody is a valid enrollment of pub/priv answering nonce.
func (f *deviceFixture) enrollBody(pub ed25519.PublicKey, priv ed25519.PrivateKey, nonce []byte) map[string]string {
	sig := ed25519.Sign(priv, devcert.EnrollmentMessage(f.tenant, nonce, pub))
	return map[string]string{"name": "Anna's phone", "platform": "android", "public_key": b64(pub), "nonce": b64(nonce), "signature": b64(sig)}
}

func (f *deviceFixture) enroll(t *testing.T) (enrollment, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	r := f.c.As(f.token, coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/devices", Body: f.enrollBody(pub, priv, f.nonce(t))})
	if r.Status != http.StatusCreated {
		t.Fatalf("enroll = %d %s", r.Status, r.Body)
	}
	var e enrollment
	r.Decode(t, &e)
	return e, priv
}

func TestTenantCAIsCreatedPublishedAndRotated(t *testing.T) {
	f := newDevices(t)
	c := f.c
	if n := countRows(t, c, `SELECT count(*) FROM outbox WHERE type = 'melmastoon.iam.tenant_ca.published.v1' AND subject = '`+f.tenant+`'`); n != 1 {
		t.Fatalf("tenant_ca.published rows after tenant creation = %d, want 1", n)
	}
	if n := countRows(t, c, `SELECT count(*) FROM audit_events WHERE action = 'tenant_ca.create'`); n != 1 {
		t.Fatalf("tenant_ca.create audit rows = %d, want 1", n)
	}
	type gens struct {
		Generations []struct {
			Generation int64
			State      string
			Root       struct{ Subject, Serial string }
			Issuing    struct {
				Subject, Serial string
				NotAfter        time.Time `json:"not_after"`
			}
		}
	}
	var g gens
	c.Get("/api/v1/tenants/acme/ca").Decode(t, &g)
	if len(g.Generations) != 1 || g.Generations[0].Generation != 1 || g.Generations[0].State != "active" {
		t.Fatalf("ca = %+v", g)
	}
	rootSerial := g.Generations[0].Root.Serial
	r := c.Post("/api/v1/tenants/acme/ca/rotate", map[string]bool{"root": false})
	if r.Status != http.StatusOK {
		t.Fatalf("rotate = %d %s", r.Status, r.Body)
	}
	r.Decode(t, &g)
	if len(g.Generations) != 2 || g.Generations[1].Root.Serial != rootSerial || g.Generations[0].State != "active" {
		t.Fatalf("after rotation: %+v (the root stays, generation 1 stays active)", g)
	}
	r = c.Post("/api/v1/tenants/acme/ca/rotate", map[string]bool{"root": true})
	r.Decode(t, &g)
	if len(g.Generations) != 3 || g.Generations[2].Root.Serial == rootSerial {
		t.Fatalf("after root rotation: %+v", g)
	}
	var data []byte
	if err := c.DB.AdminConn(t).QueryRow(context.Background(), `SELECT data::text FROM outbox WHERE type = 'melmastoon.iam.tenant_ca.published.v1'
		ORDER BY id DESC LIMIT 1`).Scan(&data); err != nil {
		t.Fatal(err)
	}
	var p devproto.TenantCAPayload
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	if p.Generation != 3 || len(p.Roots) != 3 || len(p.Intermediates) != 3 {
		t.Fatalf("payload = generation %d, %d roots, %d intermediates; want 3 of each", p.Generation, len(p.Roots), len(p.Intermediates))
	}
	var roots, issuing [][]byte
	for i := range p.Roots {
		rb, _ := base64.StdEncoding.DecodeString(p.Roots[i])
		ib, _ := base64.StdEncoding.DecodeString(p.Intermediates[i])
		roots, issuing = append(roots, rb), append(issuing, ib)
	}
	if _, err := devcert.NewTrustBundle(f.tenant, roots, issuing, time.Now()); err != nil {
		t.Fatalf("published CA set is not a valid trust bundle: %v", err)
	}
	// A device enrolled now chains to generation 3 and verifies against the published set.
	e, _ := f.enroll(t)
	b, err := devcert.NewTrustBundle(f.tenant, roots, issuing, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.VerifyDevice(e.Chain[:1], time.Now(), 0); err != nil {
		t.Fatalf("leaf alone against the published bundle: %v", err)
	}
	// At most 8 generations are active: a trust bundle holds 16 certificates.
	for range 5 {
		if r := c.Post("/api/v1/tenants/acme/ca/rotate", nil); r.Status != http.StatusOK {
			t.Fatalf("rotate = %d %s", r.Status, r.Body)
		}
	}
	if r := c.Post("/api/v1/tenants/acme/ca/rotate", nil); r.Status != http.StatusConflict || r.Code() != "MELMASTOON.IAM.DEVICE.CA_GENERATIONS_LIMIT" {
		t.Fatalf("ninth generation = %d %s", r.Status, r.Body)
	}
}

func TestTenantCABackfill(t *testing.T) {
	c := coretest.Start(t)
	ctx := context.Background()
	// A tenant made below the API, as before devices existed: no CA.
	err := c.Core.Store().Global(ctx, func(tx *store.Tx) error {
		_, err := tx.CreateTenant(ctx, store.Actor{ID: "test"}, "legacy", "Legacy")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, c, `SELECT count(*) FROM tenant_cas`); n != 0 {
		t.Fatalf("tenant_cas = %d before backfill", n)
	}
	n, err := c.Core.Devices().EnsureCAs(ctx)
	if err != nil || n != 1 {
		t.Fatalf("EnsureCAs = %d, %v; want 1", n, err)
	}
	if n, _ := c.Core.Devices().EnsureCAs(ctx); n != 0 {
		t.Fatalf("second backfill created %d", n)
	}
	if n := countRows(t, c, `SELECT count(*) FROM outbox WHERE type = 'melmastoon.iam.tenant_ca.published.v1'`); n != 1 {
		t.Fatalf("tenant_ca.published rows = %d, want 1", n)
	}
}

func TestEnrollment(t *testing.T) {
	f := newDevices(t, coretest.WithHub(t.TempDir()))
	c := f.c
	outbox := countRows(t, c, `SELECT count(*) FROM outbox`)
	e, _ := f.enroll(t)
	if e.Device.Status != "active" || e.Device.AccountID != f.alice || e.Device.Version != 1 || len(e.Chain) != 2 {
		t.Fatalf("enrollment = %+v", e.Device)
	}
	bundle, err := devcert.ParseTrustBundle(e.TrustBundle)
	if err != nil {
		t.Fatalf("trust_bundle: %v", err)
	}
	id, err := bundle.VerifyDevice(e.Chain, time.Now(), time.Minute)
	if err != nil {
		t.Fatalf("chain does not verify against the bundle: %v", err)
	}
	if id.Tenant != f.tenant || id.Device != e.Device.ID || id.Serial != e.Device.CertSerial {
		t.Fatalf("identity %+v, device %+v", id, e.Device)
	}
	if d := time.Until(id.NotAfter); d < 7*24*time.Hour-time.Minute || d > 7*24*time.Hour+time.Minute {
		t.Errorf("certificate lives %s, want 7 days", d)
	}
	if e.DeltaAnchor == nil || e.DeltaAnchor.Tenant != f.tenant || len(e.DeltaKeys) != 1 || len(e.AnchorCertificate) == 0 {
		t.Fatalf("delta trust missing: %+v %+v", e.DeltaAnchor, e.DeltaKeys)
	}
	sys, err := c.Core.SystemAnchor(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	anchor, err := syncproto.VerifyAnchor(e.AnchorCertificate, sys)
	if err != nil || anchor.Tenant != f.tenant || anchor.Kid != e.DeltaAnchor.Kid || !anchor.PublicKey.Equal(e.DeltaAnchor.PublicKey) {
		t.Fatalf("anchor certificate: %+v, %v", anchor, err)
	}
	if n := countRows(t, c, `SELECT count(*) FROM outbox WHERE type = 'melmastoon.iam.device.enrolled.v1' AND subject = '`+e.Device.ID+`'`); n != 1 {
		t.Errorf("device.enrolled rows = %d", n)
	}
	if n := countRows(t, c, `SELECT count(*) FROM outbox`); n != outbox+1 {
		t.Errorf("outbox +%d, want +1", n-outbox)
	}
	if n := countRows(t, c, `SELECT count(*) FROM audit_events WHERE action = 'device.enroll' AND target_id = '`+e.Device.ID+`'`); n != 1 {
		t.Errorf("device.enroll audit rows = %d", n)
	}
}

func TestEnrollmentRefusals(t *testing.T) {
	clock := &coretest.Clock{}
	f := newDevices(t, coretest.WithClock(clock))
	c := f.c
	c.MustCreate("/api/v1/tenants", map[string]string{"slug": "beta", "name": "Beta"})
	c.MustCreate("/api/v1/tenants/beta/accounts", map[string]any{"username": "bob", "email": "bob@beta.example", "password": alicePassword})
	post := func(token string, body any) *coretest.Response {
		return c.As(token, coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/devices", Body: body})
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	state := func() int {
		return countRows(t, c, `SELECT count(*) FROM devices`) + countRows(t, c, `SELECT count(*) FROM outbox`)
	}
	before := state()

	// A bad signature: refused, and the nonce stays usable.
	n := f.nonce(t)
	body := f.enrollBody(pub, priv, n)
	bad := f.enrollBody(pub, priv, n)
	bad["signature"] = b64(ed25519.Sign(priv, []byte("something else")))
	if r := post(f.token, bad); r.Status != 400 || r.Code() != "MELMASTOON.IAM.DEVICE.PROOF_INVALID" {
		t.Fatalf("bad signature = %d %s", r.Status, r.Body)
	}
	// A weak (small-order) key.
	weak := map[string]string{"name": "x", "public_key": b64(make([]byte, 32)), "nonce": b64(n), "signature": b64(make([]byte, 64))}
	if r := post(f.token, weak); r.Status != 400 || r.Code() != "MELMASTOON.IAM.DEVICE.WEAK_KEY" {
		t.Fatalf("weak key = %d %s", r.Status, r.Body)
	}
	// A nonce core never issued.
	other := make([]byte, 32)
	_, _ = rand.Read(other)
	if r := post(f.token, f.enrollBody(pub, priv, other)); r.Status != 400 || r.Code() != "MELMASTOON.IAM.DEVICE.NONCE_INVALID" {
		t.Fatalf("unknown nonce = %d %s", r.Status, r.Body)
	}
	// The bootstrap token owns no device.
	if r := c.Post("/api/v1/tenants/acme/devices", body); r.Status != 403 || r.Code() != "MELMASTOON.IAM.DEVICE.ACCOUNT_REQUIRED" {
		t.Fatalf("bootstrap enrollment = %d %s", r.Status, r.Body)
	}
	// Another tenant's token.
	bobTok := f.c.Do(coretest.Request{Method: "POST", Path: "/api/v1/tenants/beta/auth/login", NoAuth: true,
		Body: map[string]string{"username": "bob", "password": alicePassword}}).JSON()["access_token"].(string)
	if r := post(bobTok, body); r.Status != 401 {
		t.Fatalf("other tenant's token = %d %s", r.Status, r.Body)
	}
	if s := state(); s != before {
		t.Fatalf("refusals changed state: %d -> %d", before, s)
	}
	// The nonce still works once, then not again.
	if r := post(f.token, body); r.Status != 201 {
		t.Fatalf("enroll after refusals = %d %s", r.Status, r.Body)
	}
	pub2, priv2, _ := ed25519.GenerateKey(rand.Reader)
	if r := post(f.token, f.enrollBody(pub2, priv2, n)); r.Status != 409 || r.Code() != "MELMASTOON.IAM.DEVICE.NONCE_USED" {
		t.Fatalf("reused nonce = %d %s", r.Status, r.Body)
	}
	// The same key again while its device is active.
	if r := post(f.token, f.enrollBody(pub, priv, f.nonce(t))); r.Status != 409 || r.Code() != "MELMASTOON.IAM.DEVICE.KEY_IN_USE" {
		t.Fatalf("key reuse = %d %s", r.Status, r.Body)
	}
	// An expired nonce.
	n = f.nonce(t)
	clock.Advance(5*time.Minute + time.Second)
	f.token = f.mustLogin(t, "alice", alicePassword).AccessToken
	if r := post(f.token, f.enrollBody(pub2, priv2, n)); r.Status != 400 || r.Code() != "MELMASTOON.IAM.DEVICE.NONCE_EXPIRED" {
		t.Fatalf("expired nonce = %d %s", r.Status, r.Body)
	}
}

func TestDeviceListGetAndRevoke(t *testing.T) {
	f := newDevices(t)
	c := f.c
	e, _ := f.enroll(t)
	c.MustCreate("/api/v1/tenants/acme/accounts", map[string]any{"username": "bob", "email": "bob@acme.example", "password": alicePassword})
	bob := f.mustLogin(t, "bob", alicePassword).AccessToken
	path := "/api/v1/tenants/acme/devices/" + e.Device.ID

	var list struct{ Items []struct{ ID string } }
	c.As(f.token, coretest.Request{Method: "GET", Path: "/api/v1/tenants/acme/devices"}).Decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != e.Device.ID {
		t.Fatalf("alice's list = %+v", list)
	}
	c.As(bob, coretest.Request{Method: "GET", Path: "/api/v1/tenants/acme/devices"}).Decode(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("bob sees %+v", list)
	}
	if r := c.As(bob, coretest.Request{Method: "GET", Path: path}); r.Status != 404 || r.Code() != "MELMASTOON.IAM.DEVICE.NOT_FOUND" {
		t.Fatalf("bob gets alice's device = %d %s", r.Status, r.Body)
	}
	if r := c.As(bob, coretest.Request{Method: "POST", Path: path + "/revoke"}); r.Status != 404 {
		t.Fatalf("bob revokes alice's device = %d %s", r.Status, r.Body)
	}
	if r := c.Get(path); r.Status != 200 {
		t.Fatalf("admin get = %d", r.Status)
	}
	audits, outbox := countRows(t, c, `SELECT count(*) FROM audit_events`), countRows(t, c, `SELECT count(*) FROM outbox`)
	for i := range 2 {
		r := c.As(f.token, coretest.Request{Method: "POST", Path: path + "/revoke", Header: map[string]string{"Idempotency-Key": "rv-" + string(rune('a'+i))}})
		if r.Status != 200 || r.JSON()["status"] != "revoked" || r.JSON()["revoked_at"] == nil {
			t.Fatalf("revoke #%d = %d %s", i, r.Status, r.Body)
		}
	}
	if a := countRows(t, c, `SELECT count(*) FROM audit_events`); a != audits+1 {
		t.Errorf("audit +%d, want +1 (idempotent revoke)", a-audits)
	}
	if o := countRows(t, c, `SELECT count(*) FROM outbox WHERE type = 'melmastoon.iam.device.revoked.v1'`); o != 1 || countRows(t, c, `SELECT count(*) FROM outbox`) != outbox+1 {
		t.Errorf("device.revoked rows = %d, outbox total +%d; want 1, +1", o, countRows(t, c, `SELECT count(*) FROM outbox`)-outbox)
	}
}

// deviceClient sends an enrolled device's requests to core over NATS.
type deviceClient struct {
	t      *testing.T
	nc     *nats.Conn
	tenant string
	device string
	priv   ed25519.PrivateKey
}

func requestNonce(at time.Time) []byte {
	n := make([]byte, 24)
	_, _ = rand.Read(n[:16])
	binary.BigEndian.PutUint64(n[16:], uint64(at.UnixMilli()))
	return n
}

// tokenNonce is a token request's nonce: a request nonce and a fresh
// ephemeral X25519 public key, whose private half opens the sealed token.
func tokenNonce(at time.Time) ([]byte, *ecdh.PrivateKey) {
	key, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return append(requestNonce(at), key.PublicKey().Bytes()...), key
}

// openToken opens the sealed token of a token reply to req.
func (d *deviceClient) openToken(req devproto.SignedRequest, key *ecdh.PrivateKey, r devproto.TokenReply) string {
	d.t.Helper()
	tok, err := devproto.OpenToken(key, d.tenant, d.device, req.Nonce, r.SealedToken)
	if err != nil {
		d.t.Fatalf("sealed token: %v", err)
	}
	return tok
}

func (d *deviceClient) signed(msg func(tenant, device string, nonce []byte) []byte, nonce []byte) devproto.SignedRequest {
	return devproto.SignedRequest{Tenant: d.tenant, Device: d.device, Nonce: nonce, Signature: ed25519.Sign(d.priv, msg(d.tenant, d.device, nonce))}
}

func (d *deviceClient) request(subject string, req, reply any) {
	d.t.Helper()
	body, _ := json.Marshal(req)
	m, err := d.nc.Request(subject, body, 10*time.Second)
	if err != nil {
		d.t.Fatalf("%s: %v", subject, err)
	}
	if err := json.Unmarshal(m.Data, reply); err != nil {
		d.t.Fatalf("%s reply %s: %v", subject, m.Data, err)
	}
}

func (d *deviceClient) renew(req devproto.SignedRequest) devproto.RenewReply {
	var r devproto.RenewReply
	d.request(devproto.RenewSubject, req, &r)
	return r
}

func (d *deviceClient) token(req devproto.SignedRequest) devproto.TokenReply {
	var r devproto.TokenReply
	d.request(devproto.TokenSubject, req, &r)
	return r
}

func TestDeviceRenewalOverNATS(t *testing.T) {
	clock := &coretest.Clock{}
	f := newDevices(t, coretest.WithHub(t.TempDir()), coretest.WithClock(clock))
	e, priv := f.enroll(t)
	d := &deviceClient{t: t, nc: f.c.Core.Hub().Conn(), tenant: f.tenant, device: e.Device.ID, priv: priv}
	bundle, _ := devcert.ParseTrustBundle(e.TrustBundle)

	// A fresh certificate is not renewed: core answers too_early until a
	// third of its life has passed.
	if r := d.renew(d.signed(devcert.RenewalMessage, requestNonce(clock.Now()))); r.Error != devproto.ErrCodeTooEarly || r.Chain != nil {
		t.Fatalf("renewal of a fresh certificate = %+v", r)
	}
	clock.Advance(ca.DefaultDeviceValidity / 3)
	ok := d.signed(devcert.RenewalMessage, requestNonce(clock.Now()))
	r := d.renew(ok)
	if r.Error != "" || len(r.Chain) != 2 {
		t.Fatalf("renew = %+v", r)
	}
	id, err := bundle.VerifyDevice(r.Chain, clock.Now(), time.Minute)
	if err != nil || id.Serial == e.Device.CertSerial || id.NotAfter.Unix() != r.NotAfter {
		t.Fatalf("renewed chain: %+v, %v", id, err)
	}
	var dev struct {
		Version    int64  `json:"version"`
		CertSerial string `json:"cert_serial"`
		LastSeen   string `json:"last_seen"`
	}
	f.c.Get("/api/v1/tenants/acme/devices/"+e.Device.ID).Decode(t, &dev)
	if dev.Version != 2 || dev.CertSerial != id.Serial || dev.LastSeen == "" {
		t.Fatalf("device after renewal = %+v", dev)
	}
	if n := countRows(t, f.c, `SELECT count(*) FROM outbox WHERE type = 'melmastoon.iam.device.renewed.v1'`); n != 1 {
		t.Fatalf("device.renewed rows = %d", n)
	}
	if n := countRows(t, f.c, `SELECT count(*) FROM audit_events WHERE action = 'device.renew'`); n != 1 {
		t.Fatalf("device.renew audit rows = %d", n)
	}

	refusals := []struct {
		name string
		req  devproto.SignedRequest
		want string
	}{
		{"replayed nonce", ok, devproto.ErrCodeBadRequest},
		{"stale nonce", d.signed(devcert.RenewalMessage, requestNonce(clock.Now().Add(-6*time.Minute))), devproto.ErrCodeBadRequest},
		{"future nonce", d.signed(devcert.RenewalMessage, requestNonce(clock.Now().Add(6*time.Minute))), devproto.ErrCodeBadRequest},
		{"token signature", d.signed(devcert.TokenRequestMessage, requestNonce(clock.Now())), devproto.ErrCodeBadRequest},
		{"unknown device", func() devproto.SignedRequest {
			x := d.signed(devcert.RenewalMessage, requestNonce(clock.Now()))
			x.Device = store.NewDeviceID().String()
			return x
		}(), devproto.ErrCodeNotFound},
	}
	for _, tc := range refusals {
		if got := d.renew(tc.req); got.Error != tc.want || got.Chain != nil {
			t.Errorf("%s: %+v, want %s", tc.name, got, tc.want)
		}
	}
	if n := countRows(t, f.c, `SELECT count(*) FROM outbox WHERE type = 'melmastoon.iam.device.renewed.v1'`); n != 1 {
		t.Fatalf("refusals renewed: device.renewed rows = %d", n)
	}

	// Past the stored not_after: expired, re-enroll.
	clock.Advance(8 * 24 * time.Hour)
	if got := d.renew(d.signed(devcert.RenewalMessage, requestNonce(clock.Now()))); got.Error != devproto.ErrCodeExpired {
		t.Fatalf("expired certificate: %+v", got)
	}
	expiredNonce, _ := tokenNonce(clock.Now())
	if got := d.token(d.signed(devcert.TokenRequestMessage, expiredNonce)); got.Error != devproto.ErrCodeExpired {
		t.Fatalf("token with expired certificate: %+v", got)
	}
}

func TestDeviceTokenAndRevocationOverNATS(t *testing.T) {
	f := newDevices(t, coretest.WithHub(t.TempDir()))
	e, priv := f.enroll(t)
	d := &deviceClient{t: t, nc: f.c.Core.Hub().Conn(), tenant: f.tenant, device: e.Device.ID, priv: priv}

	nonce, key := tokenNonce(time.Now())
	req := d.signed(devcert.TokenRequestMessage, nonce)
	tr := d.token(req)
	if tr.Error != "" || len(tr.SealedToken) == 0 || tr.ExpiresIn <= 0 {
		t.Fatalf("token = %+v", tr)
	}
	accessToken := d.openToken(req, key, tr)
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(accessToken, claims, jwksKeyfunc(t, f.c), jwt.WithIssuer(f.issuer), jwt.WithAudience("iam")); err != nil {
		t.Fatalf("device token does not verify: %v", err)
	}
	if claims["sub"] != f.alice || claims["sid"] != e.Device.ID || len(claims["amr"].([]any)) != 1 || claims["amr"].([]any)[0] != "device" {
		t.Fatalf("claims = %v", claims)
	}
	// Core's own verifier accepts it: the account lists its devices with it.
	if r := f.c.As(accessToken, coretest.Request{Method: "GET", Path: "/api/v1/tenants/acme/devices"}); r.Status != 200 {
		t.Fatalf("device token at core = %d %s", r.Status, r.Body)
	}
	if n := countRows(t, f.c, `SELECT count(*) FROM audit_events WHERE action = 'device.token'`); n != 1 {
		t.Fatalf("device.token audit rows = %d", n)
	}
	// A device's token cannot enroll further devices (a stolen device must
	// not mint devices that outlive its revocation).
	if r := f.c.As(accessToken, coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/devices/nonce"}); r.Status != 403 ||
		r.Code() != "MELMASTOON.IAM.DEVICE.ACCOUNT_REQUIRED" {
		t.Fatalf("nonce with a device token = %d %s", r.Status, r.Body)
	}

	if r := f.c.Post("/api/v1/tenants/acme/devices/"+e.Device.ID+"/revoke", nil); r.Status != 200 {
		t.Fatalf("revoke = %d %s", r.Status, r.Body)
	}
	revokedNonce, _ := tokenNonce(time.Now())
	if got := d.token(d.signed(devcert.TokenRequestMessage, revokedNonce)); got.Error != devproto.ErrCodeRevoked || got.SealedToken != nil {
		t.Fatalf("token of a revoked device: %+v", got)
	}
	if got := d.renew(d.signed(devcert.RenewalMessage, requestNonce(time.Now()))); got.Error != devproto.ErrCodeRevoked {
		t.Fatalf("renewal of a revoked device: %+v", got)
	}
	if r := f.c.As(accessToken, coretest.Request{Method: "GET", Path: "/api/v1/tenants/acme/devices"}); r.Status != 401 {
		t.Fatalf("token of a revoked device at core = %d, want 401", r.Status)
	}
}

func TestDeviceSnapshotOverNATS(t *testing.T) {
	f := newDevices(t, coretest.WithHub(t.TempDir()))
	e, _ := f.enroll(t)
	nc := f.c.Core.Hub().Conn()
	deadline := time.Now().Add(15 * time.Second)
	var reply devproto.SnapshotReply
	for {
		body, _ := json.Marshal(devproto.SnapshotRequest{Tenant: f.tenant, Device: e.Device.ID})
		m, err := nc.Request(devproto.SnapshotSubject, body, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		reply = devproto.SnapshotReply{}
		if err := json.Unmarshal(m.Data, &reply); err != nil {
			t.Fatal(err)
		}
		if reply.Error != devproto.ErrCodeUnavailable || time.Now().After(deadline) {
			break // unavailable until the relay has started the tenant chain
		}
		time.Sleep(50 * time.Millisecond)
	}
	if reply.Error != "" {
		t.Fatalf("snapshot: %+v", reply)
	}
	kr, err := syncproto.NewKeyring(*e.DeltaAnchor, e.DeltaKeys, nil)
	if err != nil {
		t.Fatal(err)
	}
	env, err := syncproto.VerifyStandalone(reply.Delta, kr, f.tenant)
	if err != nil {
		t.Fatalf("snapshot does not verify with the pinned keys: %v", err)
	}
	if env.Type != devproto.DeviceSnapshotType || env.Subject != e.Device.ID {
		t.Fatalf("envelope %s %s", env.Type, env.Subject)
	}
	var p devproto.DevicePayload
	if err := cbor.Unmarshal(env.Data, &p); err != nil {
		t.Fatal(err)
	}
	if p.ID != e.Device.ID || p.Status != "active" || p.CertSerial != e.Device.CertSerial || p.Version != 1 {
		t.Fatalf("payload = %+v", p)
	}
	// Another tenant's keys do not verify it.
	body, _ := json.Marshal(devproto.SnapshotRequest{Tenant: f.tenant, Device: store.NewDeviceID().String()})
	m, _ := nc.Request(devproto.SnapshotSubject, body, 10*time.Second)
	if err := json.Unmarshal(m.Data, &reply); err != nil || reply.Error != devproto.ErrCodeNotFound {
		t.Fatalf("unknown device snapshot: %s", m.Data)
	}
}
