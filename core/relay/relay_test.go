package relay_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/melmastoon/iam/core/relay"
	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/syncproto"
)

func TestPublishesInOrderWithChains(t *testing.T) {
	e := newEnv(t)
	a, b := e.createTenant("alpha"), e.createTenant("beta")
	if err := e.createAccounts("alpha", 0, 5); err != nil {
		t.Fatal(err)
	}
	if err := e.createAccounts("beta", 0, 3); err != nil {
		t.Fatal(err)
	}
	r := e.startRelay(e.config())
	e.waitAllPublished(10 * time.Second)
	waitFor(t, 5*time.Second, "leader", r.relay.IsLeader)
	sc := e.verifyStream(r.relay)
	if len(sc.foreign) != 0 {
		t.Fatalf("%d foreign messages", len(sc.foreign))
	}
	e.checkRecords(sc, a)
	e.checkRecords(sc, b)
	acc := sc.envelopes[a.String()][2]
	var data map[string]any
	if err := syncproto.DecodeData(acc.Data, &data); err != nil {
		t.Fatal(err)
	}
	if acc.Type != "melmastoon.iam.account.created.v1" || data["status"] != "active" || data["version"] != uint64(1) ||
		acc.Traceparent != actor.TraceParent || acc.Source != relay.Source || acc.Subject != data["id"] {
		t.Fatalf("account delta: %+v data %v", acc, data)
	}
	if got := r.metric(t, "relay_leader"); got != 1 {
		t.Fatalf("relay_leader = %v", got)
	}
	if got := r.metric(t, "delta_stream_seq"); got != 2+6+4 {
		t.Fatalf("delta_stream_seq = %v, want 12", got)
	}
}

// A transaction that began first and commits after a younger one must not
// be skipped: the younger row waits until the older commits.
func TestOlderTransactionCommittingLaterIsNotSkipped(t *testing.T) {
	e := newEnv(t)
	tenant := e.createTenant("slow")
	cfg := e.config()
	cfg.CheckpointInterval = 20 * time.Millisecond
	r := e.startRelay(cfg)
	e.waitAllPublished(10 * time.Second)
	ctx := testCtx(t)
	t1, t2 := e.beginOutbox(tenant), e.beginOutbox(tenant)
	id1 := e.emitRaw(t1, tenant)
	id2 := e.emitRaw(t2, tenant)
	if err := t2.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Two checkpoints after T2's commit prove at least one full relay step
	// (drain, then checkpoints) ran after T2 was visible.
	cps := e.subscribeCheckpoints(tenant)
	for range 2 {
		cps.next(t, 5*time.Second)
	}
	if e.publishedAt(id2) {
		t.Fatal("T2's row was published while the older T1 was still open")
	}
	if err := t1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	e.waitAllPublished(10 * time.Second)
	e.checkRecords(e.verifyStream(r.relay), tenant)
	if s1, s2 := e.deltaSeq(id1), e.deltaSeq(id2); s1 >= s2 {
		t.Fatalf("T1 seq %d, T2 seq %d: T1 (older txid) must come first", s1, s2)
	}
}

func TestConcurrentWritersEveryRowOnce(t *testing.T) {
	e := newEnv(t)
	slugs := []string{"one", "two", "three"}
	var tenants []store.TenantID
	for _, s := range slugs {
		tenants = append(tenants, e.createTenant(s))
	}
	r := e.startRelay(e.config())
	const writers = 100
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() { errs <- e.createAccounts(slugs[i%len(slugs)], i*10, 3) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	e.waitAllPublished(30 * time.Second)
	sc := e.verifyStream(r.relay)
	total := 0
	for _, tn := range tenants {
		e.checkRecords(sc, tn)
		total += len(sc.envelopes[tn.String()])
	}
	if want := len(slugs)*2 /* created + rotation */ + writers*3; total != want {
		t.Fatalf("%d deltas in the stream, want %d", total, want)
	}
}

func TestFailoverKeepsStreamGapless(t *testing.T) {
	e := newEnv(t)
	tenant := e.createTenant("failover")
	r1, r2 := e.startRelay(e.config()), e.startRelay(e.config())
	waitFor(t, 10*time.Second, "a leader", func() bool { return r1.relay.IsLeader() || r2.relay.IsLeader() })
	leader, standby := r1, r2
	if r2.relay.IsLeader() {
		leader, standby = r2, r1
	}
	if err := e.createAccounts("failover", 0, 20); err != nil {
		t.Fatal(err)
	}
	e.waitAllPublished(10 * time.Second)
	if standby.relay.IsLeader() {
		t.Fatal("two leaders")
	}
	// Keep writing while the leader stops.
	var wg sync.WaitGroup
	var werr error
	wg.Go(func() { werr = e.createAccounts("failover", 100, 40) })
	leader.stop(t)
	waitFor(t, 10*time.Second, "the standby to take over", standby.relay.IsLeader)
	wg.Wait()
	if werr != nil {
		t.Fatal(werr)
	}
	e.waitAllPublished(10 * time.Second)
	sc := e.verifyStream(standby.relay)
	e.checkRecords(sc, tenant)
	if n := len(sc.envelopes[tenant.String()]); n != 2+60 {
		t.Fatalf("%d deltas, want 62", n)
	}
}

func TestCrashBetweenPublishAndMarkIsReconciled(t *testing.T) {
	e := newEnv(t)
	tenant := e.createTenant("crash")
	if err := e.createAccounts("crash", 0, 10); err != nil {
		t.Fatal(err)
	}
	cfg := e.config()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	crashed := make(chan int, 1)
	relay.SetBeforeMarkHook(&cfg, func(n int) error {
		cancel() // the process dies here: nothing is marked
		select {
		case crashed <- n:
		default:
		}
		return errCrash
	})
	first, err := relay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Run(ctx); err != nil {
		t.Fatal(err)
	}
	published := <-crashed
	last, _ := e.hub.LastSequence(testCtx(t))
	if published != 12 || last != 12 || e.unpublished() != 11 {
		t.Fatalf("after the crash: %d published, stream at %d, %d unpublished; want 12, 12, 11", published, last, e.unpublished())
	}
	second := e.startRelay(e.config())
	e.waitAllPublished(10 * time.Second)
	if last, _ := e.hub.LastSequence(testCtx(t)); last != 12 {
		t.Fatalf("stream at %d after reconcile, want 12 (nothing republished)", last)
	}
	if got := second.metric(t, "relay_deltas_reconciled_total"); got != 12 {
		t.Fatalf("reconciled %v, want 12", got)
	}
	if err := e.createAccounts("crash", 10, 2); err != nil {
		t.Fatal(err)
	}
	e.waitAllPublished(10 * time.Second)
	e.checkRecords(e.verifyStream(second.relay), tenant)
}

func TestForeignStreamMessageIsCountedAndSkipped(t *testing.T) {
	e := newEnv(t)
	tenant := e.createTenant("rogue")
	r := e.startRelay(e.config())
	e.waitAllPublished(10 * time.Second)
	ctx := testCtx(t)
	last, err := e.hub.LastSequence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.hub.PublishDelta(ctx, "melmastoon.iam.rogue.injected.v1", []byte("not a delta"), "rogue-1", last, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.createAccounts("rogue", 0, 5); err != nil {
		t.Fatal(err)
	}
	e.waitAllPublished(10 * time.Second)
	sc := e.verifyStream(r.relay)
	if len(sc.foreign) != 1 {
		t.Fatalf("%d foreign messages, want 1", len(sc.foreign))
	}
	e.checkRecords(sc, tenant)
	if got := r.metric(t, "relay_unknown_stream_messages_total"); got != 1 {
		t.Fatalf("relay_unknown_stream_messages_total = %v", got)
	}
	if got := r.metric(t, "relay_publish_retries_total"); got < 1 {
		t.Fatalf("relay_publish_retries_total = %v, want >= 1", got)
	}
}

func TestCheckpointArrivesAndVerifies(t *testing.T) {
	e := newEnv(t)
	tenant := e.createTenant("beat")
	cfg := e.config()
	cfg.CheckpointInterval = 200 * time.Millisecond
	r := e.startRelay(cfg)
	e.waitAllPublished(10 * time.Second)
	cps := e.subscribeCheckpoints(tenant)
	msg := cps.next(t, 2*cfg.CheckpointInterval+200*time.Millisecond)
	sc := e.verifyStream(r.relay)
	v := sc.verifiers[tenant.String()]
	env, err := v.Verify(msg, time.Now())
	if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	cp, err := env.Checkpoint()
	if err != nil || cp.Seq != 2 {
		t.Fatalf("checkpoint %+v, %v; want seq 2", cp, err)
	}
	if err := v.Accept(env, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := v.CheckFresh(time.Now()); err != nil {
		t.Fatal(err)
	}
}

func TestAnchorsAreStableAndVerify(t *testing.T) {
	e := newEnv(t)
	tenant := e.createTenant("anchors")
	r1, err := relay.New(e.config())
	if err != nil {
		t.Fatal(err)
	}
	r2, err := relay.New(e.config())
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	var wg sync.WaitGroup
	certs := make([][]byte, 8)
	var fails atomic.Int32
	for i := range certs {
		wg.Go(func() {
			rr := []*relay.Relay{r1, r2}[i%2]
			c, err := rr.TenantAnchorCertificate(ctx, tenant)
			if err != nil {
				fails.Add(1)
			}
			certs[i] = c
		})
	}
	wg.Wait()
	if fails.Load() != 0 {
		t.Fatal("TenantAnchorCertificate failed")
	}
	s1, err := r1.SystemAnchor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := r2.SystemAnchor(ctx)
	if err != nil || s1.Kid != s2.Kid || string(s1.PublicKey) != string(s2.PublicKey) {
		t.Fatalf("system anchors differ: %v %v (%v)", s1, s2, err)
	}
	for _, c := range certs {
		if string(c) != string(certs[0]) {
			t.Fatal("anchor certificates differ between calls")
		}
	}
	a, err := syncproto.VerifyAnchor(certs[0], s1)
	if err != nil || a.Tenant != tenant.String() {
		t.Fatalf("VerifyAnchor: %+v, %v", a, err)
	}
	if _, err := r1.TenantAnchorCertificate(ctx, store.TenantID{UUID: uuid.New()}); err == nil {
		t.Fatal("anchor certificate for a tenant that does not exist")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	e := newEnv(t)
	for name, mutate := range map[string]func(*relay.Config){
		"no store": func(c *relay.Config) { c.Store = nil },
		"no url":   func(c *relay.Config) { c.DatabaseURL = "" },
		"no hub":   func(c *relay.Config) { c.Hub = nil },
		"no kek":   func(c *relay.Config) { c.KEK = nil },
		"no log":   func(c *relay.Config) { c.Logger = nil },
		"batch":    func(c *relay.Config) { c.BatchSize = relay.MaxBatchSize + 1 },
	} {
		cfg := e.config()
		mutate(&cfg)
		if _, err := relay.New(cfg); !errors.Is(err, relay.ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", name, err)
		}
	}
}

// checkpoints is a subscription to one tenant's checkpoint subject.
type checkpoints struct{ ch chan *nats.Msg }

func (e *env) subscribeCheckpoints(tenant store.TenantID) *checkpoints {
	e.t.Helper()
	ch := make(chan *nats.Msg, 64)
	sub, err := e.hub.Conn().ChanSubscribe(relay.CheckpointSubjectPrefix+tenant.String(), ch)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = sub.Unsubscribe() })
	return &checkpoints{ch: ch}
}

func (c *checkpoints) next(t *testing.T, within time.Duration) []byte {
	t.Helper()
	select {
	case m := <-c.ch:
		return m.Data
	case <-time.After(within):
		t.Fatalf("no checkpoint within %v", within)
		return nil
	}
}
