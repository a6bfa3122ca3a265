package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Scenario is one named, selectable benchmark. Run fills in res (parameters,
// facts, measurements, notes); the harness sets the name, the command and
// the elapsed time, and records a returned error in the report.
type Scenario struct {
	Name        string
	Description string
	// Foundation marks the scenarios of the default set.
	Foundation bool
	Run        func(ctx context.Context, env *Env, res *Result) error
}

// scenarios is the registry, in the order they run. Later issues append
// login, verify/check and delta-latency scenarios here.
var scenarios = []Scenario{
	{Name: "subtree", Foundation: true, Run: runSubtree,
		Description: "organization subtree listing (store and HTTP), 6 levels, paged by 1,000"},
	{Name: "mutations", Foundation: true, Run: runMutations,
		Description: "HTTP create throughput (accounts, organizations; audit + outbox in the same tx)"},
	{Name: "coldstart", Foundation: true, Run: runColdStart,
		Description: "`iam dev` exec → first 200 from /readyz, fresh (initdb) and warm; clean stop"},
	{Name: "login-ceiling", Run: runLoginCeiling,
		Description: "raw Argon2id hashes/s, then sustained HTTP logins/s at 2, 4, 8 closed-loop clients vs that ceiling"},
	{Name: "login-open", Run: runLoginOpen,
		Description: "open-loop logins at 80 % of the hashing ceiling, latency from the intended send time"},
	{Name: "login-storm", Run: runLoginStorm,
		Description: "500 concurrent login clients: served vs refused (503), bounded waits, peak memory, queue depth"},
	{Name: "refresh", Run: runRefresh,
		Description: "refresh-token rotation at 100 concurrent sessions (each with its latest token)"},
	{Name: "jwks", Run: runJWKS,
		Description: "GET jwks.json and openid-configuration, 16 closed-loop clients"},
	{Name: "delta-latency", Run: runDeltaLatency,
		Description: "commit at core → applied at the edge, open loop at constant rates (core + hub + relay + edge in-process)"},
	{Name: "delta-rate", Run: runDeltaRate,
		Description: "highest sustained delta rate end to end: N account creates as fast as possible, first commit → last applied at the edge"},
	{Name: "decide-inproc", Run: runDecideInproc,
		Description: "in-process Decider.Check / VerifyToken / CheckToken (cached and uncached), ns/op and allocs/op, on a 100k-account replica"},
	{Name: "decide-http-closed", Run: runDecideHTTPClosed,
		Description: "highest sustained verify and check rate over HTTP on loopback, closed loop at 2, 16, 100 connections"},
	{Name: "decide-http-open", Run: runDecideHTTPOpen,
		Description: "constant offered check rate over 100 and 500 connections, open loop, latency from the intended send time"},
	{Name: "decide-invalidation", Run: runDecideInvalidation,
		Description: "concurrent role changes at core → first denied check at the edge (decider and HTTP), while checks run"},
	{Name: "decide-memory", Run: runDecideMemory,
		Description: "edge memory per 100,000 accounts (Decider heap, whole edge start) and SQLite replica size"},
	{Name: "device-sync", Run: runDeviceSync,
		Description: "device WebSocket sync at one edge: handshakes/s and latency, memory per connection, renewal round trip, fan-out of one transaction's Device deltas to every connection, revocation close"},
}

// selectScenarios resolves a comma-separated list ("" means the foundation set).
func selectScenarios(list string) ([]Scenario, error) {
	if strings.TrimSpace(list) == "" {
		var out []Scenario
		for _, s := range scenarios {
			if s.Foundation {
				out = append(out, s)
			}
		}
		return out, nil
	}
	var out []Scenario
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		if names, ok := scenarioAliases[name]; ok {
			for _, a := range names {
				i := slices.IndexFunc(scenarios, func(s Scenario) bool { return s.Name == a })
				out = append(out, scenarios[i])
			}
			continue
		}
		i := slices.IndexFunc(scenarios, func(s Scenario) bool { return s.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("bench: unknown scenario %q (have: %s)", name, scenarioNames())
		}
		out = append(out, scenarios[i])
	}
	return out, nil
}

func scenarioNames() string {
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// Env is what scenarios share: options, the logger, and one PostgreSQL
// cluster started on first use (each scenario makes its own database in it).
type Env struct {
	Opts Options
	Log  *slog.Logger

	pgOnce sync.Once
	pg     *PGFixture
	pgErr  error

	closers []func() // fixtures shared by several scenarios, closed before the cluster
}

// onClose registers f to run when the run ends (before the cluster stops).
func (e *Env) onClose(f func()) { e.closers = append(e.closers, f) }

// Postgres returns the shared cluster, starting it on first call.
func (e *Env) Postgres(ctx context.Context) (*PGFixture, error) {
	e.pgOnce.Do(func() { e.pg, e.pgErr = StartPostgres(ctx, e.Log) })
	return e.pg, e.pgErr
}

// Close closes the shared fixtures (last first), then stops the shared
// cluster if one was started.
func (e *Env) Close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
	if e.pg != nil {
		e.pg.Close()
	}
}

// runScenario runs s and returns its result, never nil.
func runScenario(ctx context.Context, env *Env, s Scenario) *Result {
	res := &Result{Scenario: s.Name, Description: s.Description, Command: env.Opts.reproduce(s.Name)}
	env.Log.InfoContext(ctx, "scenario started", "scenario", s.Name)
	start := time.Now()
	if err := s.Run(ctx, env, res); err != nil {
		res.Error = err.Error()
		env.Log.ErrorContext(ctx, "scenario failed", "scenario", s.Name, "error", err)
	}
	res.Elapsed = time.Since(start)
	env.Log.InfoContext(ctx, "scenario done", "scenario", s.Name, "took", res.Elapsed.Round(time.Millisecond))
	return res
}
