package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/melmastoon/iam/edge/decide"
	"github.com/melmastoon/iam/edge/edgeapi"
	"github.com/melmastoon/iam/edge/replica"
)

// ---------------------------------------------------------------- requests

// checkReqs returns the prepared POST /api/v1/check requests by account
// (tenant id + account id), built once.
func (r *decideRig) checkReqs() []decisionReq {
	r.reqOnce.Do(r.buildReqs)
	return r.reqCheck
}

func (r *decideRig) tokenCheckReqs() []decisionReq {
	r.reqOnce.Do(r.buildReqs)
	return r.reqTokenCheck
}

func (r *decideRig) verifyReqs() []decisionReq {
	r.reqOnce.Do(r.buildReqs)
	return r.reqVerify
}

func (r *decideRig) buildReqs() {
	expect := func(q checkQ) int8 {
		if q.expectAllowed {
			return 1
		}
		return 0
	}
	for _, q := range r.checks {
		body := mustJSON(checkBody{Account: q.account, Tenant: r.tenantID, Permission: q.perm, Organization: q.org})
		r.reqCheck = append(r.reqCheck, decisionReq{req: newPreReq(r.edgeAddr, "/api/v1/check", body), expect: expect(q)})
	}
	for _, q := range r.tokenChecks {
		body := mustJSON(checkBody{Token: r.tokens[q.token], Permission: q.perm, Organization: q.org})
		r.reqTokenCheck = append(r.reqTokenCheck, decisionReq{req: newPreReq(r.edgeAddr, "/api/v1/check", body), expect: expect(q)})
	}
	for _, t := range r.verifies {
		body := mustJSON(map[string]string{"token": r.tokens[t]})
		r.reqVerify = append(r.reqVerify, decisionReq{req: newPreReq(r.edgeAddr, "/api/v1/verify", body), verify: true})
	}
}

// histSumCount reads the sum and count of one histogram series (the one
// whose labels include all of want) from a registry.
func histSumCount(g interface {
	Gather() ([]*dto.MetricFamily, error)
}, name string, want map[string]string) (float64, uint64) {
	mfs, err := g.Gather()
	if err != nil {
		return 0, 0
	}
	var sum float64
	var count uint64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue next
				}
			}
			if h := m.GetHistogram(); h != nil {
				sum += h.GetSampleSum()
				count += h.GetSampleCount()
			}
		}
	}
	return sum, count
}

// serverTime is the edge's own view of a route: handler time (from
// http_request_duration_seconds, InstrumentRoute: handler start → return).
type serverTime struct {
	sum   float64
	count uint64
}

func (r *decideRig) serverTime(route string) serverTime {
	s, c := histSumCount(r.edge.Registry(), "http_request_duration_seconds", map[string]string{"route": route})
	return serverTime{s, c}
}

func serverMean(a, b serverTime) string {
	if b.count <= a.count {
		return "-"
	}
	return fmtDur(time.Duration((b.sum - a.sum) / float64(b.count-a.count) * float64(time.Second)))
}

// ---------------------------------------------------------------- decide-inproc

// inprocOp is one in-process operation; fn returns false on an error.
type inprocOp struct {
	name string
	par  int
	fn   func(i int) bool
	goal bool // held against the 1 µs aim
}

type loopResult struct {
	n              int64
	failed         int64
	elapsed        time.Duration
	mallocs, bytes uint64
	nsPerOp        float64 // wall time / ops (aggregate over the goroutines)
	opsPerS        float64
	medianBatch    float64 // median over batches of 256 of a goroutine's ns per op
	cpuPerOp       float64 // thread CPU time per op (getrusage RUSAGE_THREAD)
}

// rusageThread is RUSAGE_THREAD (Linux): the calling thread's CPU time.
const rusageThread = 1

func threadCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(rusageThread, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// timeLoop runs fn on par goroutines (each locked to its thread) for about
// d, in batches of 256 timed one by one, and reports wall ns/op, the median
// batch's ns/op (robust to preemption by other processes on a shared
// machine), thread CPU per op, and allocations and bytes per op from
// runtime.MemStats (which also count the few allocations of the edge's
// background goroutines).
func timeLoop(par int, d time.Duration, fn func(i int) bool) loopResult {
	for i := range 256 {
		fn(i)
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	deadline := start.Add(d)
	var total, failed, cpu atomic.Int64
	var mu sync.Mutex
	var batches []float64
	var wg sync.WaitGroup
	for g := range par {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			c0 := threadCPU()
			i, bad := g*7_919_993, int64(0)
			n := int64(0)
			var mine []float64
			for {
				b0 := time.Now()
				for range 256 {
					if !fn(i) {
						bad++
					}
					i++
				}
				b1 := time.Now()
				mine = append(mine, float64(b1.Sub(b0).Nanoseconds())/256)
				n += 256
				if !b1.Before(deadline) {
					break
				}
			}
			cpu.Add(int64(threadCPU() - c0))
			total.Add(n)
			failed.Add(bad)
			mu.Lock()
			batches = append(batches, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&m1)
	n := total.Load()
	slices.Sort(batches)
	return loopResult{n: n, failed: failed.Load(), elapsed: elapsed,
		mallocs: (m1.Mallocs - m0.Mallocs) / uint64(n), bytes: (m1.TotalAlloc - m0.TotalAlloc) / uint64(n),
		nsPerOp: float64(elapsed.Nanoseconds()) / float64(n), opsPerS: float64(n) / elapsed.Seconds(),
		medianBatch: batches[len(batches)/2], cpuPerOp: float64(cpu.Load()) / float64(n)}
}

// timeEach times each call of fn on one goroutine for about d (at most
// 300,000 samples).
func timeEach(d time.Duration, fn func(i int) bool) *Recorder {
	rec := NewRecorder()
	deadline := time.Now().Add(d)
	rec.Start(time.Now())
	for i := 0; i < 300_000 && (i&255 != 0 || time.Now().Before(deadline)); i++ {
		t0 := time.Now()
		ok := fn(i)
		el := time.Since(t0)
		var err error
		if !ok {
			err = errOpFailed
		}
		rec.Record(el, err)
	}
	rec.Stop(time.Now())
	return rec
}

var errOpFailed = fmt.Errorf("operation failed")

func runDecideInproc(ctx context.Context, env *Env, res *Result) error {
	r, err := decideFixture(ctx, env, res)
	if err != nil {
		return err
	}
	o := env.Opts.Decide
	d := r.edge.Decider()
	svc := r.edge.Service()
	for _, t := range r.tokens { // every token verified once: in the edge's cache
		if _, err := d.VerifyToken(t); err != nil {
			return fmt.Errorf("bench: token refused by the edge: %w", err)
		}
	}
	t0 := time.Now()
	nc, err := decide.New(ctx, decide.Config{Replica: r.edge.Replica(), IssuerBase: r.cf.core.PublicURL(), CacheSize: -1})
	if err != nil {
		return err
	}
	ncLoad := time.Since(t0)
	par := runtime.GOMAXPROCS(0)
	checks, tokens, tchecks := r.checks, r.tokens, r.tokenChecks
	mask := len(checks) - 1 // a power of two
	tid := r.tenantID
	tok0 := tokens[0]
	var allowed int
	for _, q := range checks {
		if d.Check(tid, q.account, q.perm, q.org).Allowed {
			allowed++
		}
	}
	check := func(i int) bool {
		q := &checks[i&mask]
		d.Check(tid, q.account, q.perm, q.org)
		return true
	}
	verifyCached := func(int) bool { _, err := d.VerifyToken(tok0); return err == nil }
	q0 := tchecks[0]
	checkTokSame := func(int) bool { _, _, err := d.CheckToken(tok0, q0.perm, q0.org); return err == nil }
	checkTokRot := func(i int) bool {
		q := &tchecks[i&mask]
		_, _, err := d.CheckToken(tokens[q.token], q.perm, q.org)
		return err == nil
	}
	verifyUncached := func(i int) bool { _, err := nc.VerifyToken(tokens[i%len(tokens)]); return err == nil }
	checkTokUncached := func(i int) bool {
		q := &tchecks[i&mask]
		_, _, err := nc.CheckToken(tokens[q.token], q.perm, q.org)
		return err == nil
	}
	svcCheck := func(i int) bool {
		q := &checks[i&mask]
		_, err := svc.Check(ctx, edgeapi.CheckRequest{Account: q.account, Tenant: tid, Permission: q.perm, Organization: q.org})
		return err == nil
	}
	svcVerify := func(int) bool { _, err := svc.Verify(ctx, edgeapi.VerifyRequest{Token: tok0}); return err == nil }
	pn := fmt.Sprintf(" ×%d goroutines", par)
	ops := []inprocOp{
		{name: "Decider.Check (by account)", par: 1, fn: check, goal: true},
		{name: "Decider.Check (by account)" + pn, par: par, fn: check},
		{name: "Decider.VerifyToken, cached (same token)", par: 1, fn: verifyCached},
		{name: "Decider.VerifyToken, cached (same token)" + pn, par: par, fn: verifyCached},
		{name: "Decider.CheckToken, cached (same token)", par: 1, fn: checkTokSame, goal: true},
		{name: fmt.Sprintf("Decider.CheckToken, cached (%d tokens rotating)", len(tokens)), par: 1, fn: checkTokRot},
		{name: fmt.Sprintf("Decider.CheckToken, cached (%d tokens rotating)", len(tokens)) + pn, par: par, fn: checkTokRot},
		{name: "Decider.VerifyToken, UNCACHED (cache off: full verify)", par: 1, fn: verifyUncached},
		{name: "Decider.VerifyToken, UNCACHED (cache off: full verify)" + pn, par: par, fn: verifyUncached},
		{name: "Decider.CheckToken, UNCACHED (cache off)", par: 1, fn: checkTokUncached},
		{name: "edgeapi.Service.Check (by account)", par: 1, fn: svcCheck},
		{name: "edgeapi.Service.Verify, cached", par: 1, fn: svcVerify},
	}
	res.Params = append(res.Params,
		Param{"operations", fmt.Sprintf("in-process calls on the edge's decide.Decider (token cache on, every token cached first) and on a second Decider over the same replica with the cache OFF (CacheSize -1: every VerifyToken parses and checks the EdDSA signature; loaded in %s); checks cycle through %d prepared (account, permission, organization) triples, %.0f%% of them allowed",
			ncLoad.Round(time.Millisecond), len(checks), 100*float64(allowed)/float64(len(checks)))},
		Param{"timing", fmt.Sprintf("per operation: a loop of %s on goroutines locked to their threads, in batches of 256 each timed: 'wall' = elapsed / ops (with N goroutines: elapsed / all ops, and ops/s is the aggregate), 'median batch' = the median batch's time / 256 (robust to preemption by other processes), 'CPU' = the threads' CPU time (getrusage RUSAGE_THREAD) / ops; allocations from runtime.MemStats; then %s with each call timed on its own (the latency rows; they include ~%s of time.Now overhead per sample)",
			o.InprocTime, o.InprocTime/2, fmtDur(timerOverhead()))},
	)
	stop := cpuProfile(env, res)
	var cont contention
	for _, op := range ops {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c0 := takeCPU()
		lr := timeLoop(op.par, o.InprocTime, op.fn)
		cont.add(op.name, c0, takeCPU())
		v := fmt.Sprintf("%.0f ns/op wall (median batch %.0f ns/op, CPU %.0f ns/op), %d allocs/op, %d B/op, %.0f ops/s (%d ops",
			lr.nsPerOp, lr.medianBatch, lr.cpuPerOp, lr.mallocs, lr.bytes, lr.opsPerS, lr.n)
		if lr.failed > 0 {
			v += fmt.Sprintf(", %d FAILED", lr.failed)
		}
		v += ")"
		if op.goal {
			verdict := "ok"
			if time.Duration(lr.medianBatch) >= decideCheckAim {
				verdict = "MISSED"
			}
			v += fmt.Sprintf("; aim < %s per check (median batch): %s", fmtDur(decideCheckAim), verdict)
		}
		res.Facts = append(res.Facts, Param{op.name, v})
		if op.par == 1 {
			m := Measurement{Name: op.name, Summary: timeEach(o.InprocTime/2, op.fn).Summary()}
			if op.goal {
				m.Goals = []Goal{{On: "p50", Limit: decideCheckAim}}
			}
			res.Measurements = append(res.Measurements, m)
		}
	}
	stop()
	cont.note(res, len(ops))
	hits, misses := d.CacheStats()
	res.Facts = append(res.Facts, Param{"edge decider token cache", fmt.Sprintf("%d tokens cached; %d hits, %d misses since the edge started", d.CacheLen(), hits, misses)})
	res.Notes = append(res.Notes,
		"LIMITS.md: Ed25519 verify ~41 µs, EdDSA JWT verify incl. parsing ~51 µs on this kind of machine: the UNCACHED rows are that floor plus the revocation and account checks; a cached verify is a SHA-256 of the token and a sharded map lookup.",
		"Decider.Check is authz's lock-free snapshot lookup (tenant, account, organization walk to the root, role bitsets); edgeapi.Service adds request validation, tenant resolution, decision metrics (two time.Now and a histogram) and the response struct.",
	)
	runtime.KeepAlive(nc)
	return nil
}

// timerOverhead is the cost of the time.Now pair around each timed call.
func timerOverhead() time.Duration {
	const n = 100_000
	start := time.Now()
	var sink time.Duration
	for range n {
		t0 := time.Now()
		sink += time.Since(t0)
	}
	_ = sink
	return time.Since(start) / n
}

// ---------------------------------------------------------------- decide-http-closed

type httpOp struct {
	name, route string
	reqs        []decisionReq
}

func (r *decideRig) httpOps() []httpOp {
	return []httpOp{
		{"POST /api/v1/verify (cached tokens)", "/api/v1/verify", r.verifyReqs()},
		{"POST /api/v1/check (by account)", "/api/v1/check", r.checkReqs()},
		{"POST /api/v1/check (by token, cached)", "/api/v1/check", r.tokenCheckReqs()},
	}
}

func runDecideHTTPClosed(ctx context.Context, env *Env, res *Result) error {
	r, err := decideFixture(ctx, env, res)
	if err != nil {
		return err
	}
	o := env.Opts.Decide
	ops := r.httpOps()
	res.Params = append(res.Params,
		Param{"load", fmt.Sprintf("closed loop: N workers, each with its OWN keep-alive TCP connection (N = %v), sending back to back for %s per operation and N; connections opened and used once before the window; client %q", o.Conns, o.Duration, o.Client)},
		Param{"requests", fmt.Sprintf("verify: %d distinct tokens (all cached at the edge after their first use); check by account: %d prepared (tenant, account, permission, organization), ~half built from a binding (allowed), half random (mostly denied); check by token: the same mix with the %d tokens", len(r.tokens), len(r.checks), len(r.tokens))},
		Param{"server time", "mean of the edge's own http_request_duration_seconds (InstrumentRoute: handler start → return, excludes reading the request line and headers, the TCP stack and scheduling) over the same window"},
	)
	// Warm-up: 1 s of checks at 16 connections.
	ds, err := openDoers(ctx, o.Client, r.edgeAddr, 16, &ops[1].reqs[0])
	if err != nil {
		return err
	}
	httpClosedLoop(ctx, ds, ops[1].reqs, time.Second, &decisionTally{})
	closeDoers(ds)

	stop := cpuProfile(env, res)
	var cont contention
	best := map[string]float64{}
	for _, op := range ops {
		for _, c := range o.Conns {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			ds, err := openDoers(ctx, o.Client, r.edgeAddr, c, &op.reqs[0])
			if err != nil {
				return err
			}
			dials0 := totalDials(ds)
			tally := &decisionTally{}
			st0 := r.serverTime(op.route)
			cpu0, gc0 := takeCPU(), takeGC()
			rec := httpClosedLoop(ctx, ds, op.reqs, o.Duration, tally)
			cpu1, gc1 := takeCPU(), takeGC()
			st1 := r.serverTime(op.route)
			redials := totalDials(ds) - dials0
			closeDoers(ds)
			s := rec.Summary()
			name := fmt.Sprintf("%s ×%d", op.name, c)
			m := Measurement{Name: name, Summary: s}
			if c >= 100 {
				m.Goals = []Goal{{On: "p95", Limit: decideUsersP95}}
			}
			res.Measurements = append(res.Measurements, m)
			best[op.name] = max(best[op.name], s.Throughput)
			v := fmt.Sprintf("%.0f/s, %d errors; edge handler mean %s vs client-observed mean %s", s.Throughput, s.Errors, serverMean(st0, st1), fmtDur(s.Mean))
			if !strings.Contains(op.name, "verify") {
				v += "; " + tally.String()
			}
			if redials > 0 {
				v += fmt.Sprintf("; %d reconnects", redials)
			}
			res.Facts = append(res.Facts, Param{name, v}, cpuFact(name+" CPU", cpu0, cpu1), gcFact(name+" GC", gc0, gc1))
			cont.add(name, cpu0, cpu1)
		}
	}
	stop()
	cont.note(res, len(ops)*len(o.Conns))
	for _, op := range ops {
		v := fmt.Sprintf("%.0f/s", best[op.name])
		if strings.Contains(op.name, "check") {
			verdict := "ok"
			if best[op.name] < decideRateAim {
				verdict = "BELOW AIM"
			}
			v += fmt.Sprintf(" (aim ≥ %d checks/s: %s)", decideRateAim, verdict)
		}
		res.Facts = append(res.Facts, Param{"highest sustained rate: " + op.name, v})
	}
	res.Notes = append(res.Notes,
		"Goal column: the operations review's p95 < 50 ms for 100 concurrent users, on the ×100 rows. The aim ≥ 20,000 checks/s is in the facts (best over the connection counts).",
		"Client and edge run in this one process on the same 2 cores: every request costs the client's write/read syscalls and the server's (net/http: a goroutine per connection, request parsing, JSON decode and encode, route metrics), so the rate is bounded by the machine, not by Decider.Check (see decide-inproc); compare the edge handler mean with the client-observed mean to see the share of the HTTP path and of queueing.",
	)
	return nil
}

// ---------------------------------------------------------------- decide-http-open

func runDecideHTTPOpen(ctx context.Context, env *Env, res *Result) error {
	r, err := decideFixture(ctx, env, res)
	if err != nil {
		return err
	}
	o := env.Opts.Decide
	reqs := r.checkReqs()
	n := int(float64(o.OpenRate) * o.OpenDuration.Seconds())
	res.Params = append(res.Params,
		Param{"load", fmt.Sprintf("open loop: %d checks/s offered (POST /api/v1/check by account) for %s (%d requests) per connection count %v; request i is due at start + i/rate and goes out on connection i mod N as soon as it is due and that connection's previous answer is in (HTTP/1.1, one request in flight per connection); client %q", o.OpenRate, o.OpenDuration, n, o.OpenConns, o.Client)},
		Param{"latency", "from the INTENDED send time to the parsed answer (coordinated-omission free); 'service' rows from the actual send; 'generator lag' = actual send − due time (timer wake-up and a busy connection)"},
	)
	if o.OpenNoGC {
		res.Params = append(res.Params, Param{"DIAGNOSTIC -decide-open-nogc", "the Go GC was DISABLED during each window (after a forced GC): these figures show the latency without GC cycles, not what an edge delivers"})
	}
	stop := cpuProfile(env, res)
	var cont contention
	for _, c := range o.OpenConns {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ds, err := openDoers(ctx, o.Client, r.edgeAddr, c, &reqs[0])
		if err != nil {
			return err
		}
		dials0 := totalDials(ds)
		tally := &decisionTally{}
		st0 := r.serverTime("/api/v1/check")
		cpu0, gc0 := takeCPU(), takeGC()
		restoreGC := func() {}
		if o.OpenNoGC {
			runtime.GC()
			old := debug.SetGCPercent(-1)
			gc0 = takeGC()
			restoreGC = func() { debug.SetGCPercent(old) }
		}
		lr := httpOpenLoop(ctx, ds, reqs, float64(o.OpenRate), n, tally)
		restoreGC()
		cpu1, gc1 := takeCPU(), takeGC()
		st1 := r.serverTime("/api/v1/check")
		redials := totalDials(ds) - dials0
		closeDoers(ds)
		s := lr.fromIntended.Summary()
		label := fmt.Sprintf("@%d/s over %d conns", o.OpenRate, c)
		goals := []Goal{{On: "p99", Limit: decideOpenP99}}
		if c == 100 {
			goals = append(goals, Goal{On: "p95", Limit: decideUsersP95})
		}
		res.Measurements = append(res.Measurements,
			Measurement{Name: "check " + label + ", from intended send", Summary: s, Goals: goals},
			Measurement{Name: "  service time " + label, Summary: lr.service.Summary()},
			Measurement{Name: "  generator lag " + label, Summary: lr.genLag.Summary()},
		)
		achieved := s.Throughput
		verdict := "sustained"
		if achieved < 0.97*float64(o.OpenRate) {
			verdict = "NOT sustained"
		}
		v := fmt.Sprintf("%d sent, %d answered, %d errors; %.0f/s achieved (%s); %s; edge handler mean %s", lr.sent, s.Count, s.Errors, achieved, verdict, tally.String(), serverMean(st0, st1))
		if redials > 0 {
			v += fmt.Sprintf("; %d reconnects", redials)
		}
		res.Facts = append(res.Facts, Param{label, v}, cpuFact(label+" CPU", cpu0, cpu1), gcFact(label+" GC", gc0, gc1))
		cont.add(label, cpu0, cpu1)
	}
	stop()
	cont.note(res, len(o.OpenConns))
	res.Notes = append(res.Notes,
		fmt.Sprintf("Goals: aim p99 < %s at 5,000/s over 500 connections (applied to every row); the operations review's p95 < %s for 100 concurrent users (the 100-connection row). Arrivals are evenly spaced, the best case for a given rate.", fmtDur(decideOpenP99), fmtDur(decideUsersP95)),
		"Go timers wake a sleeping goroutine with a granularity of tens of µs to ~1 ms when the machine is busy; the generator lag row shows how much of the latency is the generator's own lateness (it counts against the edge in the 'from intended send' row, the conservative choice).",
		"A Go GC cycle during a window (GC facts) marks the edge's ~170 MB of authz structures (and core's heap: same process) while request goroutines pay mark assists, which shows in the p99; -decide-open-nogc (diagnostic) reruns the windows with the GC off to separate that from the rest.",
	)
	return nil
}

// ---------------------------------------------------------------- decide-invalidation

// invChange is one change of a round and what was seen of it.
type invChange struct {
	t         *invTarget
	wantAllow bool
	called    atomic.Int64 // unix ns before the API call
	returned  atomic.Int64 // unix ns when the API call returned
	seenEdge  atomic.Int64 // first applied delta after which the decider answers wantAllow
	seenHTTP  atomic.Int64 // first HTTP check at the edge answering wantAllow
	apiErr    error
	httpErr   error
}

func runDecideInvalidation(ctx context.Context, env *Env, res *Result) error {
	r, err := decideFixture(ctx, env, res)
	if err != nil {
		return err
	}
	o := env.Opts.Decide
	d := r.edge.Decider()
	res.Params = append(res.Params,
		Param{"changes", fmt.Sprintf("%d rounds of %d CONCURRENT changes at core's REST API; even rounds remove a permission from a role (PUT …/roles/{id}/permissions without it), odd rounds delete a role binding (DELETE …/role-bindings/{id}); each change has its own role (inv-k, 2 permissions) bound once to its own account on a depth-2 organization; the check is (account, the removed permission, a leaf below that organization). After each round the grants are restored concurrently (PUT the permission back / POST the binding again) and timed the same way", o.InvRounds, len(r.inv))},
		Param{"measured", "per change, from the moment the REST call RETURNED at the client: 'edge decider' = the first delta applied at the edge after which Decider.Check gives the new answer (checked in the edge's OnApplied hook, which runs right after the decider applied the delta: exact, no polling interval); 'edge HTTP' = the first POST /api/v1/check at the edge with the new answer (one poller per change, a check every 1 ms). An answer seen before the call returned counts as 0"},
		Param{"background", fmt.Sprintf("%d checks/s open loop over 16 connections (POST /api/v1/check by account) during the rounds", o.InvBgRate)},
	)
	// Background checks.
	bgCtx, bgStop := context.WithCancel(ctx)
	var bgRes openLoopResult
	bgTally := &decisionTally{}
	var bgWG sync.WaitGroup
	if o.InvBgRate > 0 {
		ds, err := openDoers(ctx, o.Client, r.edgeAddr, 16, &r.checkReqs()[0])
		if err != nil {
			bgStop()
			return err
		}
		defer closeDoers(ds)
		bgWG.Go(func() { bgRes = httpOpenLoop(bgCtx, ds, r.checkReqs(), float64(o.InvBgRate), -1, bgTally) })
	}
	defer func() { bgStop(); bgWG.Wait() }()

	revEdge, revHTTP, revAPI := NewRecorder(), NewRecorder(), NewRecorder()
	grantEdge, grantHTTP, grantAPI := NewRecorder(), NewRecorder(), NewRecorder()
	byKind := map[string]*Recorder{"permission removed from role": NewRecorder(), "role binding deleted": NewRecorder()}
	stop := cpuProfile(env, res)
	cpu0, gc0 := takeCPU(), takeGC()
	for round := range o.InvRounds {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		kind := "permission removed from role"
		if round%2 == 1 {
			kind = "role binding deleted"
		}
		// Precondition: every target allowed at the edge.
		for _, t := range r.inv {
			if !d.Check(r.tenantID, t.account, t.perm, t.check).Allowed {
				return fmt.Errorf("bench: round %d: %s is not allowed before the change", round, t.perm)
			}
		}
		chs, err := r.invRound(ctx, round%2 == 1, false)
		if err != nil {
			return err
		}
		for _, ch := range chs {
			recordInv(ch, revEdge, revHTTP, revAPI)
			recordInv(ch, byKind[kind], nil, nil)
		}
		chs, err = r.invRound(ctx, round%2 == 1, true)
		if err != nil {
			return err
		}
		for _, ch := range chs {
			recordInv(ch, grantEdge, grantHTTP, grantAPI)
		}
	}
	cpu1, gc1 := takeCPU(), takeGC()
	stop()
	bgStop()
	bgWG.Wait()
	res.Measurements = append(res.Measurements,
		Measurement{Name: "REVOKE: API returned → edge decider denies", Summary: revEdge.Summary(), Goals: []Goal{{On: "p99", Limit: decideInvGoal}}},
		Measurement{Name: "REVOKE: API returned → edge HTTP check denies", Summary: revHTTP.Summary(), Goals: []Goal{{On: "p99", Limit: decideInvGoal}}},
	)
	for _, k := range []string{"permission removed from role", "role binding deleted"} {
		res.Measurements = append(res.Measurements, Measurement{Name: "  revoke, " + k + " → decider denies", Summary: byKind[k].Summary()})
	}
	res.Measurements = append(res.Measurements,
		Measurement{Name: "REVOKE: core REST call (client-observed)", Summary: revAPI.Summary()},
		Measurement{Name: "GRANT back: API returned → edge decider allows", Summary: grantEdge.Summary()},
		Measurement{Name: "GRANT back: API returned → edge HTTP check allows", Summary: grantHTTP.Summary()},
		Measurement{Name: "GRANT back: core REST call", Summary: grantAPI.Summary()},
	)
	if o.InvBgRate > 0 {
		res.Measurements = append(res.Measurements, Measurement{Name: fmt.Sprintf("background checks @%d/s, from intended send", o.InvBgRate), Summary: bgRes.fromIntended.Summary()})
		res.Facts = append(res.Facts, Param{"background checks", fmt.Sprintf("%d sent; %s", bgRes.sent, bgTally.String())})
	}
	res.Facts = append(res.Facts, gcFact("GC during the rounds", gc0, gc1))
	var cont contention
	cont.add("the rounds", cpu0, cpu1)
	cont.note(res, 1)
	res.Notes = append(res.Notes,
		fmt.Sprintf("Goal: the operations review's < %s from change to enforcement (p99 column). The path is: core commits the change with its outbox row → NOTIFY → relay signs and publishes to the hub's JetStream → leaf link → edge pull consumer (Fetch(256, 1 s wait)) → verify + SQLite commit → Decider.Apply (authz batch, token-cache drops) → OnApplied.", fmtDur(decideInvGoal)),
		"The REST call returns after the commit, so 'API returned → decider' is commit → enforcement minus the client's read of the response; delta-latency measures the same path for account creates with its hub split.",
	)
	return nil
}

func recordInv(ch *invChange, edgeRec, httpRec, apiRec *Recorder) {
	if ch.apiErr != nil {
		edgeRec.Record(0, ch.apiErr)
		if httpRec != nil {
			httpRec.Record(0, ch.apiErr)
		}
		return
	}
	ret := ch.returned.Load()
	if s := ch.seenEdge.Load(); s != 0 {
		edgeRec.Record(time.Duration(max(0, s-ret)), nil)
	} else {
		edgeRec.Record(0, fmt.Errorf("the edge decider never gave the new answer"))
	}
	if httpRec != nil {
		if s := ch.seenHTTP.Load(); s != 0 {
			httpRec.Record(time.Duration(max(0, s-ret)), nil)
		} else {
			httpRec.Record(0, ch.httpErr)
		}
	}
	if apiRec != nil {
		apiRec.Record(time.Duration(ret-ch.called.Load()), nil)
	}
}

// invRound makes one concurrent change per target (restore: grant back)
// and waits until the edge shows every one of them.
func (r *decideRig) invRound(ctx context.Context, binding, restore bool) ([]*invChange, error) {
	d := r.edge.Decider()
	chs := make([]*invChange, len(r.inv))
	for k := range r.inv {
		chs[k] = &invChange{t: &r.inv[k], wantAllow: restore}
	}
	var mu sync.Mutex
	hook := func(replica.Applied) {
		now := time.Now().UnixNano()
		mu.Lock()
		defer mu.Unlock()
		for _, ch := range chs {
			if ch.seenEdge.Load() == 0 && ch.called.Load() != 0 &&
				d.Check(r.tenantID, ch.t.account, ch.t.perm, ch.t.check).Allowed == ch.wantAllow {
				ch.seenEdge.Store(now)
			}
		}
	}
	r.hook.Store(&hook)
	defer r.hook.Store(nil)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for _, ch := range chs {
		wg.Go(func() {
			<-gate
			t := ch.t
			base := "/api/v1/tenants/" + decideSlug
			mu.Lock()
			ch.called.Store(time.Now().UnixNano())
			mu.Unlock()
			switch {
			case !binding && !restore:
				ch.apiErr = r.cf.Call(ctx, "PUT", base+"/roles/"+t.role+"/permissions", map[string][]string{"permissions": {t.keep}}, 200, nil)
			case !binding && restore:
				ch.apiErr = r.cf.Call(ctx, "PUT", base+"/roles/"+t.role+"/permissions", map[string][]string{"permissions": {t.perm, t.keep}}, 200, nil)
			case binding && !restore:
				ch.apiErr = r.cf.Call(ctx, "DELETE", base+"/role-bindings/"+t.binding, nil, 204, nil)
			default:
				var b struct {
					ID string `json:"id"`
				}
				ch.apiErr = r.cf.Call(ctx, "POST", base+"/role-bindings", map[string]string{"account_id": t.account, "role_id": t.role, "organization_id": t.org}, 201, &b)
				t.binding = b.ID
			}
			ch.returned.Store(time.Now().UnixNano())
			if ch.apiErr != nil {
				return
			}
			// HTTP poller: one check every 1 ms until the new answer.
			want := allowedFalse
			if restore {
				want = allowedTrue
			}
			q := &decisionReq{req: newPreReq(r.edgeAddr, "/api/v1/check", mustJSON(checkBody{Account: t.account, Tenant: r.tenantID, Permission: t.perm, Organization: t.check}))}
			conn := newDoer(r.opts.Client, r.edgeAddr)
			defer conn.close()
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				st, body, err := conn.do(ctx, q.req)
				now := time.Now().UnixNano()
				if err == nil && st == 200 && strings.Contains(string(body), string(want)) {
					ch.seenHTTP.Store(now)
					return
				}
				if err != nil {
					ch.httpErr = err
				}
				time.Sleep(time.Millisecond)
			}
			if ch.httpErr == nil {
				ch.httpErr = fmt.Errorf("the edge HTTP check did not change within 30 s")
			}
		})
	}
	close(gate)
	wg.Wait()
	// The decider may have switched before the hook was armed for a change
	// whose call had not started: wait (bounded) for the edge side.
	deadline := time.Now().Add(30 * time.Second)
	for {
		done := true
		for _, ch := range chs {
			if ch.apiErr == nil && ch.seenEdge.Load() == 0 {
				done = false
			}
		}
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for _, ch := range chs {
		if ch.apiErr != nil {
			return nil, fmt.Errorf("bench: invalidation change: %w", ch.apiErr)
		}
	}
	return chs, nil
}

// ---------------------------------------------------------------- decide-memory

func runDecideMemory(ctx context.Context, env *Env, res *Result) error {
	r, err := decideFixture(ctx, env, res)
	if err != nil {
		return err
	}
	accounts := len(r.accIDs)
	per := func(b uint64) string {
		return fmt.Sprintf("%s (%s per 100,000 accounts)", MiB(b), MiB(uint64(float64(b)*100_000/float64(accounts))))
	}
	signed := func(a, b uint64) uint64 {
		if b > a {
			return b - a
		}
		return 0
	}
	// A fresh Decider over the replica: the decision engine's own memory.
	runtime.GC()
	runtime.GC()
	before := SampleSelf()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	t0 := time.Now()
	d2, err := decide.New(ctx, decide.Config{Replica: r.edge.Replica(), IssuerBase: r.cf.core.PublicURL()})
	if err != nil {
		return err
	}
	load := time.Since(t0)
	var msPeak runtime.MemStats
	runtime.ReadMemStats(&msPeak)
	runtime.GC()
	runtime.GC()
	after := SampleSelf()
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	role, org := r.binding(0, 0)
	ok := d2.Check(r.tenantID, r.accIDs[0], r.roles[role].perms[0], r.orgs[r.deepest(org, 1)].id).Allowed
	runtime.KeepAlive(d2)
	res.Params = append(res.Params,
		Param{"method", "runtime.GC twice, runtime.MemStats (HeapAlloc = live heap after GC, HeapInuse = spans in use), then decide.New over the edge's replica (what the edge does at start and on a snapshot), GC twice again with the new Decider still referenced; the difference is the Decider's retained heap (authz engine, tenant keys, revoked sessions; token cache empty). Also the same figures across the whole edge start (edge.New → snapshot bootstrap → caught up) measured when the fixture was built, and the SQLite files"},
	)
	dbPath := filepath.Join(r.edgeDir, "replica.db")
	var files []string
	var total int64
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if fi, err := os.Stat(dbPath + suffix); err == nil {
			files = append(files, fmt.Sprintf("replica.db%s %s", suffix, MiB(uint64(fi.Size()))))
			total += fi.Size()
		}
	}
	res.Facts = append(res.Facts,
		Param{"replica content", fmt.Sprintf("%d accounts, %d organizations, %d roles, %d role bindings", accounts, len(r.orgs), len(r.roles)+len(r.inv), accounts*r.opts.Bindings+len(r.inv))},
		Param{"decide.New load time", fmt.Sprintf("%s (check on the new Decider allowed: %v)", load.Round(time.Millisecond), ok)},
		Param{"Decider retained heap (HeapAlloc after GC, before → after)", fmt.Sprintf("%s → %s: %s", MiB(before.HeapAlloc), MiB(after.HeapAlloc), per(signed(before.HeapAlloc, after.HeapAlloc)))},
		Param{"Decider HeapInuse after GC, before → after", fmt.Sprintf("%s → %s: %s", MiB(ms0.HeapInuse), MiB(ms1.HeapInuse), per(signed(ms0.HeapInuse, ms1.HeapInuse)))},
		Param{"allocated while loading (garbage included)", fmt.Sprintf("%s; heap right after the load, before GC: %s", MiB(ms1.TotalAlloc-ms0.TotalAlloc), MiB(msPeak.HeapAlloc))},
		Param{"whole edge start (fixture): HeapAlloc after GC, before edge.New → caught up", fmt.Sprintf("%s → %s: %s", MiB(r.memBefore.HeapAlloc), MiB(r.memAfter.HeapAlloc), per(signed(r.memBefore.HeapAlloc, r.memAfter.HeapAlloc)))},
		Param{"whole edge start (fixture): process RSS before → after, each after GC + debug.FreeOSMemory (Go heap + SQLite page cache + NATS leaf)", fmt.Sprintf("%s → %s: %s", MiB(r.memBefore.RSS), MiB(r.memAfter.RSS), per(signed(r.memBefore.RSS, r.memAfter.RSS)))},
		Param{"SQLite files", fmt.Sprintf("%s; total %s", strings.Join(files, ", "), per(uint64(total)))},
		Param{"edge token cache now", fmt.Sprintf("%d verified tokens cached (bounded at 100,000 by default)", r.edge.Decider().CacheLen())},
	)
	res.Notes = append(res.Notes,
		"The bench process also holds core, its hub and the load clients: only differences are attributed to the edge. RSS differences include memory the Go runtime had not yet returned to the OS, so they are upper bounds.",
	)
	return nil
}
