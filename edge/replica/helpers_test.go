package replica

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/melmastoon/iam/syncproto"
)

const (
	tenantA = "3f2b8c4e-1d5a-4e6f-9a7b-0c1d2e3f4a5b"
	tenantB = "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
)

var (
	baseTime = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	idSpace  = uuid.MustParse("6ba7b812-9dad-11d1-80b4-00c04fd430c8")
)

// uid returns a deterministic UUID for a test name.
func uid(name string) string { return uuid.NewSHA1(idSpace, []byte(name)).String() }

func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("melmastoon replica test key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func signer(t testing.TB, kid string) *syncproto.Signer { return seededSigner(t, kid, kid) }

// seededSigner returns kid with a key derived from seed.
func seededSigner(t testing.TB, kid, seed string) *syncproto.Signer {
	t.Helper()
	s, err := syncproto.NewSigner(kid, testKey(seed))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// world is the producer side: the system root and a shared stream.
type world struct {
	system *syncproto.Signer
	stream uint64
}

func newWorld(t testing.TB) *world {
	return &world{system: signer(t, "system-root")}
}

// producer is one tenant's chain as core's relay would publish it.
type producer struct {
	w      *world
	id     string
	root   *syncproto.Signer
	key    *syncproto.Signer
	anchor syncproto.TrustAnchor
	cert   []byte
	chain  *syncproto.Chain
	n      int
}

// tenant returns a tenant producer whose root and delta key are the kids
// "root" and "delta-1": tenants share kids, never keys.
func (w *world) tenant(t testing.TB, id string) *producer {
	t.Helper()
	p := &producer{w: w, id: id, root: seededSigner(t, "root", id+"/root"), key: seededSigner(t, "delta-1", id+"/delta-1")}
	p.anchor = syncproto.TrustAnchor{Tenant: id, Kid: p.root.Kid(), PublicKey: p.root.PublicKey()}
	var err error
	if p.cert, err = w.system.SignAnchor(p.anchor, baseTime); err != nil {
		t.Fatal(err)
	}
	if p.chain, err = syncproto.NewChain(id, p.root, 0, syncproto.ZeroHash); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *producer) control() syncproto.Envelope {
	p.n++
	return syncproto.Envelope{ID: uid(fmt.Sprint(p.id, "control", p.n)), Source: "core/relay",
		Time: baseTime.Add(time.Duration(p.n) * time.Millisecond).UnixMilli()}
}

// rotate returns the seq-1 key rotation (or a later rotation) as a message.
func (p *producer) rotate(t testing.TB) Message {
	t.Helper()
	msg, err := p.chain.Rotate(p.root, p.key, nil, p.control())
	if err != nil {
		t.Fatal(err)
	}
	return p.message(syncproto.TypeKeyRotation, msg)
}

// signed returns the next delta of type typ as COSE bytes.
func (p *producer) signed(t testing.TB, typ string, data map[string]any) []byte {
	t.Helper()
	raw, err := syncproto.EncodeData(data)
	if err != nil {
		t.Fatal(err)
	}
	e := p.control()
	e.Type, e.DataContentType, e.Data = typ, syncproto.DataContentTypeCBOR, raw
	msg, err := p.chain.Next(e)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// delta returns the next delta of type typ as the next stream message.
func (p *producer) delta(t testing.TB, typ string, data map[string]any) Message {
	t.Helper()
	return p.message(typ, p.signed(t, typ, data))
}

func (p *producer) message(typ string, msg []byte) Message {
	p.w.stream++
	seq, _ := p.chain.Head()
	h := map[string]string{HeaderTenant: p.id, HeaderSeq: fmt.Sprint(seq)}
	if seq <= 2 {
		h[HeaderAnchor] = base64.RawURLEncoding.EncodeToString(p.cert)
	}
	return Message{StreamSeq: p.w.stream, Subject: typ, Data: msg, Headers: h}
}

func (p *producer) checkpoint(t testing.TB, at time.Time) []byte {
	t.Helper()
	msg, err := p.chain.Checkpoint(p.control(), at)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// Payload builders (docs/deltas.md).
func tenantData(id, name string) map[string]any {
	return map[string]any{"id": id, "slug": "t-" + id[:8], "name": name, "status": "active", "version": 1,
		"created_at": "2026-11-22T12:00:00Z", "updated_at": "2026-11-22T12:00:00Z"}
}

func orgData(id, parent, name string, depth int) map[string]any {
	var p any
	if parent != "" {
		p = parent
	}
	return map[string]any{"id": id, "parent_id": p, "name": name, "depth": depth, "version": 1,
		"created_at": "2026-11-22T12:00:00Z", "updated_at": "2026-11-22T12:00:00Z"}
}

func accountData(id, status string) map[string]any {
	return map[string]any{"id": id, "status": status, "version": 1}
}

func roleData(id, name string, perms ...string) map[string]any {
	ps := make([]any, len(perms))
	for i, p := range perms {
		ps[i] = p
	}
	return map[string]any{"id": id, "name": name, "permissions": ps, "version": 1,
		"created_at": "2026-11-22T12:00:00Z", "updated_at": "2026-11-22T12:00:00Z"}
}

func bindingData(id, account, role, org string) map[string]any {
	return map[string]any{"id": id, "account_id": account, "role_id": role, "organization_id": org,
		"created_at": "2026-11-22T12:00:00Z"}
}

func sessionData(id, account string) map[string]any {
	return map[string]any{"id": id, "account_id": account, "reason": "logout", "revoked_at": "2026-11-22T12:00:00Z"}
}

func jwtKeyData(kid, state string) map[string]any {
	pub := testKey("jwt " + kid).Public().(ed25519.PublicKey)
	return map[string]any{"kid": kid, "public_key": base64.StdEncoding.EncodeToString(pub), "state": state,
		"alg": "EdDSA", "published_at": "2026-11-22T12:00:00Z", "not_before": "2026-11-22T12:00:00Z", "retire_at": nil}
}

func idData(id string) map[string]any { return map[string]any{"id": id} }

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// env is an open replica under test with its registry and clock.
type env struct {
	*Replica
	path    string
	reg     *prometheus.Registry
	clock   *clock
	applied []Applied
	mu      sync.Mutex
}

func openEnv(t testing.TB, w *world, path string) *env {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "replica.db")
	}
	e := &env{path: path, reg: prometheus.NewRegistry(), clock: &clock{now: baseTime}}
	r, err := Open(context.Background(), Config{Path: path, SystemAnchor: w.system.SigningKey(),
		Registry: e.reg, Now: e.clock.Now, OnApplied: func(a Applied) {
			e.mu.Lock()
			e.applied = append(e.applied, a)
			e.mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	e.Replica = r
	t.Cleanup(func() { r.Close() })
	return e
}

func (e *env) mustApply(t testing.TB, msgs ...Message) {
	t.Helper()
	for _, m := range msgs {
		res, err := e.Apply(context.Background(), m)
		if err != nil {
			t.Fatalf("apply stream seq %d (%s): %v", m.StreamSeq, m.Subject, err)
		}
		if res.Duplicate {
			t.Fatalf("apply stream seq %d: unexpected duplicate", m.StreamSeq)
		}
	}
}

func (e *env) digest(t testing.TB, tenant string) string {
	t.Helper()
	d, err := e.Digest(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *env) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.Reader().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// metric returns the value of a counter or gauge (with the given reason
// label, if any) from the env's registry; 0 if absent.
func (e *env) metric(t testing.TB, name, reason string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if reason != "" && !hasLabel(m.GetLabel(), reason) {
				continue
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	return 0
}

func hasLabel(labels []*dto.LabelPair, reason string) bool {
	for _, l := range labels {
		if l.GetName() == "reason" && l.GetValue() == reason {
			return true
		}
	}
	return false
}

// snapshotChunks signs records (already {"type","data"} maps) as a snapshot
// of p at its chain head, perChunk records per chunk.
func (p *producer) snapshotChunks(t testing.TB, records []cbor.RawMessage, perChunk int) [][]byte {
	t.Helper()
	seq, head := p.chain.Head()
	var out [][]byte
	for i := 0; i == 0 || i*perChunk < len(records); i++ {
		end := min((i+1)*perChunk, len(records))
		s := &syncproto.Snapshot{Tenant: p.id, Seq: seq, Hash: head[:], Time: baseTime.UnixMilli(),
			Index: uint32(i), Final: end == len(records), Records: records[i*perChunk : end]}
		if i == 0 {
			s.Keys = []syncproto.SigningKey{p.key.SigningKey()}
		}
		msg, err := p.root.SignSnapshot(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, msg)
	}
	return out
}

func record(t testing.TB, typ string, data map[string]any) cbor.RawMessage {
	t.Helper()
	raw, err := syncproto.EncodeData(map[string]any{"type": typ, "data": data})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
