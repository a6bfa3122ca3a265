package relay_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/melmastoon/iam/core/hub"
	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/core/relay"
	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/syncproto"
	"github.com/melmastoon/iam/test/pgtest"
)

// env is one test's database, store, hub and KEK.
type env struct {
	t     testing.TB
	db    *pgtest.DB
	store *store.Store
	hub   *hub.Hub
	kek   keys.KeyEncrypter
	admin *pgx.Conn
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // runs last
	db := pgtest.New(t)
	h, err := hub.New(hub.Config{DataDir: t.TempDir(), ClientListen: "127.0.0.1:-1", LeafListen: "127.0.0.1:-1",
		LeafUsers: []hub.LeafCredential{{User: "edge", Password: "edge-secret"}}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	key := make([]byte, keys.KEKSize)
	_, _ = rand.Read(key)
	kek, err := keys.NewLocalKEK(key)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, db: db, store: db.Open(t), hub: h, kek: kek, admin: db.AdminConn(t)}
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (e *env) config() relay.Config {
	return relay.Config{Store: e.store, DatabaseURL: e.db.URL, Hub: e.hub, KEK: e.kek,
		Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(),
		CheckpointInterval: time.Second, RetryInterval: 50 * time.Millisecond}
}

// running is a relay started by startRelay.
type running struct {
	relay  *relay.Relay
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// stop cancels the relay and waits for Run to return (once).
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

func (e *env) startRelay(cfg relay.Config) *running {
	e.t.Helper()
	reg := prometheus.NewRegistry()
	cfg.Registry = reg
	r, err := relay.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &running{relay: r, reg: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { run.done <- r.Run(ctx) }()
	e.t.Cleanup(func() { run.stop(e.t) })
	return run
}

// metric reads a counter or gauge of a running relay.
func (r *running) metric(t testing.TB, name string) float64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var actor = store.Actor{ID: "test", TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}

// createTenant creates a tenant through the store (one outbox row).
func (e *env) createTenant(slug string) store.TenantID {
	e.t.Helper()
	var id store.TenantID
	err := e.store.Global(testCtx(e.t), func(tx *store.Tx) error {
		tn, err := tx.CreateTenant(testCtx(e.t), actor, slug, slug)
		id = tn.ID
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// createAccounts creates n accounts in the tenant, one transaction each.
func (e *env) createAccounts(slug string, from, n int) error {
	ctx := context.Background()
	for i := from; i < from+n; i++ {
		err := e.store.InTenantSlug(ctx, slug, func(tx *store.Tx) error {
			_, err := tx.CreateAccount(ctx, actor, fmt.Sprintf("user%d", i), fmt.Sprintf("u%d@example.org", i), "")
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// unpublished counts outbox rows not yet published (admin: all tenants).
func (e *env) unpublished() int {
	e.t.Helper()
	var n int
	if err := e.admin.QueryRow(testCtx(e.t), `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) waitAllPublished(within time.Duration) {
	e.t.Helper()
	waitFor(e.t, within, "every outbox row published", func() bool { return e.unpublished() == 0 })
}

// streamMessages reads the whole delta stream.
func (e *env) streamMessages() []*jetstream.RawStreamMsg {
	e.t.Helper()
	ctx := testCtx(e.t)
	last, err := e.hub.LastSequence(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := e.hub.JetStream().Stream(ctx, hub.StreamName)
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]*jetstream.RawStreamMsg, 0, last)
	for seq := uint64(1); seq <= last; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			e.t.Fatalf("stream seq %d: %v", seq, err)
		}
		out = append(out, m)
	}
	return out
}

// streamCheck is what verifyStream learned.
type streamCheck struct {
	verifiers map[string]*syncproto.Verifier
	envelopes map[string][]*syncproto.Envelope // per tenant, in order
	foreign   []*jetstream.RawStreamMsg        // messages without Iam-Tenant
}

// verifyStream verifies every message of the stream as an edge would: per
// tenant a verifier seeded from the Iam-Anchor certificate checked against
// the system anchor; seq gapless from 1, prev chained, every message id
// unique, headers consistent with the envelope.
func (e *env) verifyStream(r *relay.Relay) *streamCheck {
	e.t.Helper()
	sys, err := r.SystemAnchor(testCtx(e.t))
	if err != nil {
		e.t.Fatal(err)
	}
	sc := &streamCheck{verifiers: map[string]*syncproto.Verifier{}, envelopes: map[string][]*syncproto.Envelope{}}
	seen := map[string]bool{}
	for _, m := range e.streamMessages() {
		id := m.Header.Get(nats.MsgIdHdr)
		if seen[id] {
			e.t.Fatalf("message id %s twice in the stream (stream seq %d)", id, m.Sequence)
		}
		seen[id] = true
		tenant := m.Header.Get(relay.HeaderTenant)
		if tenant == "" {
			sc.foreign = append(sc.foreign, m)
			continue
		}
		env := e.verifyMessage(sc, sys, tenant, m)
		sc.envelopes[tenant] = append(sc.envelopes[tenant], env)
	}
	return sc
}

func (e *env) verifyMessage(sc *streamCheck, sys syncproto.SigningKey, tenant string, m *jetstream.RawStreamMsg) *syncproto.Envelope {
	e.t.Helper()
	v := sc.verifiers[tenant]
	if v == nil {
		v = e.verifierFromAnchor(sys, m)
		sc.verifiers[tenant] = v
	}
	now := time.Now()
	env, err := v.Verify(m.Data, now)
	if err != nil {
		e.t.Fatalf("stream seq %d (tenant %s, Iam-Seq %s): %v", m.Sequence, tenant, m.Header.Get(relay.HeaderSeq), err)
	}
	if err := v.Accept(env, now); err != nil {
		e.t.Fatal(err)
	}
	if env.Tenant != tenant || m.Header.Get(relay.HeaderSeq) != strconv.FormatUint(env.Seq, 10) {
		e.t.Fatalf("stream seq %d: headers (%s, %s) disagree with envelope (%s, %d)", m.Sequence,
			tenant, m.Header.Get(relay.HeaderSeq), env.Tenant, env.Seq)
	}
	if m.Subject != env.Type {
		e.t.Fatalf("stream seq %d: subject %s, type %s", m.Sequence, m.Subject, env.Type)
	}
	if hasAnchor := m.Header.Get(relay.HeaderAnchor) != ""; hasAnchor != (env.Seq <= 2) {
		e.t.Fatalf("stream seq %d: Iam-Anchor present=%v at tenant seq %d", m.Sequence, hasAnchor, env.Seq)
	}
	return env
}

func (e *env) verifierFromAnchor(sys syncproto.SigningKey, m *jetstream.RawStreamMsg) *syncproto.Verifier {
	e.t.Helper()
	cert, err := base64.RawURLEncoding.DecodeString(m.Header.Get(relay.HeaderAnchor))
	if err != nil {
		e.t.Fatalf("stream seq %d: Iam-Anchor: %v", m.Sequence, err)
	}
	anchor, err := syncproto.VerifyAnchor(cert, sys)
	if err != nil {
		e.t.Fatalf("stream seq %d: anchor certificate: %v", m.Sequence, err)
	}
	v, err := syncproto.NewVerifier(syncproto.VerifierConfig{Anchor: anchor})
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// outboxOrder returns the tenant's outbox event ids in publication order
// (delta_seq) and checks every row is marked consistently.
func (e *env) outboxRecords(tenant store.TenantID) []outboxRecord {
	e.t.Helper()
	rows, err := e.admin.Query(testCtx(e.t), `SELECT event_id::text, delta_seq, chain_hash, stream_seq
		FROM outbox WHERE tenant_id = $1
		ORDER BY CASE WHEN tenant_order IS NULL THEN txid::text::numeric END NULLS FIRST, id`, tenant.UUID)
	// Rows emitted through the store carry tenant_order and leave in id
	// (= commit) order; raw test inserts without it keep the txid rule.
	if err != nil {
		e.t.Fatal(err)
	}
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (outboxRecord, error) {
		var r outboxRecord
		return r, row.Scan(&r.eventID, &r.seq, &r.hash, &r.streamSeq)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return recs
}

type outboxRecord struct {
	eventID   string
	seq       *int64
	hash      []byte
	streamSeq *int64
}

// checkRecords compares the tenant's outbox marks with the verified stream:
// row k (in (txid, id) order) is tenant seq k+2 (seq 1 is the key
// rotation), with the same envelope id and chain hash.
func (e *env) checkRecords(sc *streamCheck, tenant store.TenantID) {
	e.t.Helper()
	envs := sc.envelopes[tenant.String()]
	recs := e.outboxRecords(tenant)
	if len(envs) != len(recs)+1 {
		e.t.Fatalf("tenant %s: %d deltas in the stream, %d outbox rows (+1 key rotation)", tenant, len(envs), len(recs))
	}
	if envs[0].Type != syncproto.TypeKeyRotation {
		e.t.Fatalf("tenant %s: seq 1 is %s", tenant, envs[0].Type)
	}
	for k, rec := range recs {
		env := envs[k+1]
		h := env.Hash()
		if rec.seq == nil || uint64(*rec.seq) != env.Seq || env.ID != rec.eventID || string(rec.hash) != string(h[:]) {
			e.t.Fatalf("tenant %s: outbox row %d (%s) recorded seq %v, stream has %s at seq %d", tenant, k, rec.eventID, rec.seq, env.ID, env.Seq)
		}
	}
}

var errCrash = errors.New("test: crash before mark")

// beginOutbox opens a service-role transaction scoped to tenant, for tests
// that hold an outbox insert open.
func (e *env) beginOutbox(tenant store.TenantID) pgx.Tx {
	e.t.Helper()
	ctx := testCtx(e.t)
	tx, err := e.store.Pool().Begin(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	if _, err := tx.Exec(ctx, `SELECT set_config('iam.tenant_id', $1, true)`, tenant.String()); err != nil {
		e.t.Fatal(err)
	}
	return tx
}

// emitRaw inserts one outbox row in tx (which gets its txid now) and
// returns its event id.
func (e *env) emitRaw(tx pgx.Tx, tenant store.TenantID) string {
	e.t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	_, err := tx.Exec(testCtx(e.t), `INSERT INTO outbox (tenant_id, event_id, type, subject, data)
		VALUES ($1, $2::uuid, 'melmastoon.iam.role.deleted.v1', $3, jsonb_build_object('id', $3::text))`, tenant.UUID, id, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) publishedAt(eventID string) bool {
	e.t.Helper()
	var published bool
	err := e.admin.QueryRow(testCtx(e.t), `SELECT published_at IS NOT NULL FROM outbox WHERE event_id = $1`, eventID).Scan(&published)
	if err != nil {
		e.t.Fatal(err)
	}
	return published
}

func (e *env) deltaSeq(eventID string) int64 {
	e.t.Helper()
	var seq int64
	if err := e.admin.QueryRow(testCtx(e.t), `SELECT delta_seq FROM outbox WHERE event_id = $1`, eventID).Scan(&seq); err != nil {
		e.t.Fatal(err)
	}
	return seq
}
