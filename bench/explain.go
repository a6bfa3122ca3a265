package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// subtreeQuery is store.Tx.ListSubtree's statement with literal arguments.
const subtreeQuery = `SELECT id, parent_id, name, depth, path, version, created_at, updated_at FROM organizations
	WHERE tenant_id = '%s' AND path >= '%s' AND path < '%s' ORDER BY path%s`

var execTimeRE = regexp.MustCompile(`Execution Time: ([0-9.]+) ms`)

// explain runs EXPLAIN (ANALYZE, BUFFERS) on the subtree query as the service
// role under row-level security: the first page (custom and generic plan),
// a page from the middle, and the whole subtree in one statement; it also
// times fetching the whole subtree in one statement into Go, the floor for
// any paging design with this row format.
func (r *subtreeRun) explain(ctx context.Context, label string) error {
	conn, err := pgx.Connect(ctx, r.dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var tenant, rootPath, midPath string
	err = conn.QueryRow(ctx, `SELECT t.id::text, o.path FROM tenants t JOIN organizations o ON o.tenant_id = t.id
		WHERE t.slug = $1 AND o.id = $2`, r.slug, r.root.UUID).Scan(&tenant, &rootPath)
	if err != nil {
		return fmt.Errorf("bench: explain: %w", err)
	}
	err = conn.QueryRow(ctx, `SELECT path FROM organizations WHERE tenant_id = $1::uuid ORDER BY path OFFSET $2 LIMIT 1`,
		tenant, r.size/2).Scan(&midPath)
	if err != nil {
		return fmt.Errorf("bench: explain: %w", err)
	}
	end := rootPath[:len(rootPath)-1] + "0" // '/'+1, as store.prefixEnd
	limit := fmt.Sprintf(" LIMIT %d", subtreePageSize+1)
	firstQ := fmt.Sprintf(subtreeQuery, tenant, rootPath, end, limit)
	midQ := strings.Replace(fmt.Sprintf(subtreeQuery, tenant, midPath, end, limit), "path >= ", "path > ", 1)
	wholeQ := fmt.Sprintf(subtreeQuery, tenant, rootPath, end, "")

	first, err := explainAs(ctx, conn, tenant, "EXPLAIN (ANALYZE, BUFFERS) "+firstQ)
	if err != nil {
		return err
	}
	mid, err := explainAs(ctx, conn, tenant, "EXPLAIN (ANALYZE, BUFFERS) "+midQ)
	if err != nil {
		return err
	}
	whole, err := explainAs(ctx, conn, tenant, "EXPLAIN (ANALYZE, BUFFERS) "+wholeQ)
	if err != nil {
		return err
	}
	forceIndex := []string{"SET LOCAL enable_seqscan = off", "SET LOCAL enable_sort = off"}
	wholeIdx, err := explainAs(ctx, conn, tenant, "EXPLAIN (ANALYZE, BUFFERS) "+wholeQ, forceIndex...)
	if err != nil {
		return err
	}
	generic, err := explainGeneric(ctx, conn, tenant, rootPath, end)
	if err != nil {
		return err
	}
	fetch, err := fetchWhole(ctx, conn, tenant, wholeQ)
	if err != nil {
		return err
	}
	fetchIdx, err := fetchWhole(ctx, conn, tenant, wholeQ, forceIndex...)
	if err != nil {
		return err
	}
	var corr string
	err = conn.QueryRow(ctx, `SELECT coalesce(max(correlation)::text, 'n/a') FROM pg_stats
		WHERE tablename = 'organizations' AND attname = 'path'`).Scan(&corr)
	if err != nil {
		return fmt.Errorf("bench: explain: %w", err)
	}
	r.res.Facts = append(r.res.Facts,
		Param{label + " pg_stats correlation of organizations.path (heap order vs path order)", corr},
		Param{label + " EXPLAIN first page (custom plan)", planSummary(first)},
		Param{label + " EXPLAIN middle page", planSummary(mid)},
		Param{label + " EXPLAIN whole subtree, one statement, no LIMIT", planSummary(whole)},
		Param{label + " EXPLAIN whole subtree, index forced (enable_seqscan/sort off)", planSummary(wholeIdx)},
		Param{label + " whole subtree in one statement fetched into Go (pgx, best of 3)",
			fmt.Sprintf("%s with the planner's plan, %s with the index forced", fetch.Round(10*time.Microsecond), fetchIdx.Round(10*time.Microsecond))},
	)
	if r.size == r.env.Opts.SubtreeSizes[len(r.env.Opts.SubtreeSizes)-1] {
		r.res.Plans = append(r.res.Plans,
			Param{label + " first page, custom plan (as iam_app, RLS on)", first},
			Param{label + " first page, generic plan (what a cached prepared statement may use)", generic},
			Param{label + " middle page, custom plan", mid})
	}
	if strings.Contains(mid, "Seq Scan") || strings.Contains(first, "Seq Scan") {
		r.res.Notes = append(r.res.Notes, fmt.Sprintf("%s: with literal (custom-plan) parameters the planner chose a Seq Scan + Sort "+
			"for a page instead of walking organizations_path (first page: %s; middle page: %s). pgx's cached prepared statement "+
			"moves to the generic plan (index scan) after 5 executions on a connection; cheap at this size, worth watching as tenants grow.",
			label, execTime(first), execTime(mid)))
	}
	return nil
}

// explainAs runs one EXPLAIN as iam_app with the tenant scope set, and
// returns the plan text.
func explainAs(ctx context.Context, conn *pgx.Conn, tenant, stmt string, setup ...string) (string, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	pre := append([]string{"SET LOCAL ROLE iam_app", "SELECT set_config('iam.tenant_id', '" + tenant + "', true)"}, setup...)
	for _, s := range pre {
		if _, err := tx.Exec(ctx, s); err != nil {
			return "", fmt.Errorf("bench: explain setup %q: %w", s, err)
		}
	}
	rows, err := tx.Query(ctx, stmt, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return "", fmt.Errorf("bench: explain: %w", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", fmt.Errorf("bench: explain: %w", err)
	}
	return strings.Join(lines, "\n"), nil
}

// explainGeneric shows the generic plan of the prepared statement.
func explainGeneric(ctx context.Context, conn *pgx.Conn, tenant, from, end string) (string, error) {
	prep := `PREPARE bench_subtree(uuid, text, text, int) AS SELECT id, parent_id, name, depth, path, version, created_at, updated_at
		FROM organizations WHERE tenant_id = $1 AND path >= $2 AND path < $3 ORDER BY path LIMIT $4`
	stmt := fmt.Sprintf("EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_subtree('%s', '%s', '%s', %d)", tenant, from, end, subtreePageSize+1)
	plan, err := explainAs(ctx, conn, tenant, stmt, "SET LOCAL plan_cache_mode = force_generic_plan", prep)
	_, _ = conn.Exec(ctx, "DEALLOCATE ALL")
	return plan, err
}

// fetchWhole times reading every row of the subtree in one statement, after
// the setup statements (SET LOCAL …).
func fetchWhole(ctx context.Context, conn *pgx.Conn, tenant, q string, setup ...string) (time.Duration, error) {
	best := time.Duration(1<<63 - 1)
	for range 3 {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return 0, err
		}
		pre := append([]string{"SET LOCAL ROLE iam_app", "SELECT set_config('iam.tenant_id', '" + tenant + "', true)"}, setup...)
		for _, s := range pre {
			if _, err := tx.Exec(ctx, s); err != nil {
				_ = tx.Rollback(ctx)
				return 0, fmt.Errorf("bench: fetch setup %q: %w", s, err)
			}
		}
		start := time.Now()
		rows, err := tx.Query(ctx, q)
		if err != nil {
			_ = tx.Rollback(ctx)
			return 0, err
		}
		n := 0
		for rows.Next() {
			var id, name, path string
			var parent *string
			var depth int
			var version int64
			var created, updated time.Time
			if err := rows.Scan(&id, &parent, &name, &depth, &path, &version, &created, &updated); err != nil {
				rows.Close()
				_ = tx.Rollback(ctx)
				return 0, err
			}
			n++
		}
		rows.Close()
		took := time.Since(start)
		_ = tx.Rollback(ctx)
		if err := rows.Err(); err != nil {
			return 0, err
		}
		best = min(best, took)
	}
	return best, nil
}

// execTime extracts "Execution Time" from a plan.
func execTime(plan string) string {
	if m := execTimeRE.FindStringSubmatch(plan); m != nil {
		return m[1] + " ms"
	}
	return "?"
}

// planSummary condenses a plan to its top node, buffers and execution time.
func planSummary(plan string) string {
	lines := strings.Split(plan, "\n")
	var nodes []string
	for _, l := range lines {
		t := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "->"))
		if i := strings.Index(t, "  (cost="); i > 0 && len(nodes) < 3 {
			nodes = append(nodes, strings.TrimSpace(t[:i]))
		}
	}
	buffers := ""
	for _, l := range lines {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "Buffers:") {
			buffers = t
			break
		}
	}
	return fmt.Sprintf("%s; %s; execution %s", strings.Join(nodes, " → "), buffers, execTime(plan))
}
