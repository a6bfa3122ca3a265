package decide

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/edge/replica"
	"github.com/melmastoon/iam/syncproto"
)

const (
	tenantA    = "3f2b8c4e-1d5a-4e6f-9a7b-0c1d2e3f4a5b"
	tenantB    = "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
	issuerBase = "https://iam.example.test"
)

var (
	baseTime = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	idSpace  = uuid.MustParse("6ba7b812-9dad-11d1-80b4-00c04fd430c8")
)

func uid(name string) string { return uuid.NewSHA1(idSpace, []byte(name)).String() }

func seededSigner(t testing.TB, kid, seed string) *syncproto.Signer {
	t.Helper()
	s := sha256.Sum256([]byte("melmastoon decide test key " + seed))
	sg, err := syncproto.NewSigner(kid, ed25519.NewKeyFromSeed(s[:]))
	if err != nil {
		t.Fatal(err)
	}
	return sg
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is a replica fed by signed deltas with a Decider following it.
type env struct {
	t       testing.TB
	system  *syncproto.Signer
	stream  uint64
	rep     *replica.Replica
	clock   *clock
	dec     atomic.Pointer[Decider]
	tenants map[string]*producer
}

type producer struct {
	e     *env
	id    string
	slug  string
	root  *syncproto.Signer
	key   *syncproto.Signer
	cert  []byte
	chain *syncproto.Chain
	n     int
	jwt   keys.SigningKey
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, system: seededSigner(t, "system-root", "system-root"), clock: &clock{now: baseTime},
		tenants: map[string]*producer{}}
	r, err := replica.Open(context.Background(), replica.Config{Path: filepath.Join(t.TempDir(), "replica.db"),
		SystemAnchor: e.system.SigningKey(), Now: e.clock.Now, OnApplied: func(a replica.Applied) {
			if d := e.dec.Load(); d != nil {
				d.Apply(a)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	e.rep = r
	return e
}

// decider starts the Decider over the replica's current state.
func (e *env) decider(cfg Config) *Decider {
	e.t.Helper()
	cfg.Replica, cfg.IssuerBase, cfg.Now = e.rep, issuerBase, e.clock.Now
	d, err := New(context.Background(), cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.dec.Store(d)
	return d
}

// tenant creates a tenant chain with its key rotation, tenant row and an
// active JWT signing key.
func (e *env) tenant(id string) *producer {
	t := e.t
	t.Helper()
	p := &producer{e: e, id: id, slug: "t-" + id[:8], root: seededSigner(t, "root", id+"/root"),
		key: seededSigner(t, "delta-1", id+"/delta-1")}
	anchor := syncproto.TrustAnchor{Tenant: id, Kid: p.root.Kid(), PublicKey: p.root.PublicKey()}
	var err error
	if p.cert, err = e.system.SignAnchor(anchor, baseTime); err != nil {
		t.Fatal(err)
	}
	if p.chain, err = syncproto.NewChain(id, p.root, 0, syncproto.ZeroHash); err != nil {
		t.Fatal(err)
	}
	msg, err := p.chain.Rotate(p.root, p.key, nil, p.control())
	if err != nil {
		t.Fatal(err)
	}
	e.apply(p.message(syncproto.TypeKeyRotation, msg))
	p.delta(replica.TypeTenantCreated, map[string]any{"id": id, "slug": p.slug, "name": "T " + id[:4],
		"status": "active", "version": 1, "created_at": "2026-11-22T12:00:00Z", "updated_at": "2026-11-22T12:00:00Z"})
	if p.jwt, err = keys.GenerateSigningKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	p.jwt.State, p.jwt.NotBefore = keys.StateActive, baseTime.Add(-time.Hour)
	p.publishKey(p.jwt, "active")
	e.tenants[id] = p
	return p
}

func (p *producer) publishKey(k keys.SigningKey, state string) {
	p.delta(replica.TypeSigningKeyPublished, map[string]any{"kid": k.KID,
		"public_key": base64.StdEncoding.EncodeToString(k.Public), "state": state, "alg": "EdDSA",
		"published_at": "2026-11-22T11:00:00Z", "not_before": "2026-11-22T11:00:00Z", "retire_at": nil})
}

func (p *producer) control() syncproto.Envelope {
	p.n++
	return syncproto.Envelope{ID: uid(fmt.Sprint(p.id, "control", p.n)), Source: "core/relay",
		Time: baseTime.Add(time.Duration(p.n) * time.Millisecond).UnixMilli()}
}

func (p *producer) message(typ string, msg []byte) replica.Message {
	p.e.stream++
	seq, _ := p.chain.Head()
	h := map[string]string{replica.HeaderTenant: p.id, replica.HeaderSeq: fmt.Sprint(seq)}
	if seq <= 2 {
		h[replica.HeaderAnchor] = base64.RawURLEncoding.EncodeToString(p.cert)
	}
	return replica.Message{StreamSeq: p.e.stream, Subject: typ, Data: msg, Headers: h}
}

// delta signs, publishes and applies the next delta of the tenant.
func (p *producer) delta(typ string, data map[string]any) {
	t := p.e.t
	t.Helper()
	raw, err := syncproto.EncodeData(data)
	if err != nil {
		t.Fatal(err)
	}
	env := p.control()
	env.Type, env.DataContentType, env.Data = typ, syncproto.DataContentTypeCBOR, raw
	msg, err := p.chain.Next(env)
	if err != nil {
		t.Fatal(err)
	}
	p.e.apply(p.message(typ, msg))
}

func (e *env) apply(m replica.Message) {
	e.t.Helper()
	res, err := e.rep.Apply(context.Background(), m)
	if err != nil || res.Duplicate {
		e.t.Fatalf("apply %s: %v (duplicate %v)", m.Subject, err, res.Duplicate)
	}
}

// Payload helpers (docs/deltas.md).
func (p *producer) org(id, parent string, depth int) {
	var par any
	if parent != "" {
		par = parent
	}
	p.delta(replica.TypeOrganizationCreated, map[string]any{"id": id, "parent_id": par, "name": "org " + id[:4],
		"depth": depth, "version": 1, "created_at": "2026-11-22T12:00:00Z", "updated_at": "2026-11-22T12:00:00Z"})
}

func (p *producer) account(id, status string) {
	p.delta(replica.TypeAccountUpdated, map[string]any{"id": id, "status": status, "version": 1})
}

func (p *producer) role(id string, perms ...string) {
	ps := make([]any, len(perms))
	for i, x := range perms {
		ps[i] = x
	}
	p.delta(replica.TypeRoleCreated, map[string]any{"id": id, "name": "role " + id[:4], "permissions": ps,
		"version": 1, "created_at": "2026-11-22T12:00:00Z", "updated_at": "2026-11-22T12:00:00Z"})
}

func (p *producer) bind(id, account, role, org string) {
	p.delta(replica.TypeRoleBindingCreated, map[string]any{"id": id, "account_id": account, "role_id": role,
		"organization_id": org, "created_at": "2026-11-22T12:00:00Z"})
}

func (p *producer) unbind(id string) {
	p.delta(replica.TypeRoleBindingDeleted, map[string]any{"id": id})
}

func (p *producer) revoke(sid, account string) {
	p.delta(replica.TypeSessionRevoked, map[string]any{"id": sid, "account_id": account, "reason": "logout",
		"revoked_at": "2026-11-22T12:00:00Z"})
}

// token mints an access token of the tenant's active key.
func (p *producer) token(account, sid string, mod ...func(*keys.IssuerConfig, *keys.AccessTokenRequest)) string {
	t := p.e.t
	t.Helper()
	cfg := keys.IssuerConfig{Issuer: issuerBase + "/t/" + p.slug, Keys: keys.KeySet{Keys: []keys.SigningKey{p.jwt}},
		Now: p.e.clock.Now}
	req := keys.AccessTokenRequest{Subject: account, TenantID: p.id, Audience: []string{"iam"}, SessionID: sid}
	for _, m := range mod {
		m(&cfg, &req)
	}
	iss, err := keys.NewIssuer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := iss.Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
