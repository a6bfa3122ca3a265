package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reference figures from /work/shared/LIMITS.md: one Postgres transaction of
// BEGIN + upsert + outbox INSERT + COMMIT with synchronous_commit on.
const (
	limitsTxP50       = 517 * time.Microsecond
	limitsTxPerSecOne = 1900
	limitsTxPerSec8   = 3500
	mutTenant         = "bench-mutations"
)

// mutationKind is one create endpoint under test.
type mutationKind struct {
	name string
	path string
	body func(run, worker, seq int) any
}

func runMutations(ctx context.Context, env *Env, res *Result) error {
	pg, err := env.Postgres(ctx)
	if err != nil {
		return err
	}
	dbURL, err := pg.NewDatabase(ctx, "bench_mutations")
	if err != nil {
		return err
	}
	maxClients := 0
	for _, c := range env.Opts.MutConcurrency {
		maxClients = max(maxClients, c)
	}
	cf, err := StartCore(ctx, dbURL, maxClients)
	if err != nil {
		return err
	}
	defer func() { _ = cf.Close() }()
	var tenant struct {
		ID string `json:"id"`
	}
	if err := cf.Call(ctx, "POST", "/api/v1/tenants", map[string]string{"slug": mutTenant, "name": "Mutations"}, http.StatusCreated, &tenant); err != nil {
		return fmt.Errorf("bench: create tenant: %w", err)
	}
	var parent struct {
		ID string `json:"id"`
	}
	base := "/api/v1/tenants/" + mutTenant
	if err := cf.Call(ctx, "POST", base+"/organizations", map[string]string{"name": "parent"}, http.StatusCreated, &parent); err != nil {
		return fmt.Errorf("bench: create parent organization: %w", err)
	}
	kinds := []mutationKind{
		{name: "POST accounts", path: base + "/accounts", body: func(run, w, seq int) any {
			u := fmt.Sprintf("u%d-%d-%d", run, w, seq)
			return map[string]string{"username": u, "email": u + "@bench.example", "display_name": "Bench User"}
		}},
		{name: "POST organizations", path: base + "/organizations", body: func(run, w, seq int) any {
			return map[string]string{"name": fmt.Sprintf("org %d-%d-%d", run, w, seq), "parent_id": parent.ID}
		}},
	}
	res.Params = append(res.Params,
		Param{"clients", fmt.Sprint(env.Opts.MutConcurrency) + " closed-loop (each sends its next request when the last answers)"},
		Param{"duration", fmt.Sprintf("%s per kind and client count (cap %d requests), after a %s warm-up at 8 clients", env.Opts.MutDuration, env.Opts.MutMaxOps, warmup(env.Opts))},
		Param{"requests", "POST accounts (unique username) and POST organizations (child of one parent); no Idempotency-Key"},
		Param{"server", "in-process core, store pool 16 connections (store default), bootstrap-token auth, keep-alive"},
		Param{"per create (server)", "1 tx: tenant lookup+scope, [org: shared advisory lock, parent lookup], INSERT … RETURNING, audit INSERT, outbox INSERT, COMMIT"},
	)
	res.Params = append(res.Params, pg.Settings(ctx)...)
	before := SampleSelf()
	run := 0
	for _, k := range kinds {
		run++
		warm := runClosedLoop(ctx, 8, warmup(env.Opts), env.Opts.MutMaxOps, func(ctx context.Context, w, seq int) error {
			return cf.Call(ctx, "POST", k.path, k.body(run, w, seq), http.StatusCreated, nil)
		})
		if s := warm.Summary(); s.Errors > 0 {
			return fmt.Errorf("bench: warm-up of %s: %d errors, e.g. %v", k.name, s.Errors, s.ErrSample)
		}
		for _, c := range env.Opts.MutConcurrency {
			run++
			if err := measureMutations(ctx, env, res, cf, dbURL, tenant.ID, k, run, c); err != nil {
				return err
			}
		}
	}
	res.Facts = append(res.Facts, memFacts(before, SampleSelf())...)
	res.Notes = append(res.Notes, fmt.Sprintf("LIMITS.md reference: one tx BEGIN+upsert+outbox+COMMIT p50 %s, %d tx/s on one connection, %d on 8. "+
		"A create here is one such tx with 4–6 statements instead of 2, plus HTTP, JSON and a tenant lookup, on the same 2 cores as the client.",
		fmtDur(limitsTxP50), limitsTxPerSecOne, limitsTxPerSec8))
	return nil
}

func warmup(o Options) time.Duration { return pick(o.Quick, 500*time.Millisecond, time.Second) }

// measureMutations runs one kind at one client count and checks that every
// 201 left exactly one audit row and one outbox row.
func measureMutations(ctx context.Context, env *Env, res *Result, cf *CoreFixture, dbURL, tenantID string, k mutationKind, run, clients int) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	audit0, outbox0, err := sideRows(ctx, conn, tenantID)
	if err != nil {
		return err
	}
	env.Log.InfoContext(ctx, "mutations: run", "kind", k.name, "clients", clients)
	rec := runClosedLoop(ctx, clients, env.Opts.MutDuration, env.Opts.MutMaxOps, func(ctx context.Context, w, seq int) error {
		return cf.Call(ctx, "POST", k.path, k.body(run, w, seq), http.StatusCreated, nil)
	})
	s := rec.Summary()
	audit1, outbox1, err := sideRows(ctx, conn, tenantID)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s ×%d", k.name, clients)
	res.Measurements = append(res.Measurements, Measurement{Name: name, Summary: s})
	check := "ok"
	if audit1-audit0 != int64(s.Count) || outbox1-outbox0 != int64(s.Count) {
		check = "MISMATCH"
	}
	res.Facts = append(res.Facts, Param{name + " audit/outbox rows added",
		fmt.Sprintf("%d / %d for %d creates answered 201: %s", audit1-audit0, outbox1-outbox0, s.Count, check)})
	if check != "ok" {
		return fmt.Errorf("bench: %s: audit/outbox rows do not match the creates", name)
	}
	return nil
}

// sideRows counts the tenant's audit and outbox rows (as superuser: no RLS).
func sideRows(ctx context.Context, conn *pgx.Conn, tenantID string) (audit, outbox int64, err error) {
	err = conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM audit_events WHERE tenant_id = $1::uuid),
		(SELECT count(*) FROM outbox WHERE tenant_id = $1::uuid)`, tenantID).Scan(&audit, &outbox)
	return audit, outbox, err
}
