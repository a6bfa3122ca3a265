package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/melmastoon/iam/core"
	"github.com/melmastoon/iam/core/auth"
	"github.com/melmastoon/iam/core/hub"
	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/core/password"
	"github.com/melmastoon/iam/edge"
	"github.com/melmastoon/iam/edge/replica"
)

// Edge decision scenarios (decide-inproc, decide-http-closed,
// decide-http-open, decide-invalidation, decide-memory; alias decisions).
// They share one fixture, built by the first of them that runs: core
// in-process with its embedded NATS hub, one tenant with a 6-level
// organization tree (store API), roles (REST), -decide-accounts accounts
// and -decide-bindings role bindings per account BULK-INSERTED into
// PostgreSQL (COPY as the superuser, which RLS does not apply to), a pool
// of signed-in accounts (REST login with a cheap Argon2id cost), and then
// one edge in-process that bootstraps its empty replica from core's signed
// snapshot and serves the decision API on loopback.

// DecideOptions are the flags of the decision scenarios.
type DecideOptions struct {
	Accounts     int
	Orgs         int
	Bindings     int
	Roles        int
	Tokens       int
	InprocTime   time.Duration
	Duration     time.Duration
	Conns        []int
	OpenRate     int
	OpenConns    []int
	OpenDuration time.Duration
	OpenNoGC     bool
	InvRounds    int
	InvChanges   int
	InvBgRate    int
	Client       string

	connsList, openConnsList string
}

func registerDecideFlags(fs *flag.FlagSet, o *DecideOptions) {
	fs.IntVar(&o.Accounts, "decide-accounts", 0, "decisions: accounts bulk-loaded into the tenant (default 100000; -quick 10000)")
	fs.IntVar(&o.Orgs, "decide-orgs", 1000, "decisions: organizations, 6 levels")
	fs.IntVar(&o.Bindings, "decide-bindings", 10, "decisions: role bindings per account (distinct roles, depths 1-5)")
	fs.IntVar(&o.Roles, "decide-roles", 20, "decisions: roles the bindings draw from (>= -decide-bindings)")
	fs.IntVar(&o.Tokens, "decide-tokens", 0, "decisions: accounts signed in at core for tokens (default 500; -quick 200)")
	fs.DurationVar(&o.InprocTime, "decide-inproc-time", 0, "decide-inproc: measured time per operation (default 1s; -quick 200ms)")
	fs.DurationVar(&o.Duration, "decide-duration", 0, "decide-http-closed: measured time per operation and connection count (default 3s; -quick 1s)")
	fs.StringVar(&o.connsList, "decide-conns", "", "decide-http-closed: connection counts (default 2,16,100)")
	fs.IntVar(&o.OpenRate, "decide-open-rate", 5000, "decide-http-open: offered checks/s")
	fs.StringVar(&o.openConnsList, "decide-open-conns", "", "decide-http-open: connection counts the rate is spread over (default 100,500)")
	fs.DurationVar(&o.OpenDuration, "decide-open-duration", 0, "decide-http-open: measured time per connection count (default 5s; -quick 2s)")
	fs.BoolVar(&o.OpenNoGC, "decide-open-nogc", false, "decide-http-open, DIAGNOSTIC: disable the Go GC during each window (after a forced GC) to separate GC pauses and assists from the rest")
	fs.IntVar(&o.InvRounds, "decide-inv-rounds", 0, "decide-invalidation: rounds of concurrent changes (default 6; -quick 2)")
	fs.IntVar(&o.InvChanges, "decide-inv-changes", 10, "decide-invalidation: concurrent changes per round")
	fs.IntVar(&o.InvBgRate, "decide-inv-bg-rate", 2000, "decide-invalidation: background HTTP checks/s while the changes run (0: none)")
	fs.StringVar(&o.Client, "decide-client", "raw", "decisions: HTTP load client: raw (minimal HTTP/1.1 over net.Conn) or nethttp (net/http.Client)")
}

func (o *DecideOptions) setDefaults(quick bool) error {
	if o.Accounts == 0 {
		o.Accounts = pick(quick, 10_000, 100_000)
	}
	if o.Tokens == 0 {
		o.Tokens = pick(quick, 200, 500)
	}
	def := func(d *time.Duration, q, full time.Duration) {
		if *d == 0 {
			*d = pick(quick, q, full)
		}
	}
	def(&o.InprocTime, 200*time.Millisecond, time.Second)
	def(&o.Duration, time.Second, 3*time.Second)
	def(&o.OpenDuration, 2*time.Second, 5*time.Second)
	if o.InvRounds == 0 {
		o.InvRounds = pick(quick, 2, 6)
	}
	var err error
	if o.Conns, err = intList(o.connsList, quick, "2,16,100", "2,16,100"); err != nil {
		return fmt.Errorf("-decide-conns: %w", err)
	}
	if o.OpenConns, err = intList(o.openConnsList, quick, "100,500", "100,500"); err != nil {
		return fmt.Errorf("-decide-open-conns: %w", err)
	}
	switch {
	case o.Accounts < 100 || o.Accounts > 2_000_000:
		return errors.New("-decide-accounts must be in 100..2000000")
	case o.Orgs < 50 || o.Orgs > 100_000:
		return errors.New("-decide-orgs must be in 50..100000")
	case o.Bindings < 1 || o.Bindings > 50 || o.Roles < o.Bindings || o.Roles > 200:
		return errors.New("-decide-bindings must be in 1..50 and -decide-roles in -decide-bindings..200")
	case o.Tokens < 10 || o.Tokens > 10_000 || o.Tokens > o.Accounts/2:
		return errors.New("-decide-tokens must be in 10..10000 and at most half the accounts")
	case o.OpenRate < 1 || o.OpenRate > 200_000:
		return errors.New("-decide-open-rate must be in 1..200000")
	case o.InvChanges < 1 || o.InvChanges > 100 || o.InvRounds < 1 || o.InvBgRate < 0:
		return errors.New("-decide-inv-changes must be in 1..100, -decide-inv-rounds positive, -decide-inv-bg-rate >= 0")
	case o.Client != "raw" && o.Client != "nethttp":
		return errors.New("-decide-client must be raw or nethttp")
	}
	for _, c := range append(append([]int{}, o.Conns...), o.OpenConns...) {
		if c > 5000 {
			return errors.New("-decide-conns and -decide-open-conns are capped at 5000 (loopback sockets)")
		}
	}
	return nil
}

const (
	decideSlug     = "bench-decisions"
	decideLeafUser = "bench-decide-edge"
	decidePassword = "bench-decisions-password-1"
	decideCheckAim = 1 * time.Microsecond // in-process check
	decideRateAim  = 20_000               // HTTP checks/s
	decideOpenP99  = 5 * time.Millisecond // open loop at 5,000/s over 500 connections
	decideUsersP95 = 50 * time.Millisecond
	decideInvGoal  = 5 * time.Second
	decidePoolSize = 1 << 14 // prepared check requests
	decideReady    = 5 * time.Minute
)

// decideParams is the cheap Argon2id cost of the fixture's sign-ins: the
// scenarios measure decisions, not hashing (login-* does that).
var decideParams = password.Params{MemoryKiB: password.MinMemoryKiB, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

var decideVerbs = [...]string{"read", "write", "publish", "delete", "admin"}

// decideRolePerms returns the permissions of bulk role r: four from a
// catalog of 50 (svc0..svc9 × five verbs), plus a wildcard on role 0.
func decideRolePerms(r int) []string {
	g := r % 10
	ps := []string{
		fmt.Sprintf("svc%d.%s", g, decideVerbs[(r/10)%5]),
		fmt.Sprintf("svc%d.read", (g+1)%10),
		fmt.Sprintf("svc%d.%s", (g+3)%10, decideVerbs[(r+2)%5]),
		fmt.Sprintf("svc%d.admin", (g+7)%10),
	}
	if r == 0 {
		ps = append(ps, "svc0.*")
	}
	return ps
}

func decideCatalog() []string {
	var out []string
	for g := range 10 {
		for _, v := range decideVerbs {
			out = append(out, fmt.Sprintf("svc%d.%s", g, v))
		}
	}
	return out
}

// orgNode is one organization of the fixture's tree.
type orgNode struct {
	id       string
	parent   string
	depth    int
	children []int
}

// decideRole is one bulk role.
type decideRole struct {
	id    string
	perms []string
}

// invTarget is one role and binding the invalidation scenario changes:
// account holds role (permissions perm and keep) through binding on org;
// check is the leaf below org that the scenario checks.
type invTarget struct {
	role, binding, account, org, check string
	perm, keep                         string
}

// decideRig is the shared fixture of the decision scenarios.
type decideRig struct {
	opts     DecideOptions
	cf       *CoreFixture
	edge     *edge.Edge
	edgeStop context.CancelFunc
	edgeDone chan error
	dir      string
	tenantID string
	edgeAddr string
	dbURL    string

	orgs     []orgNode
	byDepth  [][]int
	roles    []decideRole
	accounts [][16]byte
	accIDs   []string
	tokens   []string // tokens[i] is account i's access token
	inv      []invTarget

	reqOnce                            sync.Once
	reqCheck, reqTokenCheck, reqVerify []decisionReq

	checks      []checkQ // prepared checks by account
	tokenChecks []checkQ // prepared checks by token
	verifies    []int    // token indexes in request order

	edgeDir      string
	bootErr      atomic.Pointer[string]
	bootFailures []string

	setupFacts []Param
	memBefore  MemSample // before edge.New (after GC and FreeOSMemory)
	memAfter   MemSample // edge caught up (after GC and FreeOSMemory)
	builtBy    string

	hook atomic.Pointer[func(replica.Applied)]
}

// checkQ is one prepared check; token >= 0 names tokens[token].
type checkQ struct {
	account, perm, org string
	token              int
	expectAllowed      bool // built from a binding: allowed unless something changed
}

var decideShared struct {
	sync.Mutex
	rig   *decideRig
	err   error
	tried bool
}

// decideFixture returns the shared fixture, building it on first use, and
// appends its description to res.
func decideFixture(ctx context.Context, env *Env, res *Result) (*decideRig, error) {
	decideShared.Lock()
	defer decideShared.Unlock()
	if !decideShared.tried {
		decideShared.tried = true
		start := time.Now()
		r, err := buildDecideRig(ctx, env, res.Scenario)
		if err != nil {
			decideShared.err = err
			if r != nil {
				r.Close()
			}
		} else {
			decideShared.rig = r
			r.setupFacts = append(r.setupFacts, Param{"fixture setup total", time.Since(start).Round(time.Millisecond).String()})
			env.onClose(r.Close)
		}
	}
	if decideShared.err != nil {
		return nil, fmt.Errorf("bench: decision fixture: %w", decideShared.err)
	}
	r := decideShared.rig
	o := r.opts
	replicaLine := Param{"replica", fmt.Sprintf("1 tenant: %d accounts, %d organizations (6 levels, depths 0-5), %d roles (+%d invalidation roles), %d role bindings per account on organizations of depths 1-5 (%d in all); %d access tokens",
		len(r.accIDs), len(r.orgs), len(r.roles), len(r.inv), o.Bindings, len(r.accIDs)*o.Bindings+len(r.inv), len(r.tokens))}
	bootLine := func() {
		if len(r.bootFailures) > 0 {
			res.Params = append(res.Params, Param{"EDGE BOOTSTRAP", fmt.Sprintf("%d failed attempt(s) before the edge in use bootstrapped: %s", len(r.bootFailures), strings.Join(r.bootFailures, "; "))})
		}
	}
	if r.builtBy != res.Scenario {
		res.Params = append(res.Params, replicaLine,
			Param{"fixture", "shared with " + r.builtBy + ", which built it earlier in this run (topology, setup steps and times are listed there)"})
		bootLine()
		return r, nil
	}
	res.Params = append(res.Params,
		Param{"topology", "core in-process (store pool 16, embedded NATS hub, relay) → leaf link (loopback) → ONE edge in-process (SQLite replica, decide.Decider, decision API on 127.0.0.1); the load generator runs in the same process: client, edge, core and PostgreSQL share the 2 cores"},
		replicaLine,
		Param{"how it got there", "roles over REST, organizations with the store API, accounts and bindings bulk-inserted into PostgreSQL (COPY, superuser), then the edge started with an EMPTY replica and bootstrapped from core's root-signed snapshot (automatic), then followed the stream"},
		Param{"tokens", fmt.Sprintf("%d distinct access tokens from POST …/auth/login at core (Argon2id %s for the fixture only; TTL 1 h)", len(r.tokens), decideParams)},
	)
	bootLine()
	res.Facts = append(res.Facts, r.setupFacts...)
	return r, nil
}

// buildDecideRig builds the fixture (see the file comment).
func buildDecideRig(ctx context.Context, env *Env, scenario string) (*decideRig, error) {
	o := env.Opts.Decide
	step := func(name string, t0 time.Time) Param {
		d := time.Since(t0).Round(time.Millisecond)
		env.Log.InfoContext(ctx, "decisions fixture", "step", name, "took", d)
		return Param{"setup: " + name, d.String()}
	}
	pg, err := env.Postgres(ctx)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	dbURL, err := pg.NewDatabase(ctx, "bench_decisions")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "iam-bench-decide-*")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	r := &decideRig{opts: o, dir: dir, dbURL: dbURL, builtBy: scenario}
	r.setupFacts = append(r.setupFacts, pg.Settings(ctx)...)
	leafPass := randomSecret()
	raw := make([]byte, keys.KEKSize)
	_, _ = rand.Read(raw)
	kek, err := keys.NewLocalKEK(raw)
	if err != nil {
		return r, fmt.Errorf("bench: key-encryption key: %w", err)
	}
	quiet := slog.New(slog.DiscardHandler)
	clog, elog := quiet, quiet
	if env.Opts.Verbose {
		clog, elog = env.Log.With("component", "core"), env.Log.With("component", "edge")
	}
	cfg := core.Config{DatabaseURL: dbURL, HTTPAddr: "127.0.0.1:0", BootstrapToken: benchToken, KEK: kek, Logger: clog,
		Auth: auth.Config{PasswordParams: decideParams, AccessTokenTTL: time.Hour},
		Hub: &hub.Config{DataDir: filepath.Join(dir, "hub"), ClientListen: "127.0.0.1:-1", LeafListen: "127.0.0.1:-1",
			LeafUsers: []hub.LeafCredential{{User: decideLeafUser, Password: leafPass}}}}
	c, err := core.New(ctx, cfg)
	if err != nil {
		return r, fmt.Errorf("bench: start core: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cf = &CoreFixture{core: c, cancel: cancel, done: make(chan error, 1), URL: "http://" + c.Addr(),
		Client: newLoadClient(16)}
	go func() { r.cf.done <- c.Run(runCtx) }()
	r.setupFacts = append(r.setupFacts, step("database + core + hub", t0))

	// Tenant and roles over REST (deltas).
	t0 = time.Now()
	var tenant struct {
		ID string `json:"id"`
	}
	if err := r.cf.Call(ctx, "POST", "/api/v1/tenants", map[string]string{"slug": decideSlug, "name": "Decisions"}, http.StatusCreated, &tenant); err != nil {
		return r, fmt.Errorf("bench: create tenant: %w", err)
	}
	r.tenantID = tenant.ID
	for i := range o.Roles {
		var role struct {
			ID string `json:"id"`
		}
		perms := decideRolePerms(i)
		if err := r.cf.Call(ctx, "POST", "/api/v1/tenants/"+decideSlug+"/roles", map[string]any{"name": fmt.Sprintf("role-%02d", i), "permissions": perms}, http.StatusCreated, &role); err != nil {
			return r, fmt.Errorf("bench: create role: %w", err)
		}
		r.roles = append(r.roles, decideRole{id: role.ID, perms: perms})
	}
	r.inv = make([]invTarget, o.InvChanges)
	for k := range r.inv {
		var role struct {
			ID string `json:"id"`
		}
		t := &r.inv[k]
		t.perm, t.keep = fmt.Sprintf("inv.k%d.read", k), fmt.Sprintf("inv.k%d.write", k)
		if err := r.cf.Call(ctx, "POST", "/api/v1/tenants/"+decideSlug+"/roles", map[string]any{"name": fmt.Sprintf("inv-%02d", k), "permissions": []string{t.perm, t.keep}}, http.StatusCreated, &role); err != nil {
			return r, fmt.Errorf("bench: create role: %w", err)
		}
		t.role = role.ID
	}
	r.setupFacts = append(r.setupFacts, step(fmt.Sprintf("tenant + %d roles (REST)", o.Roles+o.InvChanges), t0))

	// Organizations with the store API (audit + outbox rows, deltas).
	t0 = time.Now()
	if _, err := loadTree(ctx, c.Store(), decideSlug, o.Orgs, 2); err != nil {
		return r, err
	}
	if err := r.readOrgs(ctx); err != nil {
		return r, err
	}
	r.setupFacts = append(r.setupFacts, step(fmt.Sprintf("%d organizations (store API, 2 workers)", len(r.orgs)), t0))

	// Accounts and bindings bulk-inserted.
	t0 = time.Now()
	if err := r.bulkLoad(ctx); err != nil {
		return r, err
	}
	r.setupFacts = append(r.setupFacts, step(fmt.Sprintf("COPY %d accounts + %d bindings into PostgreSQL, VACUUM ANALYZE, CHECKPOINT", len(r.accIDs), len(r.accIDs)*o.Bindings), t0))

	// Invalidation bindings over REST, on accounts that sign in nowhere.
	t0 = time.Now()
	for k := range r.inv {
		t := &r.inv[k]
		t.account = r.accIDs[len(r.accIDs)-1-k]
		d2 := r.byDepth[2]
		org := d2[k%len(d2)]
		t.org, t.check = r.orgs[org].id, r.orgs[r.deepest(org, uint64(k))].id
		var b struct {
			ID string `json:"id"`
		}
		if err := r.cf.Call(ctx, "POST", "/api/v1/tenants/"+decideSlug+"/role-bindings", map[string]string{"account_id": t.account, "role_id": t.role, "organization_id": t.org}, http.StatusCreated, &b); err != nil {
			return r, fmt.Errorf("bench: create binding: %w", err)
		}
		t.binding = b.ID
	}
	r.setupFacts = append(r.setupFacts, step(fmt.Sprintf("%d invalidation bindings (REST)", len(r.inv)), t0))

	// Sign-ins for tokens.
	t0 = time.Now()
	if err := r.signIn(ctx, o.Tokens); err != nil {
		return r, err
	}
	r.setupFacts = append(r.setupFacts, step(fmt.Sprintf("%d sign-ins at core (REST, 8 at a time)", len(r.tokens)), t0))

	// The edge: empty replica → snapshot bootstrap → stream. A failed
	// bootstrap is retried with a fresh edge (see startEdge).
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	r.memBefore = SampleSelf()
	for attempt := 1; ; attempt++ {
		t0 = time.Now()
		err := r.startEdge(ctx, attempt, leafPass, elog)
		if err == nil {
			err = r.waitEdgeReady(ctx)
		}
		if err == nil {
			r.setupFacts = append(r.setupFacts, Param{"setup: edge start → replica bootstrapped from the signed snapshot, decider loaded, caught up with the stream", time.Since(t0).Round(time.Millisecond).String()})
			break
		}
		if !errors.Is(err, errEdgeBootstrap) || attempt == decideEdgeAttempts {
			return r, err
		}
		r.bootFailures = append(r.bootFailures, fmt.Sprintf("attempt %d after %s: %v", attempt, time.Since(t0).Round(time.Millisecond), err))
		env.Log.WarnContext(ctx, "decisions fixture: edge bootstrap failed, starting a fresh edge", "attempt", attempt, "error", err)
		r.stopEdge()
		_ = os.RemoveAll(r.edgeDir)
	}
	if len(r.bootFailures) > 0 {
		r.setupFacts = append(r.setupFacts, Param{"EDGE BOOTSTRAP FAILURES (the edge gave up; the fixture started a fresh one)", strings.Join(r.bootFailures, "; ")})
	}
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	r.memAfter = SampleSelf()
	idle0 := takeCPU()
	time.Sleep(time.Second)
	r.setupFacts = append(r.setupFacts, cpuFact("machine before the first measurement (1 s, fixture idle)", idle0, takeCPU()))
	r.prepareChecks()
	return r, nil
}

// decideEdgeAttempts bounds the fresh edges the fixture starts.
const decideEdgeAttempts = 4

// errEdgeBootstrap marks an edge that logged a failed snapshot bootstrap.
var errEdgeBootstrap = errors.New("edge snapshot bootstrap failed")

// startEdge starts attempt n of the edge in a fresh data directory (each
// attempt with its own name, so its own JetStream consumer and domain).
func (r *decideRig) startEdge(ctx context.Context, n int, leafPass string, elog *slog.Logger) error {
	c := r.cf.core
	anchor, err := c.SystemAnchor(ctx)
	if err != nil {
		return err
	}
	name := "bench-decide"
	if n > 1 {
		name = fmt.Sprintf("bench-decide-%d", n)
	}
	r.edgeDir = filepath.Join(r.dir, name)
	r.bootErr.Store(nil)
	watch := slog.New(bootWatch{next: elog.Handler(), failed: &r.bootErr})
	e, err := edge.New(ctx, edge.Config{Name: name, DataDir: r.edgeDir,
		HubLeafURL: c.Hub().LeafURL(), User: decideLeafUser, Password: leafPass, TrustAnchor: anchor,
		IssuerBase: c.PublicURL(), HTTPAddr: "127.0.0.1:0", Logger: watch, OnApplied: r.onApplied})
	if err != nil {
		return fmt.Errorf("bench: start edge: %w", err)
	}
	r.edge, r.edgeAddr = e, e.Addr()
	ectx, ecancel := context.WithCancel(context.WithoutCancel(ctx))
	r.edgeStop, r.edgeDone = ecancel, make(chan error, 1)
	go func() { r.edgeDone <- e.Run(ectx) }()
	return nil
}

// stopEdge stops and closes the edge.
func (r *decideRig) stopEdge() {
	if r.edge == nil {
		return
	}
	r.edgeStop()
	if err := <-r.edgeDone; err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "bench: edge stopped:", err)
	}
	_ = r.edge.Close()
	r.edge = nil
}

// bootWatch is the edge's log handler: it passes records on and notes the
// edge's "snapshot bootstrap failed" warnings.
type bootWatch struct {
	next   slog.Handler
	failed *atomic.Pointer[string]
}

func (b bootWatch) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || b.next.Enabled(ctx, l)
}

func (b bootWatch) Handle(ctx context.Context, rec slog.Record) error {
	if strings.HasPrefix(rec.Message, "snapshot bootstrap failed") {
		msg := rec.Message
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "error" {
				msg = a.Value.String()
			}
			return true
		})
		b.failed.CompareAndSwap(nil, &msg)
	}
	if b.next.Enabled(ctx, rec.Level) {
		return b.next.Handle(ctx, rec)
	}
	return nil
}

func (b bootWatch) WithAttrs(as []slog.Attr) slog.Handler {
	return bootWatch{next: b.next.WithAttrs(as), failed: b.failed}
}

func (b bootWatch) WithGroup(name string) slog.Handler {
	return bootWatch{next: b.next.WithGroup(name), failed: b.failed}
}

// readOrgs loads the tree the store built (superuser: no RLS).
func (r *decideRig) readOrgs(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, r.dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT id::text, coalesce(parent_id::text, ''), depth FROM organizations WHERE tenant_id = $1 ORDER BY depth, path`, r.tenantID)
	if err != nil {
		return err
	}
	index := map[string]int{}
	for rows.Next() {
		var n orgNode
		if err := rows.Scan(&n.id, &n.parent, &n.depth); err != nil {
			rows.Close()
			return err
		}
		index[n.id] = len(r.orgs)
		r.orgs = append(r.orgs, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	r.byDepth = make([][]int, treeLevels)
	for i, n := range r.orgs {
		if n.depth >= treeLevels {
			return fmt.Errorf("bench: organization at depth %d", n.depth)
		}
		r.byDepth[n.depth] = append(r.byDepth[n.depth], i)
		if p, ok := index[n.parent]; ok {
			r.orgs[p].children = append(r.orgs[p].children, i)
		}
	}
	for d := 1; d < treeLevels; d++ {
		if len(r.byDepth[d]) == 0 {
			return fmt.Errorf("bench: no organization at depth %d (need at least %d organizations)", d, treeLevels)
		}
	}
	return nil
}

// mix64 is splitmix64: a deterministic hash for the fixture's choices.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// binding returns the role and organization of binding j of account i.
func (r *decideRig) binding(i, j int) (role, org int) {
	depth := 1 + j%(treeLevels-1)
	level := r.byDepth[depth]
	return (i*7 + j) % len(r.roles), level[mix64(uint64(i)<<8|uint64(j))%uint64(len(level))]
}

// deepest walks from org down random children to a leaf.
func (r *decideRig) deepest(org int, seed uint64) int {
	for len(r.orgs[org].children) > 0 {
		seed = mix64(seed)
		org = r.orgs[org].children[seed%uint64(len(r.orgs[org].children))]
	}
	return org
}

// newUUID returns a version 7 UUID (time-ordered, as core's ids).
func newUUID() [16]byte {
	var u [16]byte
	_, _ = rand.Read(u[:])
	ms := uint64(time.Now().UnixMilli())
	binary.BigEndian.PutUint16(u[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(u[2:6], uint32(ms))
	u[6] = u[6]&0x0f | 0x70
	u[8] = u[8]&0x3f | 0x80
	return u
}

func uuidString(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

func parseUUID(s string) (pgtype.UUID, error) {
	var u pgtype.UUID
	err := u.Scan(s)
	return u, err
}

// bulkLoad inserts the accounts (the first o.Tokens with a password hash)
// and their bindings with COPY in one transaction, as the superuser, with
// the FK triggers off (session_replication_role = replica: the generated
// rows reference only rows that exist), then ANALYZEs.
func (r *decideRig) bulkLoad(ctx context.Context) error {
	o := r.opts
	hash, err := password.Hash(decidePassword, decideParams)
	if err != nil {
		return err
	}
	tenant, err := parseUUID(r.tenantID)
	if err != nil {
		return err
	}
	orgIDs := make([]pgtype.UUID, len(r.orgs))
	for i, n := range r.orgs {
		if orgIDs[i], err = parseUUID(n.id); err != nil {
			return err
		}
	}
	roleIDs := make([]pgtype.UUID, len(r.roles))
	for i, ro := range r.roles {
		if roleIDs[i], err = parseUUID(ro.id); err != nil {
			return err
		}
	}
	r.accounts = make([][16]byte, o.Accounts)
	r.accIDs = make([]string, o.Accounts)
	for i := range r.accounts {
		r.accounts[i] = newUUID()
		r.accIDs[i] = uuidString(r.accounts[i])
	}
	conn, err := pgx.Connect(ctx, r.dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			return err
		}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{"accounts"},
			[]string{"tenant_id", "id", "username", "email", "display_name", "password_hash"},
			pgx.CopyFromFunc(func() func() ([]any, error) {
				i := -1
				return func() ([]any, error) {
					i++
					if i >= o.Accounts {
						return nil, nil
					}
					var ph any
					if i < o.Tokens {
						ph = hash
					}
					u := fmt.Sprintf("u%07d", i)
					return []any{tenant, pgtype.UUID{Bytes: r.accounts[i], Valid: true}, u, u + "@bench.example", "Bench User", ph}, nil
				}
			}()))
		if err != nil {
			return fmt.Errorf("copy accounts: %w", err)
		}
		if int(n) != o.Accounts {
			return fmt.Errorf("copied %d of %d accounts", n, o.Accounts)
		}
		total := o.Accounts * o.Bindings
		n, err = tx.CopyFrom(ctx, pgx.Identifier{"role_bindings"},
			[]string{"tenant_id", "id", "account_id", "role_id", "organization_id"},
			pgx.CopyFromFunc(func() func() ([]any, error) {
				k := -1
				return func() ([]any, error) {
					k++
					if k >= total {
						return nil, nil
					}
					i, j := k/o.Bindings, k%o.Bindings
					role, org := r.binding(i, j)
					return []any{tenant, pgtype.UUID{Bytes: newUUID(), Valid: true}, pgtype.UUID{Bytes: r.accounts[i], Valid: true}, roleIDs[role], orgIDs[org]}, nil
				}
			}()))
		if err != nil {
			return fmt.Errorf("copy role_bindings: %w", err)
		}
		if int(n) != total {
			return fmt.Errorf("copied %d of %d bindings", n, total)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bench: bulk load: %w", err)
	}
	// VACUUM now rather than autovacuum during the measurements; CHECKPOINT
	// flushes the load's dirty pages now, too.
	for _, q := range []string{`VACUUM (ANALYZE) accounts, role_bindings`, `CHECKPOINT`} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("bench: %s: %w", q, err)
		}
	}
	return nil
}

// signIn signs accounts 0..n-1 in at core, 8 at a time.
func (r *decideRig) signIn(ctx context.Context, n int) error {
	r.tokens = make([]string, n)
	next := make(chan int)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range next {
				var tok tokenPair
				body := map[string]string{"username": fmt.Sprintf("u%07d", i), "password": decidePassword}
				if err := r.cf.Call(ctx, "POST", "/api/v1/tenants/"+decideSlug+"/auth/login", body, http.StatusOK, &tok); err != nil {
					select {
					case errc <- fmt.Errorf("bench: sign in u%07d: %w", i, err):
					default:
					}
					continue
				}
				r.tokens[i] = tok.AccessToken
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	return nil
}

// onApplied runs on the edge's consumer goroutine after the decider has
// applied each delta.
func (r *decideRig) onApplied(a replica.Applied) {
	if h := r.hook.Load(); h != nil {
		(*h)(a)
	}
}

// waitEdgeReady waits until the edge follows the tenant, has caught up with
// the hub's stream head, and its decider grants a check built from a binding.
func (r *decideRig) waitEdgeReady(ctx context.Context) error {
	deadline := time.Now().Add(decideReady)
	role, org := r.binding(0, 0)
	probeOrg := r.orgs[r.deepest(org, 1)].id
	for {
		if msg := r.bootErr.Load(); msg != nil {
			return fmt.Errorf("%w: %s", errEdgeBootstrap, *msg)
		}
		seq, _ := r.edge.Replica().TenantSeq(r.tenantID)
		head, err := r.cf.core.Hub().LastSequence(ctx)
		if err == nil && seq > 0 && r.edge.Replica().StreamCursor() >= head &&
			r.edge.Decider().Check(r.tenantID, r.accIDs[0], r.roles[role].perms[0], probeOrg).Allowed {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: the edge was not ready within %s (tenant seq %d, cursor %d, hub head %d)", decideReady, seq, r.edge.Replica().StreamCursor(), head)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// prepareChecks builds the request pools: half of the checks come from a
// binding of the account (a permission of the bound role on a leaf below
// the bound organization: allowed), half are a random permission of the
// catalog on a random organization (mostly denied, the longer walk).
func (r *decideRig) prepareChecks() {
	catalog := decideCatalog()
	o := r.opts
	mk := func(seed uint64, account int, token int) checkQ {
		h := mix64(seed)
		q := checkQ{account: r.accIDs[account], token: token}
		if h&1 == 0 {
			j := int((h >> 1) % uint64(o.Bindings))
			role, org := r.binding(account, j)
			ps := r.roles[role].perms
			q.perm = ps[(h>>8)%uint64(len(ps))]
			if q.perm == "svc0.*" {
				q.perm = "svc0.delete"
			}
			q.org = r.orgs[r.deepest(org, h>>16)].id
			q.expectAllowed = true
		} else {
			q.perm = catalog[(h>>1)%uint64(len(catalog))]
			q.org = r.orgs[(h>>16)%uint64(len(r.orgs))].id
		}
		return q
	}
	r.checks = make([]checkQ, decidePoolSize)
	for i := range r.checks {
		acc := int(mix64(uint64(i)+1<<40) % uint64(len(r.accIDs)-len(r.inv)))
		r.checks[i] = mk(uint64(i), acc, -1)
	}
	r.tokenChecks = make([]checkQ, decidePoolSize)
	r.verifies = make([]int, decidePoolSize)
	for i := range r.tokenChecks {
		t := i % len(r.tokens)
		r.tokenChecks[i] = mk(uint64(i)+1<<41, t, t)
		r.verifies[i] = int(mix64(uint64(i)+1<<42) % uint64(len(r.tokens)))
	}
}

// Close stops the edge and core and removes the data directory.
func (r *decideRig) Close() {
	r.stopEdge()
	if r.cf != nil {
		_ = r.cf.Close()
	}
	_ = os.RemoveAll(r.dir)
}
