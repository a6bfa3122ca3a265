package store_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/test/pgtest"
)

// schemaDigest summarises the catalog so two states can be compared.
const schemaDigest = `SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
  SELECT c.relname || ':' || c.relkind::text || ':' || c.relrowsecurity || ':' || c.relforcerowsecurity AS x
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
  UNION ALL SELECT table_name || '.' || column_name || ':' || data_type FROM information_schema.columns WHERE table_schema = 'public'
  UNION ALL SELECT polname || '@' || polrelid::regclass::text FROM pg_policy
  UNION ALL SELECT tgname || '@' || tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal
) s`

func TestMigrateTwiceChangesNothing(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t) // already migrated once from the template
	conn := db.AdminConn(t)
	var before, after string
	if err := conn.QueryRow(ctx, schemaDigest).Scan(&before); err != nil {
		t.Fatal(err)
	}
	n, err := store.Migrate(ctx, db.URL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if n != 0 {
		t.Fatalf("second migrate applied %d migrations, want 0", n)
	}
	if err := conn.QueryRow(ctx, schemaDigest).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Fatalf("schema changed on second migrate: %s → %s", before, after)
	}
	states, err := store.MigrationStatus(ctx, db.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if !s.Applied {
			t.Errorf("migration %d (%s) not applied", s.Version, s.Name)
		}
	}
	ok, err := db.Open(t).MigrationsCurrent(ctx)
	if err != nil || !ok {
		t.Fatalf("MigrationsCurrent = %v, %v; want true", ok, err)
	}
}

func TestMigrateEmptyDatabaseTwice(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	conn := db.AdminConn(t)
	// An empty database on the same server: migrate it twice from nothing.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+db.Name+"_empty"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db.Name+"_empty WITH (FORCE)")
	})
	url := strings.Replace(db.URL, "/"+db.Name+"?", "/"+db.Name+"_empty?", 1)
	first, err := store.Migrate(ctx, url, slog.New(slog.DiscardHandler))
	if err != nil || first == 0 {
		t.Fatalf("first migrate: applied %d, err %v", first, err)
	}
	second, err := store.Migrate(ctx, url, slog.New(slog.DiscardHandler))
	if err != nil || second != 0 {
		t.Fatalf("second migrate: applied %d, err %v; want 0, nil", second, err)
	}
}

// Every table with a tenant_id column has RLS enabled AND forced, and at
// least one policy. Partitions count as tables.
func TestEveryTenantTableHasForcedRLS(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.New(t).AdminConn(t)
	rows, err := conn.Query(ctx, `SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
	       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
	 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	count := 0
	for rows.Next() {
		var name string
		var enabled, forced bool
		var policies int
		if err := rows.Scan(&name, &enabled, &forced, &policies); err != nil {
			t.Fatal(err)
		}
		count++
		if !enabled || !forced || policies == 0 {
			t.Errorf("table %s: rls enabled=%v forced=%v policies=%d; want true, true, >0", name, enabled, forced, policies)
		}
	}
	if count < 11 {
		t.Fatalf("found only %d tenant tables; the catalog query is broken", count)
	}
}

func TestServiceRoleOwnsNothing(t *testing.T) {
	s := pgtest.New(t).Open(t)
	if err := s.CheckServiceRole(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAuditPartitionsSixMonthsAhead(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.New(t).AdminConn(t)
	var n int
	err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	  WHERE i.inhparent = 'audit_events'::regclass
	    AND c.relname >= 'audit_events_y' || to_char(now(), 'YYYY') || 'm' || to_char(now(), 'MM')
	    AND c.relname <= 'audit_events_y' || to_char(now() + interval '6 months', 'YYYY') || 'm' || to_char(now() + interval '6 months', 'MM')`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 7 {
		t.Fatalf("partitions from this month to 6 months ahead = %d, want 7", n)
	}
}
