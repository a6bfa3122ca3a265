package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/melmastoon/iam/core/password"
)

// Shared pieces of the sign-in scenarios (login-ceiling, login-open,
// login-storm, refresh, jwks): their options, the in-process core with a
// tenant and a pool of accounts with passwords, the sign-in HTTP calls,
// status tallies, the measured hashing ceiling, a memory sampler, a /metrics
// scraper and the CPU profile of a measured phase.

// SigninOptions are the flags of the sign-in scenarios.
type SigninOptions struct {
	CPUProfile      string
	HashDuration    time.Duration
	CeilingClients  []int
	CeilingDuration time.Duration
	OpenRate        float64
	OpenFraction    float64
	OpenDuration    time.Duration
	StormClients    int
	StormDuration   time.Duration
	StormHonour     bool
	RefreshClients  int
	RefreshDuration time.Duration
	JWKSClients     int
	JWKSDuration    time.Duration

	ceilingList string
}

// scenarioAliases expand to several scenarios in -scenario.
var scenarioAliases = map[string][]string{
	"signin":    {"login-ceiling", "login-open", "login-storm", "refresh", "jwks"},
	"deltas":    {"delta-latency", "delta-rate"},
	"decisions": {"decide-inproc", "decide-http-closed", "decide-http-open", "decide-invalidation", "decide-memory"},
	"devices":   {"device-sync"},
}

func registerSigninFlags(fs *flag.FlagSet, o *SigninOptions) {
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the measured phase of the sign-in, decision and device-sync scenarios to FILE (FILE.<scenario> when several run)")
	fs.DurationVar(&o.HashDuration, "hash-duration", 0, "login-ceiling: raw password.Hash measurement per goroutine count (default 5s; -quick 1s)")
	fs.StringVar(&o.ceilingList, "login-clients", "", "login-ceiling: closed-loop client counts (default 2,4,8)")
	fs.DurationVar(&o.CeilingDuration, "login-duration", 0, "login-ceiling: measured time per client count (default 15s; -quick 3s)")
	fs.Float64Var(&o.OpenRate, "open-rate", 0, "login-open: offered logins/s (0: -open-fraction of the measured ceiling)")
	fs.Float64Var(&o.OpenFraction, "open-fraction", 0.8, "login-open: offered rate as a fraction of the measured hashing ceiling")
	fs.DurationVar(&o.OpenDuration, "open-duration", 0, "login-open: measured time (default 30s; -quick 5s)")
	fs.IntVar(&o.StormClients, "storm-clients", 500, "login-storm: concurrent closed-loop clients")
	fs.DurationVar(&o.StormDuration, "storm-duration", 0, "login-storm: measured time (default 20s; -quick 5s)")
	fs.BoolVar(&o.StormHonour, "storm-retry-after", false, "login-storm: clients sleep for Retry-After after a 503 (default: retry at once, the harsher load)")
	fs.IntVar(&o.RefreshClients, "refresh-clients", 100, "refresh: concurrent clients, one session each")
	fs.DurationVar(&o.RefreshDuration, "refresh-duration", 0, "refresh: measured time (default 15s; -quick 3s)")
	fs.IntVar(&o.JWKSClients, "jwks-clients", 16, "jwks: concurrent closed-loop clients")
	fs.DurationVar(&o.JWKSDuration, "jwks-duration", 0, "jwks: measured time per document (default 10s; -quick 2s)")
}

func (o *SigninOptions) setDefaults(quick bool) error {
	def := func(d *time.Duration, q, full time.Duration) {
		if *d == 0 {
			*d = pick(quick, q, full)
		}
	}
	def(&o.HashDuration, time.Second, 5*time.Second)
	def(&o.CeilingDuration, 3*time.Second, 15*time.Second)
	def(&o.OpenDuration, 5*time.Second, 30*time.Second)
	def(&o.StormDuration, 5*time.Second, 20*time.Second)
	def(&o.RefreshDuration, 3*time.Second, 15*time.Second)
	def(&o.JWKSDuration, 2*time.Second, 10*time.Second)
	var err error
	if o.CeilingClients, err = intList(o.ceilingList, quick, "2,4,8", "2,4,8"); err != nil {
		return fmt.Errorf("-login-clients: %w", err)
	}
	if o.StormClients < 1 || o.RefreshClients < 1 || o.JWKSClients < 1 {
		return errors.New("-storm-clients, -refresh-clients and -jwks-clients must be positive")
	}
	if o.StormClients > 5000 || o.RefreshClients > 5000 {
		return errors.New("-storm-clients and -refresh-clients are capped at 5000 (loopback sockets)")
	}
	if o.OpenRate < 0 || o.OpenFraction <= 0 || o.OpenFraction > 2 {
		return errors.New("-open-rate must be >= 0 and -open-fraction in (0, 2]")
	}
	return nil
}

// benchPassword is the password of pool account i: 21 characters, not in
// the common-password list.
func benchPassword(i int) string { return fmt.Sprintf("bench-password-%06d", i) }

// signinFixture is core in-process with one tenant and a pool of accounts
// that have passwords (production Argon2id parameters).
type signinFixture struct {
	cf     *CoreFixture
	slug   string
	users  []string
	client *http.Client // keep-alive client sized for the scenario's clients
	setup  time.Duration
}

// startSignin makes database dbName, starts core and creates the tenant and
// `accounts` accounts with passwords (4 at a time: each hashes once).
func startSignin(ctx context.Context, env *Env, res *Result, dbName string, accounts, maxClients int) (*signinFixture, error) {
	start := time.Now()
	pg, err := env.Postgres(ctx)
	if err != nil {
		return nil, err
	}
	dbURL, err := pg.NewDatabase(ctx, dbName)
	if err != nil {
		return nil, err
	}
	cf, err := StartCore(ctx, dbURL, 16)
	if err != nil {
		return nil, err
	}
	f := &signinFixture{cf: cf, slug: strings.ReplaceAll(dbName, "_", "-"), client: newLoadClient(maxClients)}
	if err := cf.Call(ctx, "POST", "/api/v1/tenants", map[string]string{"slug": f.slug, "name": "Sign-in bench"}, http.StatusCreated, nil); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: create tenant: %w", err)
	}
	f.users = make([]string, accounts)
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	next := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range next {
				u := fmt.Sprintf("user%05d", i)
				body := map[string]string{"username": u, "email": u + "@bench.example", "display_name": "Bench User", "password": benchPassword(i)}
				if err := cf.Call(ctx, "POST", "/api/v1/tenants/"+f.slug+"/accounts", body, http.StatusCreated, nil); err != nil {
					select {
					case errc <- fmt.Errorf("bench: create account %s: %w", u, err):
					default:
					}
					continue
				}
				f.users[i] = u
			}
		})
	}
	for i := range accounts {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errc:
		f.Close()
		return nil, err
	default:
	}
	f.setup = time.Since(start)
	res.Params = append(res.Params,
		Param{"server", "core in-process (this bench process is client AND server), store pool 16, keep-alive client"},
		Param{"password hashing", fmt.Sprintf("production defaults: Argon2id %s (%d KiB), limiter MaxConcurrent=NumCPU=%d, MaxQueue=%d, MaxWait=%s",
			password.DefaultParams(), password.DefaultParams().MemoryKiB, runtime.NumCPU(), password.DefaultQueuePerSlot*runtime.NumCPU(), password.DefaultMaxWait)},
		Param{"accounts", fmt.Sprintf("%d in tenant %q, created over HTTP with a password (setup incl. core start: %s)", accounts, f.slug, f.setup.Round(time.Millisecond))},
	)
	res.Params = append(res.Params, pg.Settings(ctx)...)
	return f, nil
}

// Close stops core and the load client.
func (f *signinFixture) Close() {
	f.client.CloseIdleConnections()
	_ = f.cf.Close()
}

// newLoadClient is a keep-alive client with an idle connection for every
// concurrent client.
func newLoadClient(clients int) *http.Client {
	tr := &http.Transport{MaxIdleConns: clients + 16, MaxIdleConnsPerHost: clients + 16, IdleConnTimeout: time.Minute}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// tokenPair is the answer of login and refresh.
type tokenPair struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// callResult is one sign-in call as the client saw it.
type callResult struct {
	Status     int
	Code       string // problem code for non-2xx ("" if none)
	RetryAfter string
	Tokens     tokenPair
	Err        error // transport or decoding error
}

// key names the outcome for the by-status tally.
func (c callResult) key() string {
	if c.Err != nil && c.Status == 0 {
		return "transport error"
	}
	if c.Code != "" {
		return fmt.Sprintf("%d %s", c.Status, strings.TrimPrefix(c.Code, "MELMASTOON.IAM."))
	}
	return strconv.Itoa(c.Status)
}

// err is nil for a 200 with tokens.
func (c callResult) err() error {
	switch {
	case c.Err != nil:
		return c.Err
	case c.Status != http.StatusOK:
		return fmt.Errorf("status %s", c.key())
	}
	return nil
}

// login signs pool account i in.
func (f *signinFixture) login(ctx context.Context, i int) callResult {
	i %= len(f.users)
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, f.users[i], benchPassword(i))
	req, err := http.NewRequestWithContext(ctx, "POST", f.cf.URL+"/api/v1/tenants/"+f.slug+"/auth/login", strings.NewReader(body))
	if err != nil {
		return callResult{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	return f.do(req)
}

// refresh exchanges a refresh token at the token endpoint.
func (f *signinFixture) refresh(ctx context.Context, token string) callResult {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, "POST", f.cf.URL+"/t/"+f.slug+"/oauth2/token", strings.NewReader(form))
	if err != nil {
		return callResult{Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return f.do(req)
}

func (f *signinFixture) do(req *http.Request) callResult {
	resp, err := f.client.Do(req)
	if err != nil {
		return callResult{Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	out := callResult{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After"), Err: err}
	if err != nil {
		return out
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &out.Tokens); err != nil {
			out.Err = fmt.Errorf("bad token answer: %w: %.100s", err, raw)
		} else if out.Tokens.RefreshToken == "" {
			out.Err = fmt.Errorf("token answer without refresh_token: %.100s", raw)
		}
		return out
	}
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(raw, &p)
	out.Code = p.Code
	return out
}

// loginRetrying signs account i in, retrying 503s after their Retry-After
// (setup phases only).
func (f *signinFixture) loginRetrying(ctx context.Context, i int) (tokenPair, error) {
	for attempt := 0; ; attempt++ {
		r := f.login(ctx, i)
		if r.Status == http.StatusServiceUnavailable && attempt < 5 {
			time.Sleep(time.Second)
			continue
		}
		return r.Tokens, r.err()
	}
}

// statusTally counts outcomes by status (and problem code).
type statusTally struct {
	mu sync.Mutex
	m  map[string]int
}

func newStatusTally() *statusTally { return &statusTally{m: map[string]int{}} }

func (t *statusTally) add(k string) {
	t.mu.Lock()
	t.m[k]++
	t.mu.Unlock()
}

func (t *statusTally) get(k string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[k]
}

// String lists the outcomes, most frequent first: "200: 950, 503 AUTH.HASHING_OVERLOADED: 3".
func (t *statusTally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := make([]string, 0, len(t.m))
	for k := range t.m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if t.m[a] != t.m[b] {
			return t.m[b] - t.m[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, t.m[k])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// hashCeiling is the raw password.Hash rate measured in this process, shared
// by login-ceiling (which measures it) and login-open (which offers a
// fraction of it).
var hashCeiling struct {
	sync.Mutex
	rate       float64 // hashes/s at the best goroutine count
	goroutines int
	bestLogin  float64 // best sustained logins/s of login-ceiling in this run
	facts      []Param
	ms         []Measurement
}

// measureHashCeiling times password.Hash with DefaultParams at 1 and NumCPU
// goroutines (only NumCPU when quickOnly) for d each, while core is not
// running, and caches the best rate.
func measureHashCeiling(ctx context.Context, d time.Duration, onlyParallel bool) (float64, []Param, []Measurement) {
	hashCeiling.Lock()
	defer hashCeiling.Unlock()
	if hashCeiling.rate > 0 {
		return hashCeiling.rate, hashCeiling.facts, hashCeiling.ms
	}
	counts := []int{1, runtime.NumCPU()}
	if onlyParallel || runtime.NumCPU() == 1 {
		counts = counts[1:]
	}
	params := password.DefaultParams()
	var facts []Param
	var ms []Measurement
	for _, g := range counts {
		runtime.GC()
		cpu0 := takeCPU()
		rec := runClosedLoop(ctx, g, d, 1<<20, func(context.Context, int, int) error {
			_, err := password.Hash("bench-password-000000", params)
			return err
		})
		s := rec.Summary()
		ms = append(ms, Measurement{Name: fmt.Sprintf("password.Hash %s ×%d goroutines", params, g), Summary: s})
		facts = append(facts, Param{fmt.Sprintf("raw hashing, %d goroutine(s)", g), fmt.Sprintf("%.1f hashes/s (mean %s per hash)", s.Throughput, fmtDur(s.Mean))},
			cpuFact(fmt.Sprintf("raw hashing, %d goroutine(s) CPU", g), cpu0, takeCPU()))
		if s.Throughput > hashCeiling.rate {
			hashCeiling.rate, hashCeiling.goroutines = s.Throughput, g
		}
	}
	facts = append(facts, Param{"hashing ceiling (best of the above)", fmt.Sprintf("%.1f hashes/s at %d goroutine(s); LIMITS.md: ~65/s on 2 cores", hashCeiling.rate, hashCeiling.goroutines)})
	hashCeiling.facts, hashCeiling.ms = facts, ms
	return hashCeiling.rate, facts, ms
}

// memSampler samples runtime.MemStats (HeapInuse, Sys) and /proc/self/status
// (VmRSS) every interval and keeps the peaks.
type memSampler struct {
	stop chan struct{}
	done chan struct{}
	peak memPeaks
}

type memPeaks struct {
	HeapInuse, Sys, RSS uint64
	Samples             int
}

func startMemSampler(every time.Duration) *memSampler {
	m := &memSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			rss, _, _ := ProcRSS(os.Getpid())
			m.peak.HeapInuse = max(m.peak.HeapInuse, ms.HeapInuse)
			m.peak.Sys = max(m.peak.Sys, ms.Sys)
			m.peak.RSS = max(m.peak.RSS, rss)
			m.peak.Samples++
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// Stop ends sampling and returns the peaks.
func (m *memSampler) Stop() memPeaks {
	close(m.stop)
	<-m.done
	return m.peak
}

// gaugeScraper reads one unlabelled metric from /metrics every interval and
// keeps its maximum.
type gaugeScraper struct {
	stop     chan struct{}
	done     chan struct{}
	max      float64
	scrapes  int
	failures int
}

func startGaugeScraper(ctx context.Context, baseURL, name string, every time.Duration) *gaugeScraper {
	g := &gaugeScraper{stop: make(chan struct{}), done: make(chan struct{}), max: -1}
	client := &http.Client{Timeout: 5 * time.Second}
	go func() {
		defer close(g.done)
		defer client.CloseIdleConnections()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if v, err := scrapeMetric(ctx, client, baseURL, name); err == nil {
				g.max = max(g.max, v)
				g.scrapes++
			} else {
				g.failures++
			}
			select {
			case <-g.stop:
				return
			case <-t.C:
			}
		}
	}()
	return g
}

func (g *gaugeScraper) Stop() (maxValue float64, scrapes, failures int) {
	close(g.stop)
	<-g.done
	return g.max, g.scrapes, g.failures
}

// scrapeMetric returns the value of series `series` (name with its labels as
// exposed, e.g. `token_refresh_total{result="rotated"}`) from /metrics; a
// series absent from the page reads 0.
func scrapeMetric(ctx context.Context, client *http.Client, baseURL, series string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", baseURL+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("/metrics: status %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			return strconv.ParseFloat(strings.Fields(rest)[0], 64)
		}
	}
	return 0, sc.Err()
}

// selectedCount is how many scenarios -scenario names, aliases expanded
// (it must not look at the registry: that would be an initialization cycle).
func selectedCount(list string) int {
	n := 0
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		if names, ok := scenarioAliases[name]; ok {
			n += len(names)
		} else if name != "" {
			n++
		}
	}
	return n
}

// cpuProfile marks a measured phase: it records the CPU the process and the
// machine used during it (a fact) and, when -cpuprofile is set, profiles it;
// the returned function ends the phase.
func cpuProfile(env *Env, res *Result) (stop func()) {
	cpu0 := takeCPU()
	stopProf := startProfile(env, res)
	return func() {
		stopProf()
		res.Facts = append(res.Facts, cpuFact("CPU during the measured phase", cpu0, takeCPU()))
	}
}

func startProfile(env *Env, res *Result) (stop func()) {
	path := env.Opts.Signin.CPUProfile
	if path == "" {
		return func() {}
	}
	if selectedCount(env.Opts.Scenarios) > 1 {
		path += "." + res.Scenario
	}
	f, err := os.Create(path)
	if err != nil {
		res.Notes = append(res.Notes, "CPU profile not written: "+err.Error())
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		res.Notes = append(res.Notes, "CPU profile not written: "+err.Error())
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
		res.Notes = append(res.Notes, fmt.Sprintf("CPU profile of the measured phase written to %s (go tool pprof -top %s)", path, path))
	}
}

// poolSnap is a snapshot of core's pgx pool counters.
type poolSnap struct {
	acquires, waited int64
	acquireDur, wait time.Duration
}

func (f *signinFixture) pool() poolSnap {
	st := f.cf.core.Store().Pool().Stat()
	return poolSnap{acquires: st.AcquireCount(), waited: st.EmptyAcquireCount(), acquireDur: st.AcquireDuration(), wait: st.EmptyAcquireWaitTime()}
}

// poolFact says how often a transaction had to wait for one of the store's
// connections between two snapshots, and for how long.
func poolFact(a, b poolSnap) Param {
	acq, waited := b.acquires-a.acquires, b.waited-a.waited
	v := fmt.Sprintf("%d acquires, %d had to wait for a free connection", acq, waited)
	if waited > 0 {
		v += fmt.Sprintf(" (mean wait %s)", fmtDur((b.wait-a.wait)/time.Duration(waited)))
	}
	if acq > 0 {
		v += fmt.Sprintf("; mean acquire %s", fmtDur((b.acquireDur-a.acquireDur)/time.Duration(acq)))
	}
	return Param{"store pool (16 conns) during the run", v}
}

// histogramCounts reads the cumulative bucket counts of histogram name from
// /metrics, keyed by the le label.
func histogramCounts(ctx context.Context, baseURL, name string) (map[string]float64, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, "GET", baseURL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	prefix := name + `_bucket{le="`
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), prefix)
		if !ok {
			continue
		}
		le, val, ok := strings.Cut(rest, `"} `)
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(strings.Fields(val)[0], 64); err == nil {
			out[le] = v
		}
	}
	return out, sc.Err()
}

// histogramDelta renders how many observations between two scrapes fell at
// or under each of the given bucket bounds (and above the last).
func histogramDelta(a, b map[string]float64, les []string) string {
	var parts []string
	prev := 0.0
	for _, le := range les {
		c := b[le] - a[le]
		parts = append(parts, fmt.Sprintf("(%s] %.0f", le, c-prev))
		prev = c
	}
	parts = append(parts, fmt.Sprintf("> %s %.0f", les[len(les)-1], b["+Inf"]-a["+Inf"]-prev))
	return strings.Join(parts, ", ")
}

// cpuSnap is the CPU time of this process and of the whole machine at one
// moment, to tell how much of the cores a measured phase really had.
type cpuSnap struct {
	at         time.Time
	self       time.Duration
	busy, all  uint64 // jiffies from /proc/stat
	loadAvg1   string
	haveSystem bool
}

func takeCPU() cpuSnap {
	s := cpuSnap{at: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		if len(f) >= 9 && f[0] == "cpu" {
			var v [8]uint64
			for i := range v {
				v[i], _ = strconv.ParseUint(f[i+1], 10, 64)
			}
			// user nice system idle iowait irq softirq steal
			s.busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
			s.all = s.busy + v[3] + v[4]
			s.haveSystem = true
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		s.loadAvg1 = strings.Fields(string(b))[0]
	}
	return s
}

// cpuFact says how many cores this process and everything else used between
// a and b: on a shared 2-core box, "others" is PostgreSQL plus whatever else
// runs on the machine.
func cpuFact(label string, a, b cpuSnap) Param {
	wall := b.at.Sub(a.at).Seconds()
	if wall <= 0 {
		return Param{label, "-"}
	}
	self := (b.self - a.self).Seconds() / wall
	v := fmt.Sprintf("bench process %.2f cores", self)
	if a.haveSystem && b.all > a.all {
		busy := float64(runtime.NumCPU()) * float64(b.busy-a.busy) / float64(b.all-a.all)
		v += fmt.Sprintf("; machine busy %.2f of %d cores → %.2f cores PostgreSQL + other processes", busy, runtime.NumCPU(), max(0, busy-self))
	}
	v += fmt.Sprintf("; load avg (1 min) %s → %s", a.loadAvg1, b.loadAvg1)
	return Param{label, v}
}
