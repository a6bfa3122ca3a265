package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/melmastoon/iam/core"
	"github.com/melmastoon/iam/core/hub"
	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/edge"
	"github.com/melmastoon/iam/edge/replica"
)

// Delta scenarios (delta-latency, delta-rate): core in-process with its
// embedded NATS hub and outbox relay, one edge in-process (leaf node +
// SQLite replica), one throwaway PostgreSQL (fsync on). Writes go through
// core's store (one account per transaction, one outbox row each); the
// edge's OnApplied hook timestamps every account it commits. A plain NATS
// subscription on the hub's client listener timestamps every delta as the
// hub receives it from the relay (keyed by Nats-Msg-Id = outbox event id),
// which splits commit → applied into commit → on hub (NOTIFY, relay fetch,
// sign, publish) and on hub → applied (JetStream, leaf, fetch, verify,
// SQLite commit).

// DeltaOptions are the flags of the delta scenarios.
type DeltaOptions struct {
	Rates       []int
	Phase       time.Duration
	OpenWriters int
	N           int
	RateWriters int

	ratesList string
}

func registerDeltaFlags(fs *flag.FlagSet, o *DeltaOptions) {
	fs.StringVar(&o.ratesList, "delta-rates", "", "delta-latency: offered writes/s, one phase each (default 100,1000)")
	fs.DurationVar(&o.Phase, "delta-phase", 0, "delta-latency: duration of each rate phase (default 15s; -quick 3s)")
	fs.IntVar(&o.OpenWriters, "delta-writers", 32, "delta-latency: writer goroutines of the open-loop generator")
	fs.IntVar(&o.N, "delta-n", 0, "delta-rate: accounts to write (default 20000; -quick 2000)")
	fs.IntVar(&o.RateWriters, "delta-rate-writers", 12, "delta-rate: closed-loop writer goroutines")
}

func (o *DeltaOptions) setDefaults(quick bool) error {
	if o.Phase == 0 {
		o.Phase = pick(quick, 3*time.Second, 15*time.Second)
	}
	if o.N == 0 {
		o.N = pick(quick, 2000, 20000)
	}
	var err error
	if o.Rates, err = intList(o.ratesList, quick, "100,1000", "100,1000"); err != nil {
		return fmt.Errorf("-delta-rates: %w", err)
	}
	if o.OpenWriters < 1 || o.OpenWriters > 512 || o.RateWriters < 1 || o.RateWriters > 512 {
		return errors.New("-delta-writers and -delta-rate-writers must be in 1..512")
	}
	if o.N < 1 || o.N > 1_000_000 {
		return errors.New("-delta-n must be in 1..1000000")
	}
	return nil
}

const (
	deltaLeafUser  = "bench-edge"
	deltaHubUser   = "bench-observer"
	deltaCatchUp   = 2 * time.Minute // bound on waiting for the edge to catch up
	deltaSeedGoalP = 5 * time.Second // seed objective: outbox publish lag p95 < 5 s
	deltaAimP99    = 20 * time.Millisecond
)

// deltaRig is core (hub + relay) and one edge in this process.
type deltaRig struct {
	cf       *CoreFixture
	edge     *edge.Edge
	edgeStop context.CancelFunc
	edgeDone chan error
	obs      *nats.Conn
	dir      string
	slug     string
	tenantID string

	mu        sync.Mutex
	committed map[string]time.Time // account id → commit returned to the writer
	began     map[string]time.Time // account id → the writer started its transaction
	onHub     map[string]time.Time // outbox event id → delta seen on the hub
	applied   map[string]time.Time // account id → committed at the edge
	eventOf   map[string]string    // account id → event id
	nApplied  atomic.Int64         // accounts of the tenant applied at the edge
	nOnHub    atomic.Int64         // account deltas seen on the hub
	seenTen   map[string]bool      // tenants whose tenant.created the edge applied
}

// startDeltaRig makes database dbName, starts core with an embedded hub,
// the edge, the hub observer, and the tenant slug; it returns once the edge
// has applied the tenant.
func startDeltaRig(ctx context.Context, env *Env, res *Result, dbName, slug string) (*deltaRig, error) {
	pg, err := env.Postgres(ctx)
	if err != nil {
		return nil, err
	}
	dbURL, err := pg.NewDatabase(ctx, dbName)
	if err != nil {
		return nil, err
	}
	res.Params = append(res.Params, pg.Settings(ctx)...)
	dir, err := os.MkdirTemp("", "iam-bench-deltas-*")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	r := &deltaRig{dir: dir, slug: slug, committed: map[string]time.Time{}, began: map[string]time.Time{}, onHub: map[string]time.Time{},
		applied: map[string]time.Time{}, eventOf: map[string]string{}, seenTen: map[string]bool{}}
	ok := false
	defer func() {
		if !ok {
			r.Close()
		}
	}()
	leafPass, obsPass := randomSecret(), randomSecret()
	raw := make([]byte, keys.KEKSize)
	_, _ = rand.Read(raw)
	kek, err := keys.NewLocalKEK(raw)
	if err != nil {
		return nil, fmt.Errorf("bench: key-encryption key: %w", err)
	}
	quiet := slog.New(slog.DiscardHandler)
	if env.Opts.Verbose {
		quiet = env.Log.With("component", "core")
	}
	cfg := core.Config{DatabaseURL: dbURL, HTTPAddr: "127.0.0.1:0", BootstrapToken: benchToken, KEK: kek, Logger: quiet,
		Hub: &hub.Config{DataDir: filepath.Join(dir, "hub"), ClientListen: "127.0.0.1:-1", LeafListen: "127.0.0.1:-1",
			LeafUsers:   []hub.LeafCredential{{User: deltaLeafUser, Password: leafPass}},
			ClientUsers: []hub.LeafCredential{{User: deltaHubUser, Password: obsPass}}}}
	c, err := core.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("bench: start core: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cf = &CoreFixture{core: c, cancel: cancel, done: make(chan error, 1), URL: "http://" + c.Addr(),
		Client: &http.Client{Timeout: time.Minute}}
	go func() { r.cf.done <- c.Run(runCtx) }()
	anchor, err := c.SystemAnchor(ctx)
	if err != nil {
		return nil, err
	}
	// The observer: every delta as the hub receives it.
	r.obs, err = nats.Connect(c.Hub().ClientURL(), nats.UserInfo(deltaHubUser, obsPass), nats.Name("bench-observer"))
	if err != nil {
		return nil, fmt.Errorf("bench: hub observer: %w", err)
	}
	sub, err := r.obs.Subscribe(hub.StreamSubjects, func(m *nats.Msg) {
		now := time.Now()
		if m.Header.Get("Iam-Tenant") != r.tenantIDLoaded() {
			return
		}
		id := m.Header.Get(nats.MsgIdHdr)
		r.mu.Lock()
		r.onHub[id] = now
		r.mu.Unlock()
		if strings.HasPrefix(m.Subject, "melmastoon.iam.account.") {
			r.nOnHub.Add(1)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("bench: hub observer: %w", err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	if err := r.obs.Flush(); err != nil {
		return nil, err
	}
	elog := quiet
	if env.Opts.Verbose {
		elog = env.Log.With("component", "edge")
	}
	r.edge, err = edge.New(ctx, edge.Config{Name: "bench-edge", DataDir: filepath.Join(dir, "edge"),
		HubLeafURL: c.Hub().LeafURL(), User: deltaLeafUser, Password: leafPass, TrustAnchor: anchor,
		IssuerBase: c.PublicURL(), HTTPAddr: "127.0.0.1:0", Logger: elog, OnApplied: r.onApplied})
	if err != nil {
		return nil, fmt.Errorf("bench: start edge: %w", err)
	}
	ectx, ecancel := context.WithCancel(context.WithoutCancel(ctx))
	r.edgeStop, r.edgeDone = ecancel, make(chan error, 1)
	go func() { r.edgeDone <- r.edge.Run(ectx) }()

	var tenant struct {
		ID string `json:"id"`
	}
	if err := r.cf.Call(ctx, "POST", "/api/v1/tenants", map[string]string{"slug": slug, "name": "Deltas"}, http.StatusCreated, &tenant); err != nil {
		return nil, fmt.Errorf("bench: create tenant: %w", err)
	}
	r.mu.Lock()
	r.tenantID = tenant.ID
	r.mu.Unlock()
	for deadline := time.Now().Add(30 * time.Second); ; {
		r.mu.Lock()
		up := r.seenTen[tenant.ID]
		r.mu.Unlock()
		if up {
			break
		}
		if time.Now().After(deadline) {
			return nil, errors.New("bench: the edge did not apply the tenant within 30 s")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	ok = true
	return r, nil
}

func randomSecret() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return fmt.Sprintf("bench-%x", b)
}

func (r *deltaRig) tenantIDLoaded() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tenantID
}

// onApplied runs on the edge's consumer goroutine after each commit.
func (r *deltaRig) onApplied(a replica.Applied) {
	now := time.Now()
	r.mu.Lock()
	if a.Type == "melmastoon.iam.tenant.created.v1" {
		r.seenTen[a.Tenant] = true
	}
	if a.Tenant != r.tenantID {
		r.mu.Unlock()
		return
	}
	n := 0
	for _, ch := range a.Changes {
		if acc, ok := ch.(replica.Account); ok {
			r.applied[acc.ID] = now
			r.eventOf[acc.ID] = a.ID
			n++
		}
	}
	r.mu.Unlock()
	r.nApplied.Add(int64(n))
}

// write creates one account in its own transaction and notes when the
// commit returned.
func (r *deltaRig) write(ctx context.Context, name string) (time.Time, error) {
	var id string
	t0 := time.Now()
	err := r.cf.core.Store().InTenantSlug(ctx, r.slug, func(tx *store.Tx) error {
		a, err := tx.CreateAccount(ctx, store.Actor{ID: "bootstrap", SourceIP: "127.0.0.1"}, name, name+"@bench.example", "Bench Delta")
		id = a.ID.String()
		return err
	})
	t := time.Now()
	if err != nil {
		return t, err
	}
	r.mu.Lock()
	r.committed[id] = t
	r.began[id] = t0
	r.mu.Unlock()
	return t, nil
}

// waitApplied waits until the edge has applied want accounts of the tenant.
func (r *deltaRig) waitApplied(ctx context.Context, want int64, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for r.nApplied.Load() < want {
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: the edge applied %d of %d accounts within %s", r.nApplied.Load(), want, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// latencies matches the commits of ids with the edge (and hub) times.
type deltaLat struct {
	total, toHub, hubToEdge, fromBegin *Recorder
	early                              int // applied before the writer saw its commit return
	missing                            int
}

func (r *deltaRig) latencies(ids []string) deltaLat {
	out := deltaLat{total: NewRecorder(), toHub: NewRecorder(), hubToEdge: NewRecorder(), fromBegin: NewRecorder()}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		c, okc := r.committed[id]
		a, oka := r.applied[id]
		if !okc || !oka {
			out.missing++
			continue
		}
		d := a.Sub(c)
		if d < 0 {
			out.early++
			d = 0
		}
		out.total.Record(d, nil)
		out.fromBegin.Record(a.Sub(r.began[id]), nil)
		if h, ok := r.onHub[r.eventOf[id]]; ok {
			out.toHub.Record(max(0, h.Sub(c)), nil)
			out.hubToEdge.Record(max(0, a.Sub(h)), nil)
		}
	}
	return out
}

// committedSince lists the accounts committed after t (the phase's writes).
func (r *deltaRig) committedBetween(from, to time.Time) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for id, t := range r.committed {
		if !t.Before(from) && !t.After(to) {
			ids = append(ids, id)
		}
	}
	return ids
}

func (r *deltaRig) Close() {
	if r.edge != nil {
		r.edgeStop()
		if err := <-r.edgeDone; err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "bench: edge stopped:", err)
		}
		_ = r.edge.Close()
	}
	if r.obs != nil {
		r.obs.Close()
	}
	if r.cf != nil {
		_ = r.cf.Close()
	}
	_ = os.RemoveAll(r.dir)
}

// publishLagLes are the outbox_publish_lag_seconds buckets (0.5 ms × 2^k).
var publishLagLes = []string{"0.0005", "0.001", "0.002", "0.004", "0.008", "0.016", "0.032", "0.064", "0.128", "0.256", "0.512", "1.024", "2.048", "4.096", "8.192", "16.384"}

// histQuantile returns the upper bound of the bucket holding quantile q of
// the observations between two scrapes ("> last" when beyond the buckets).
func histQuantile(a, b map[string]float64, q float64) string {
	total := b["+Inf"] - a["+Inf"]
	if total <= 0 {
		return "-"
	}
	for _, le := range publishLagLes {
		if b[le]-a[le] >= q*total {
			v, _ := strconv.ParseFloat(le, 64)
			return "≤ " + fmtDur(time.Duration(v*float64(time.Second)))
		}
	}
	return "> 16.4s"
}

func lagFact(label string, a, b map[string]float64) []Param {
	n := b["+Inf"] - a["+Inf"]
	return []Param{
		{label + " outbox_publish_lag_seconds (relay histogram: row created_at → stream ack)",
			fmt.Sprintf("n=%.0f, p50 %s, p95 %s, p99 %s (bucket bounds; seed objective p95 < %s)", n,
				histQuantile(a, b, 0.50), histQuantile(a, b, 0.95), histQuantile(a, b, 0.99), fmtDur(deltaSeedGoalP))},
		{label + " publish lag buckets", histogramDelta(a, b, publishLagLes[:10])},
	}
}

func (r *deltaRig) publishLag(ctx context.Context) map[string]float64 {
	m, err := histogramCounts(ctx, r.cf.URL, "outbox_publish_lag_seconds")
	if err != nil {
		return map[string]float64{}
	}
	return m
}

func deltaRigParams(res *Result) {
	res.Params = append(res.Params,
		Param{"topology", "core in-process (store pool 16, embedded NATS hub, outbox relay: LISTEN/NOTIFY + 1 s poll, batch 256) → leaf link (loopback) → edge in-process (SQLite replica, pull consumer Fetch(256, 1 s wait))"},
		Param{"write", "store.InTenantSlug + Tx.CreateAccount: 1 tx = tenant lookup, INSERT account, audit INSERT, outbox INSERT (+NOTIFY), COMMIT"},
		Param{"commit time", "time.Now() right after the transaction returns to the writer goroutine"},
		Param{"applied time", "time.Now() in edge.Config.OnApplied (after the SQLite commit), matched by the account id in Applied.Changes"},
		Param{"on-hub time", "a plain NATS subscription to melmastoon.iam.> on the hub's client listener, matched by Nats-Msg-Id = outbox event id = Applied.ID"},
	)
}

// runDeltaLatency: open loop at each rate, commit → applied latency.
func runDeltaLatency(ctx context.Context, env *Env, res *Result) error {
	o := env.Opts.Delta
	rig, err := startDeltaRig(ctx, env, res, "bench_delta_latency", "bench-delta-latency")
	if err != nil {
		return err
	}
	defer rig.Close()
	deltaRigParams(res)
	res.Params = append(res.Params,
		Param{"load", fmt.Sprintf("open loop, offered rates %v writes/s, %s each; write i due at phase start + i/rate, taken by the first free of %d writer goroutines", o.Rates, o.Phase, o.OpenWriters)},
		Param{"latency", "commit returned at core → account committed at the edge; every write of the phase (waited for until applied)"},
	)
	// Warm-up: 200 writes at 8 at a time, all applied.
	warm := runClosedLoop(ctx, 8, time.Minute, 200, func(ctx context.Context, w, seq int) error {
		_, err := rig.write(ctx, fmt.Sprintf("warm-%d-%d", w, seq))
		return err
	})
	if s := warm.Summary(); s.Errors > 0 {
		return fmt.Errorf("bench: warm-up: %d errors, e.g. %v", s.Errors, s.ErrSample)
	}
	if err := rig.waitApplied(ctx, int64(warm.Summary().Count), deltaCatchUp); err != nil {
		return err
	}
	for _, rate := range o.Rates {
		if err := deltaPhase(ctx, env, res, rig, rate); err != nil {
			return err
		}
	}
	res.Notes = append(res.Notes,
		fmt.Sprintf("goals: seed objective outbox publish lag p95 < %s (relay histogram above); aim commit → applied p99 < %s on loopback", fmtDur(deltaSeedGoalP), fmtDur(deltaAimP99)),
		"LIMITS.md floors: NATS hub → leaf p99 ~0.2 ms; Postgres commit ~0.5 ms; SQLite small tx ~69 µs (NORMAL) / 259 µs (FULL); Ed25519 sign 18 µs, COSE verify 50 µs",
		"the commit instant lies between 'tx begin' and the writer seeing the commit return: commit → applied is measured from the latter (a lower bound; a sample where the edge applied before the writer goroutine ran again counts as 0, see 'applied-before-writer-saw-commit'), tx begin → applied is the upper bound",
		"'commit → on hub' is NOTIFY delivery + relay wake-up + iam_relay_pending query + sign + JetStream publish (the hub sees the message as the relay publishes it); 'on hub → applied' is JetStream store + leaf link + edge fetch + verify + SQLite commit",
	)
	return nil
}

func deltaPhase(ctx context.Context, env *Env, res *Result, rig *deltaRig, rate int) error {
	o := env.Opts.Delta
	total := int(float64(rate) * o.Phase.Seconds())
	env.Log.InfoContext(ctx, "delta-latency: phase", "rate", rate, "writes", total)
	lag0 := rig.publishLag(ctx)
	pool0 := rig.poolStat()
	applied0 := rig.nApplied.Load()
	writeRec, genLag := NewRecorder(), NewRecorder()
	var next atomic.Int64
	var wg sync.WaitGroup
	cpu0 := takeCPU()
	start := time.Now().Add(10 * time.Millisecond)
	var lastDone atomic.Int64
	for w := range o.OpenWriters {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				due := start.Add(time.Duration(float64(i) * float64(time.Second) / float64(rate)))
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
				genLag.Record(max(0, time.Since(due)), nil)
				done, err := rig.write(ctx, fmt.Sprintf("r%d-%d-%d", rate, w, i))
				writeRec.Record(done.Sub(due), err)
				for {
					old := lastDone.Load()
					if done.UnixNano() <= old || lastDone.CompareAndSwap(old, done.UnixNano()) {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	end := time.Unix(0, lastDone.Load())
	writeRec.Start(start)
	writeRec.Stop(end)
	ws := writeRec.Summary()
	behind := int64(ws.Count) - (rig.nApplied.Load() - applied0)
	if err := rig.waitApplied(ctx, applied0+int64(ws.Count), deltaCatchUp); err != nil {
		return err
	}
	cpu1 := takeCPU()
	lag1 := rig.publishLag(ctx)
	lat := rig.latencies(rig.committedBetween(start, end))
	lat.total.Start(start)
	lat.total.Stop(end)
	label := fmt.Sprintf("@%d/s", rate)
	res.Measurements = append(res.Measurements,
		Measurement{Name: "commit → applied at edge " + label, Summary: lat.total.Summary(),
			Goals: []Goal{{On: "p99", Limit: deltaAimP99}}},
		Measurement{Name: "  commit → on hub " + label, Summary: lat.toHub.Summary()},
		Measurement{Name: "  on hub → applied " + label, Summary: lat.hubToEdge.Summary()},
		Measurement{Name: "tx begin → applied (upper bound) " + label, Summary: lat.fromBegin.Summary()},
		Measurement{Name: "write (intended → commit) " + label, Summary: ws},
		Measurement{Name: "generator lag " + label, Summary: genLag.Summary()},
	)
	achieved := float64(ws.Count) / end.Sub(start).Seconds()
	verdict := "sustained"
	if achieved < 0.97*float64(rate) {
		verdict = "NOT sustained: the database/core could not keep up with the offered rate"
	}
	res.Facts = append(res.Facts,
		Param{label + " offered / achieved write rate", fmt.Sprintf("%d/s offered, %.0f/s achieved over %s (%d writes, %d errors): %s",
			rate, achieved, end.Sub(start).Round(time.Millisecond), ws.Count, ws.Errors, verdict)},
		Param{label + " edge behind when the last write committed", fmt.Sprintf("%d accounts", behind)},
		Param{label + " matched / applied-before-writer-saw-commit / unmatched", fmt.Sprintf("%d / %d / %d", lat.total.Summary().Count, lat.early, lat.missing)},
		cpuFact(label+" CPU", cpu0, cpu1),
	)
	res.Facts = append(res.Facts, lagFact(label, lag0, lag1)...)
	res.Facts = append(res.Facts, rig.poolFact(label, pool0), rig.burstFact(label, rig.committedBetween(start, end)))
	return nil
}

// runDeltaRate: N writes as fast as possible, first commit → last applied.
func runDeltaRate(ctx context.Context, env *Env, res *Result) error {
	o := env.Opts.Delta
	rig, err := startDeltaRig(ctx, env, res, "bench_delta_rate", "bench-delta-rate")
	if err != nil {
		return err
	}
	defer rig.Close()
	deltaRigParams(res)
	res.Params = append(res.Params,
		Param{"load", fmt.Sprintf("%d account creates, %d closed-loop writer goroutines (each write its own transaction), after a warm-up of 200", o.N, o.RateWriters)},
	)
	warm := runClosedLoop(ctx, 8, time.Minute, 200, func(ctx context.Context, w, seq int) error {
		_, err := rig.write(ctx, fmt.Sprintf("warm-%d-%d", w, seq))
		return err
	})
	if s := warm.Summary(); s.Errors > 0 {
		return fmt.Errorf("bench: warm-up: %d errors, e.g. %v", s.Errors, s.ErrSample)
	}
	if err := rig.waitApplied(ctx, int64(warm.Summary().Count), deltaCatchUp); err != nil {
		return err
	}
	base := rig.nApplied.Load()
	baseHub := rig.nOnHub.Load()
	lag0 := rig.publishLag(ctx)
	pool0 := rig.poolStat()
	seq0 := rig.edge.Replica().StreamCursor()

	// Edge progress sampled every 100 ms: the edge's own apply rate.
	type sample struct {
		at      time.Time
		applied int64
		onHub   int64
	}
	var samples []sample
	sampStop, sampDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampDone)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			samples = append(samples, sample{time.Now(), rig.nApplied.Load() - base, rig.nOnHub.Load() - baseHub})
			select {
			case <-sampStop:
				return
			case <-t.C:
			}
		}
	}()
	cpu0 := takeCPU()
	var firstCommit, lastCommit atomic.Int64
	rec := runClosedLoop(ctx, o.RateWriters, time.Hour, o.N, func(ctx context.Context, w, seq int) error {
		t, err := rig.write(ctx, fmt.Sprintf("n-%d-%d", w, seq))
		if err == nil {
			firstCommit.CompareAndSwap(0, t.UnixNano())
			for {
				old := lastCommit.Load()
				if t.UnixNano() <= old || lastCommit.CompareAndSwap(old, t.UnixNano()) {
					break
				}
			}
		}
		return err
	})
	cpuWrite := takeCPU()
	ws := rec.Summary()
	appliedAtEnd := rig.nApplied.Load() - base
	onHubAtEnd := rig.nOnHub.Load() - baseHub
	hubHead, _ := rig.cf.core.Hub().LastSequence(ctx)
	cursorAtEnd := rig.edge.Replica().StreamCursor()
	if err := rig.waitApplied(ctx, base+int64(ws.Count), deltaCatchUp); err != nil {
		return err
	}
	cpu1 := takeCPU()
	close(sampStop)
	<-sampDone
	lag1 := rig.publishLag(ctx)
	// Last applied time of the run's accounts.
	first := time.Unix(0, firstCommit.Load())
	last := time.Unix(0, lastCommit.Load())
	ids := rig.committedBetween(first, last)
	var lastApplied time.Time
	rig.mu.Lock()
	for _, id := range ids {
		if a := rig.applied[id]; a.After(lastApplied) {
			lastApplied = a
		}
	}
	rig.mu.Unlock()
	lat := rig.latencies(ids)

	endToEnd := lastApplied.Sub(first)
	writeSpan := last.Sub(first)
	res.Measurements = append(res.Measurements,
		Measurement{Name: "write tx (closed loop)", Summary: ws},
		Measurement{Name: "commit → applied at edge", Summary: lat.total.Summary()},
		Measurement{Name: "  commit → on hub", Summary: lat.toHub.Summary()},
		Measurement{Name: "  on hub → applied", Summary: lat.hubToEdge.Summary()},
		Measurement{Name: "tx begin → applied at edge", Summary: lat.fromBegin.Summary()},
	)
	res.Facts = append(res.Facts,
		Param{"write rate at core", fmt.Sprintf("%.0f/s (%d commits in %s, first → last commit; %d errors)", float64(ws.Count)/writeSpan.Seconds(), ws.Count, writeSpan.Round(time.Millisecond), ws.Errors)},
		Param{"end-to-end delta rate at the edge", fmt.Sprintf("%.0f deltas/s (%d accounts, first commit → last applied %s)", float64(ws.Count)/endToEnd.Seconds(), ws.Count, endToEnd.Round(time.Millisecond))},
		Param{"edge lag when the write phase ended", fmt.Sprintf("%d of %d accounts not yet applied (%d not yet even on the hub); stream cursor %d vs hub head %d (%d behind); caught up %s after the last commit",
			int64(ws.Count)-appliedAtEnd, ws.Count, int64(ws.Count)-onHubAtEnd, cursorAtEnd, hubHead, hubHead-cursorAtEnd, lastApplied.Sub(last).Round(time.Millisecond))},
		Param{"stream messages in the run", fmt.Sprintf("%d (edge cursor %d → %d)", rig.edge.Replica().StreamCursor()-seq0, seq0, rig.edge.Replica().StreamCursor())},
		Param{"matched / early / unmatched", fmt.Sprintf("%d / %d / %d", lat.total.Summary().Count, lat.early, lat.missing)},
		Param{"peak rates (1 s windows)", peakRates(samples, func(s sample) (time.Time, int64, int64) { return s.at, s.applied, s.onHub })},
		cpuFact("CPU during the write phase", cpu0, cpuWrite),
		cpuFact("CPU during the catch-up after it", cpuWrite, cpu1),
	)
	res.Facts = append(res.Facts, lagFact("run", lag0, lag1)...)
	res.Facts = append(res.Facts, rig.poolFact("run", pool0), rig.burstFact("run", ids))
	res.Notes = append(res.Notes,
		"the edge applies one delta per SQLite transaction (LIMITS.md: ~69 µs NORMAL / ~259 µs FULL per small tx, plus a COSE verify ~50 µs), and the relay publishes one JetStream message at a time with an ack round trip; core's writes compete with both for the same 2 cores",
	)
	return nil
}

// peakRates reports the best 1 s window of applied-at-edge and on-hub counts.
func peakRates[S any](samples []S, get func(S) (time.Time, int64, int64)) string {
	var bestA, bestH float64
	for i := range samples {
		ti, ai, hi := get(samples[i])
		for j := i + 1; j < len(samples); j++ {
			tj, aj, hj := get(samples[j])
			if tj.Sub(ti) >= time.Second {
				sec := tj.Sub(ti).Seconds()
				bestA = max(bestA, float64(aj-ai)/sec)
				bestH = max(bestH, float64(hj-hi)/sec)
				break
			}
		}
	}
	return fmt.Sprintf("applied at edge %.0f/s, published to hub %.0f/s", bestA, bestH)
}

// poolStat snapshots core's store pool, which the relay's fetch, mark and
// pending-count queries share with the writers.
func (r *deltaRig) poolStat() poolSnap {
	st := r.cf.core.Store().Pool().Stat()
	return poolSnap{acquires: st.AcquireCount(), waited: st.EmptyAcquireCount(), acquireDur: st.AcquireDuration(), wait: st.EmptyAcquireWaitTime()}
}

func (r *deltaRig) poolFact(label string, a poolSnap) Param {
	p := poolFact(a, r.poolStat())
	p.Key = label + " " + p.Key + " (writers AND relay queries)"
	return p
}

// burstFact describes how the deltas of ids reached the hub: the relay
// publishes in passes, so arrivals come in bursts; a gap of more than 2 ms
// starts a new burst.
func (r *deltaRig) burstFact(label string, ids []string) Param {
	r.mu.Lock()
	var ts []time.Time
	for _, id := range ids {
		if h, ok := r.onHub[r.eventOf[id]]; ok {
			ts = append(ts, h)
		}
	}
	r.mu.Unlock()
	if len(ts) < 2 {
		return Param{label + " relay bursts on hub", "-"}
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	starts := []time.Time{ts[0]}
	for i := 1; i < len(ts); i++ {
		if ts[i].Sub(ts[i-1]) > 2*time.Millisecond {
			starts = append(starts, ts[i])
		}
	}
	var gaps []time.Duration
	for i := 1; i < len(starts); i++ {
		gaps = append(gaps, starts[i].Sub(starts[i-1]))
	}
	slices.Sort(gaps)
	return Param{label + " relay bursts on hub (gap > 2 ms starts one)", fmt.Sprintf("%d bursts, %.1f deltas per burst on average; burst-to-burst interval p50 %s, p99 %s, max %s",
		len(starts), float64(len(ts))/float64(len(starts)), fmtDur(Percentile(gaps, 50)), fmtDur(Percentile(gaps, 99)), fmtDur(Percentile(gaps, 100)))}
}
