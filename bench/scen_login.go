package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/melmastoon/iam/core/password"
)

// Login objectives (issue text).
const (
	loginCeilingAim  = 0.90 // sustained logins/s as a fraction of the raw hashing ceiling
	loginOpenP99Obj  = 800 * time.Millisecond
	loginOpenP99Aim  = 150 * time.Millisecond
	stormBoundSlack  = 250 * time.Millisecond // HTTP, scheduling and DB on an overloaded 2-core box
	stormFastRefusal = 100 * time.Millisecond
)

// runLoginCeiling measures the raw Argon2id rate, then sustained logins/s
// over HTTP at a few closed-loop client counts, each client signing in as
// its own account.
func runLoginCeiling(ctx context.Context, env *Env, res *Result) error {
	o := env.Opts.Signin
	// Hash before core starts, so nothing else competes for the cores.
	if _, err := env.Postgres(ctx); err != nil {
		return err
	}
	ceiling, hfacts, hms := measureHashCeiling(ctx, o.HashDuration, false)
	res.Facts = append(res.Facts, hfacts...)
	res.Measurements = append(res.Measurements, hms...)
	maxC := 0
	for _, c := range o.CeilingClients {
		maxC = max(maxC, c)
	}
	f, err := startSignin(ctx, env, res, "bench_login_ceiling", maxC, maxC)
	if err != nil {
		return err
	}
	defer f.Close()
	res.Params = append(res.Params,
		Param{"raw hashing", fmt.Sprintf("password.Hash, DefaultParams, closed loop at 1 and NumCPU goroutines, %s each, before core starts", o.HashDuration)},
		Param{"logins", fmt.Sprintf("closed loop at %v clients, %s each after a 1 s warm-up; client i signs in as account i (distinct accounts, correct password)", o.CeilingClients, o.CeilingDuration)},
	)
	before := SampleSelf()
	warm := runClosedLoop(ctx, 2, time.Second, 1<<20, func(ctx context.Context, w, _ int) error { return f.login(ctx, w).err() })
	if s := warm.Summary(); s.Errors > 0 {
		return fmt.Errorf("bench: login warm-up: %d errors, e.g. %v", s.Errors, s.ErrSample)
	}
	pool0 := f.pool()
	stopProfile := cpuProfile(env, res)
	for _, c := range o.CeilingClients {
		env.Log.InfoContext(ctx, "login-ceiling: run", "clients", c)
		tally := newStatusTally()
		cpu0 := takeCPU()
		rec := runClosedLoop(ctx, c, o.CeilingDuration, 1<<20, func(ctx context.Context, w, _ int) error {
			r := f.login(ctx, w)
			tally.add(r.key())
			return r.err()
		})
		s := rec.Summary()
		name := fmt.Sprintf("POST auth/login ×%d", c)
		res.Measurements = append(res.Measurements, Measurement{Name: name, Summary: s})
		frac := s.Throughput / ceiling
		hashCeiling.Lock()
		hashCeiling.bestLogin = max(hashCeiling.bestLogin, s.Throughput)
		hashCeiling.Unlock()
		verdict := "ok"
		if frac < loginCeilingAim {
			verdict = "BELOW AIM"
		}
		res.Facts = append(res.Facts,
			Param{name + " sustained", fmt.Sprintf("%.1f logins/s = %.0f%% of the %.1f hashes/s ceiling (aim ≥ %.0f%%: %s)", s.Throughput, 100*frac, ceiling, 100*loginCeilingAim, verdict)},
			Param{name + " outcomes", tally.String()},
			cpuFact(name+" CPU", cpu0, takeCPU()))
	}
	stopProfile()
	res.Facts = append(res.Facts, poolFact(pool0, f.pool()))
	res.Facts = append(res.Facts, memFacts(before, SampleSelf())...)
	res.Notes = append(res.Notes,
		"A login is one Argon2id verify under the limiter plus two short transactions (credentials read; session + refresh token + audit insert) and an Ed25519 signature; those run on the same 2 cores as the hashing, the HTTP client and PostgreSQL, so they come out of the ceiling.",
		"With N clients > NumCPU the extra clients wait in the limiter queue: throughput stays at the ceiling while latency grows by about (N − NumCPU) hash times.")
	return nil
}

// runLoginOpen offers a constant login rate (open loop) and measures each
// login from its intended send time, so queueing shows in the latency.
func runLoginOpen(ctx context.Context, env *Env, res *Result) error {
	o := env.Opts.Signin
	if _, err := env.Postgres(ctx); err != nil {
		return err
	}
	rate := o.OpenRate
	if rate == 0 {
		ceiling, hfacts, _ := measureHashCeiling(ctx, o.HashDuration, true)
		res.Facts = append(res.Facts, hfacts...)
		rate = o.OpenFraction * ceiling
		res.Params = append(res.Params, Param{"offered rate", fmt.Sprintf("%.1f logins/s = %.0f%% of the measured hashing ceiling %.1f/s", rate, 100*o.OpenFraction, ceiling)})
	} else {
		res.Params = append(res.Params, Param{"offered rate", fmt.Sprintf("%.1f logins/s (-open-rate)", rate)})
	}
	hashCeiling.Lock()
	if best := hashCeiling.bestLogin; best > 0 {
		res.Params = append(res.Params, Param{"offered vs sustained", fmt.Sprintf("%.0f%% of the best sustained closed-loop login rate %.1f/s measured by login-ceiling in this run", 100*rate/best, best)})
	}
	hashCeiling.Unlock()
	const pool = 64
	f, err := startSignin(ctx, env, res, "bench_login_open", pool, 256)
	if err != nil {
		return err
	}
	defer f.Close()
	n := int(rate * o.OpenDuration.Seconds())
	res.Params = append(res.Params,
		Param{"schedule", fmt.Sprintf("%d logins, request i intended at start + i/rate (constant spacing %s), each sent by its own goroutine; accounts round-robin over the pool", n, fmtDur(time.Duration(float64(time.Second)/rate)))},
		Param{"latency", "from the INTENDED send time to the decoded answer (coordinated-omission free); 'service' rows measure from the actual send"},
		Param{"warm-up", "1 s closed loop at 2 clients"})
	warm := runClosedLoop(ctx, 2, time.Second, 1<<20, func(ctx context.Context, w, _ int) error { return f.login(ctx, w).err() })
	if s := warm.Summary(); s.Errors > 0 {
		return fmt.Errorf("bench: login warm-up: %d errors, e.g. %v", s.Errors, s.ErrSample)
	}
	before := SampleSelf()
	pool0 := f.pool()
	stopProfile := cpuProfile(env, res)
	fromIntended, service := NewRecorder(), NewRecorder()
	refusedIntended := NewRecorder()
	tally := newStatusTally()
	var inFlight, maxInFlight atomic.Int64
	var maxLag time.Duration
	var wg sync.WaitGroup
	start := time.Now().Add(20 * time.Millisecond)
	fromIntended.Start(start)
	timer := time.NewTimer(0)
	<-timer.C
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		intended := start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
		if d := time.Until(intended); d > 0 {
			timer.Reset(d)
			<-timer.C
		}
		maxLag = max(maxLag, time.Since(intended))
		wg.Go(func() {
			cur := inFlight.Add(1)
			for {
				m := maxInFlight.Load()
				if cur <= m || maxInFlight.CompareAndSwap(m, cur) {
					break
				}
			}
			defer inFlight.Add(-1)
			sent := time.Now()
			r := f.login(ctx, i)
			done := time.Now()
			tally.add(r.key())
			err := r.err()
			fromIntended.Record(done.Sub(intended), err)
			service.Record(done.Sub(sent), err)
			if r.Status == http.StatusServiceUnavailable {
				refusedIntended.Record(done.Sub(intended), nil)
			}
		})
	}
	wg.Wait()
	fromIntended.Stop(time.Now())
	stopProfile()
	s := fromIntended.Summary()
	res.Measurements = append(res.Measurements,
		Measurement{Name: fmt.Sprintf("login @ %.0f/s, from intended send", rate), Summary: s,
			Goals: []Goal{{On: "p99", Limit: loginOpenP99Obj}, {On: "p99", Limit: loginOpenP99Aim}}},
		Measurement{Name: fmt.Sprintf("login @ %.0f/s, service time", rate), Summary: service.Summary()})
	if rs := refusedIntended.Summary(); rs.Count > 0 {
		res.Measurements = append(res.Measurements, Measurement{Name: "503 refusals, from intended send", Summary: rs})
	}
	res.Facts = append(res.Facts,
		Param{"logins sent / answered 200", fmt.Sprintf("%d / %d (%.1f/s over %s)", n, s.Count, s.Throughput, s.Elapsed.Round(time.Millisecond))},
		Param{"outcomes by status", tally.String()},
		Param{"generator", fmt.Sprintf("max lag behind schedule %s (it never waits for answers); max logins in flight %d", fmtDur(maxLag), maxInFlight.Load())},
		poolFact(pool0, f.pool()),
	)
	res.Facts = append(res.Facts, memFacts(before, SampleSelf())...)
	res.Notes = append(res.Notes,
		"Objective p99 < 800 ms, aim p99 < 150 ms (two goal columns). Arrivals are evenly spaced (deterministic), so this is the best case for a given rate; bursty (Poisson) arrivals at the same mean queue longer.")
	return nil
}

// runLoginStorm runs far more concurrent logins than the limiter admits and
// checks that every answer — served or refused — comes within the bound,
// while sampling the process's memory.
func runLoginStorm(ctx context.Context, env *Env, res *Result) error {
	o := env.Opts.Signin
	const pool = 100
	f, err := startSignin(ctx, env, res, "bench_login_storm", pool, o.StormClients)
	if err != nil {
		return err
	}
	defer f.Close()
	maxWait := password.DefaultMaxWait
	// A served login may wait MaxWait for a slot, then hashes (~2 hash times
	// when two run at once) and commits.
	hashTime := 2 * 24 * time.Millisecond
	boundRefused := maxWait + stormBoundSlack
	boundServed := maxWait + hashTime + stormBoundSlack
	mode := "retry at once after a 503 (ignores Retry-After: the harsher load)"
	if o.StormHonour {
		mode = "sleep for Retry-After after a 503"
	}
	res.Params = append(res.Params,
		Param{"clients", fmt.Sprintf("%d closed-loop for %s, client i signs in as account i mod %d; %s", o.StormClients, o.StormDuration, pool, mode)},
		Param{"bounds checked", fmt.Sprintf("503 within MaxWait + %s slack = %s; 200 within MaxWait + 2 hash times + slack = %s", fmtDur(stormBoundSlack), fmtDur(boundRefused), fmtDur(boundServed))},
		Param{"sampling", "runtime.MemStats HeapInuse/Sys and /proc/self/status VmRSS every 50 ms; /metrics password_hash_queue_depth every 50 ms"},
	)
	runtime.GC()
	before := SampleSelf()
	pool0 := f.pool()
	hist0, _ := histogramCounts(ctx, f.cf.URL, "auth_login_duration_seconds")
	mem := startMemSampler(50 * time.Millisecond)
	queue := startGaugeScraper(ctx, f.cf.URL, "password_hash_queue_depth", 50*time.Millisecond)
	stopProfile := cpuProfile(env, res)
	served, refused := NewRecorder(), NewRecorder()
	tally := newStatusTally()
	var noRetryAfter, overServed, overRefused, fastRefused, waitedRefused atomic.Int64
	var raMu sync.Mutex
	retryAfters := map[string]int{}
	deadline := time.Now().Add(o.StormDuration)
	start := time.Now()
	served.Start(start)
	refused.Start(start)
	all := runClosedLoop(ctx, o.StormClients, o.StormDuration, 10_000_000, func(ctx context.Context, w, _ int) error {
		t0 := time.Now()
		r := f.login(ctx, w)
		d := time.Since(t0)
		tally.add(r.key())
		switch {
		case r.Status == http.StatusOK && r.Err == nil:
			served.Record(d, nil)
			if d > boundServed {
				overServed.Add(1)
			}
		case r.Status == http.StatusServiceUnavailable:
			refused.Record(d, nil)
			if d > boundRefused {
				overRefused.Add(1)
			}
			if d < stormFastRefusal {
				fastRefused.Add(1)
			} else if d >= maxWait*9/10 {
				waitedRefused.Add(1)
			}
			if r.RetryAfter == "" {
				noRetryAfter.Add(1)
			}
			raMu.Lock()
			retryAfters[r.RetryAfter]++
			raMu.Unlock()
			if o.StormHonour {
				if secs, err := strconv.Atoi(r.RetryAfter); err == nil {
					sleep := min(time.Duration(secs)*time.Second, time.Until(deadline))
					if sleep > 0 {
						time.Sleep(sleep)
					}
				}
			}
			return nil
		}
		return r.err()
	})
	end := time.Now()
	served.Stop(end)
	refused.Stop(end)
	stopProfile()
	peaks := mem.Stop()
	qmax, scrapes, scrapeFails := queue.Stop()
	after := SampleSelf()
	pool1 := f.pool()
	hist1, herr := histogramCounts(ctx, f.cf.URL, "auth_login_duration_seconds")
	ss, rs := served.Summary(), refused.Summary()
	res.Measurements = append(res.Measurements,
		Measurement{Name: "200 served", Summary: ss},
		Measurement{Name: "503 refused", Summary: rs})
	if as := all.Summary(); as.Errors > 0 {
		res.Measurements = append(res.Measurements, Measurement{Name: "other outcomes (errors)", Summary: Summary{Errors: as.Errors, ErrSample: as.ErrSample}})
	}
	verdict := func(n int64) string {
		if n == 0 {
			return "none: ok"
		}
		return fmt.Sprintf("%d: OVER THE BOUND", n)
	}
	raKeys := make([]string, 0, len(retryAfters))
	for k := range retryAfters {
		raKeys = append(raKeys, k)
	}
	sort.Strings(raKeys)
	raText := ""
	for _, k := range raKeys {
		raText += fmt.Sprintf("%q×%d ", k, retryAfters[k])
	}
	inflightMiB := float64(runtime.NumCPU()) * float64(password.DefaultParams().MemoryKiB) / 1024
	res.Facts = append(res.Facts,
		Param{"served (200)", fmt.Sprintf("%d = %.1f/s", ss.Count, ss.Throughput)},
		Param{"refused (503)", fmt.Sprintf("%d = %.1f/s; %d fast (< %s: queue full), %d after waiting ≥ 0.9 × MaxWait", rs.Count, rs.Throughput, fastRefused.Load(), fmtDur(stormFastRefusal), waitedRefused.Load())},
		Param{"outcomes by status", tally.String()},
		Param{"503 without Retry-After", verdict(noRetryAfter.Load())},
		Param{"Retry-After values seen", raText},
		Param{"max latency 200 / 503", fmtDur(ss.Max) + " / " + fmtDur(rs.Max)},
		Param{"503 slower than " + fmtDur(boundRefused), verdict(overRefused.Load())},
		Param{"200 slower than " + fmtDur(boundServed), verdict(overServed.Load())},
		Param{"password_hash_queue_depth max (scraped)", fmt.Sprintf("%.0f (MaxQueue %d; %d scrapes, %d failed)", qmax, password.DefaultQueuePerSlot*runtime.NumCPU(), scrapes, scrapeFails)},
		poolFact(pool0, pool1),
		Param{"server-side Login() duration (histogram auth_login_duration_seconds, excludes HTTP and body decode)", histText(hist0, hist1, herr)},
		Param{"peak Go HeapInuse / Sys", MiB(peaks.HeapInuse) + " / " + MiB(peaks.Sys)},
		Param{"peak VmRSS sampled / VmHWM at end", fmt.Sprintf("%s / %s (%d samples; before the storm RSS %s)", MiB(peaks.RSS), MiB(after.PeakRSS), peaks.Samples, MiB(before.RSS))},
		Param{"Argon2id memory in flight at most", fmt.Sprintf("MaxConcurrent %d × %d KiB = %.0f MiB (plus not-yet-collected garbage: every hash allocates its 19 MiB anew)", runtime.NumCPU(), password.DefaultParams().MemoryKiB, inflightMiB)},
	)
	res.Facts = append(res.Facts, memFacts(before, after)...)
	res.Notes = append(res.Notes,
		"Core runs in-process: the memory figures are of the bench process, which is the server AND the 500 HTTP clients (their goroutines, buffers and connections) together.",
		"Latencies are measured by the clients on the same overloaded 2 cores, so they include client-side scheduling delay; the bound check allows "+fmtDur(stormBoundSlack)+" of slack for that.")
	if total := ss.Count + rs.Count; total > 0 && ss.Count > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("Served rate here vs the hashing ceiling: %.1f/s; refused requests cost CPU too (%.0f refusals per served login).", ss.Throughput, math.Round(float64(rs.Count)/float64(ss.Count))))
	}
	return nil
}

func histText(a, b map[string]float64, err error) string {
	if err != nil {
		return "unavailable: " + err.Error()
	}
	return histogramDelta(a, b, []string{"0.08", "0.32", "0.64", "1.28", "2.56", "5.12"})
}
