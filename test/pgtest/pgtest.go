package pgtest

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/internal/pgcluster"
)

// EnvURL names an existing server (superuser URL) to use instead of a
// throwaway cluster.
const EnvURL = "IAM_TEST_DATABASE_URL"

// harness is per test binary: one server, one migrated template.
type harness struct {
	once     sync.Once
	err      error
	cluster  *pgcluster.Cluster
	adminURL string // superuser URL of database "postgres"
	template string
	seq      atomic.Int64
}

var h harness // one per test binary by design (see package doc)

// Main runs the tests and then stops the cluster, if one was started.
func Main(m *testing.M) {
	code := m.Run()
	if h.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_ = h.cluster.Stop(ctx)
		cancel()
		_ = os.RemoveAll(h.cluster.DataDir())
	}
	os.Exit(code)
}

// DB is one test's database.
type DB struct {
	// URL connects as the superuser (store.Open switches to the service role).
	URL  string
	Name string
}

// New returns a fresh, migrated database for t, dropped when t ends. It fails
// t (never skips) when PostgreSQL cannot be started or reached.
func New(t testing.TB) *DB {
	t.Helper()
	h.once.Do(h.setup)
	if h.err != nil {
		t.Fatalf("pgtest: PostgreSQL is required and could not be had: %v", h.err)
	}
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), h.seq.Add(1))
	ctx := context.Background()
	if err := adminExec(ctx, h.adminURL, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, h.template)); err != nil {
		t.Fatalf("pgtest: clone template: %v", err)
	}
	t.Cleanup(func() {
		_ = adminExec(context.Background(), h.adminURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return &DB{URL: withDatabase(h.adminURL, name), Name: name}
}

// Open returns a store on db, closed when t ends.
func (db *DB) Open(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Config{URL: db.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("pgtest: open store: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// AdminConn connects to db as the superuser (bypasses RLS: for assertions).
func (db *DB) AdminConn(t testing.TB) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), db.URL)
	if err != nil {
		t.Fatalf("pgtest: admin connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func (h *harness) setup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h.adminURL = os.Getenv(EnvURL)
	if h.adminURL == "" {
		dir, err := os.MkdirTemp("", "iam-pgtest-*")
		if err != nil {
			h.err = err
			return
		}
		h.cluster, h.err = pgcluster.Start(ctx, pgcluster.Config{DataDir: dir,
			Settings: map[string]string{"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}})
		if h.err != nil {
			return
		}
		h.adminURL = h.cluster.URL("postgres")
	}
	h.template = fmt.Sprintf("iam_template_%d", os.Getpid())
	if h.err = adminExec(ctx, h.adminURL, "CREATE DATABASE "+h.template); h.err != nil {
		return
	}
	_, h.err = store.Migrate(ctx, withDatabase(h.adminURL, h.template), slog.New(slog.DiscardHandler))
}

func adminExec(ctx context.Context, url, sql string) error {
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, sql)
	return err
}

func withDatabase(raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + strings.TrimPrefix(db, "/")
	return u.String()
}

// PrivateCluster starts a cluster of t's own (for tests that stop and start
// the server) with a migrated database "iam"; it is stopped when t ends.
func PrivateCluster(t testing.TB) (*pgcluster.Cluster, string) {
	t.Helper()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "iam-pgtest-private-*")
	if err != nil {
		t.Fatal(err)
	}
	c, err := pgcluster.Start(ctx, pgcluster.Config{DataDir: dir, Settings: map[string]string{"fsync": "off"}})
	if err != nil {
		t.Fatalf("pgtest: PostgreSQL is required and could not be had: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()); _ = os.RemoveAll(dir) })
	if err := adminExec(ctx, c.URL("postgres"), "CREATE DATABASE iam"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Migrate(ctx, c.URL("iam"), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	return c, c.URL("iam")
}
