package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ServiceRole is the database role every pooled connection switches to.
const ServiceRole = "iam_app"

// Config configures Open.
type Config struct {
	// URL is a PostgreSQL connection URL. Its user must be ServiceRole or a
	// member of it (or a superuser, as in development).
	URL string
	// MaxConns bounds the pool; 0 means 16.
	MaxConns int32
	// Tracer instruments every query (metrics and spans); may be nil.
	Tracer pgx.QueryTracer
	// Logger is required.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// CheckAndSetDefaults validates c and fills in defaults.
func (c *Config) CheckAndSetDefaults() error {
	if c.URL == "" {
		return errors.New("store: database URL is required")
	}
	if c.Logger == nil {
		return errors.New("store: logger is required")
	}
	if c.MaxConns == 0 {
		c.MaxConns = 16
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Store is core's database handle.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	now  func() time.Time
}

// Open connects a pool whose connections all run as ServiceRole. It does not
// wait for the database: a database that is down at start makes requests fail
// with ErrUnavailable until it returns.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("store: parse database URL: %w", err)
	}
	pc.MaxConns = cfg.MaxConns
	pc.ConnConfig.Tracer = cfg.Tracer
	pc.ConnConfig.ConnectTimeout = 5 * time.Second
	pc.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SET ROLE "+ServiceRole)
		return err
	}
	pc.HealthCheckPeriod = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("store: open pool: %w", err)
	}
	return &Store{pool: pool, log: cfg.Logger, now: cfg.Now}, nil
}

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping reports whether the database answers as the service role.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// CheckServiceRole fails with ErrServiceRoleTooWide when the effective role is
// a superuser, may bypass RLS, or owns a table: such a role would make
// row-level security moot.
func (s *Store) CheckServiceRole(ctx context.Context) error {
	const q = `SELECT r.rolsuper OR r.rolbypassrls
	             OR EXISTS (SELECT 1 FROM pg_class c WHERE c.relowner = r.oid AND c.relkind IN ('r','p'))
	           FROM pg_roles r WHERE r.rolname = current_user`
	var wide bool
	if err := s.pool.QueryRow(ctx, q).Scan(&wide); err != nil {
		return classify(err)
	}
	if wide {
		return ErrServiceRoleTooWide
	}
	return nil
}

// Pool exposes the pool for packages that need raw access (the relay, tests).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// InTenant runs fn in a transaction whose row-level security scope is tenant.
// The transaction commits when fn returns nil and rolls back otherwise.
func (s *Store) InTenant(ctx context.Context, tenant TenantID, fn func(*Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return classify(err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "SELECT set_config('iam.tenant_id', $1, true)", tenant.String()); err != nil {
		return classify(err)
	}
	t := &Tx{tx: tx, tenant: tenant, now: s.now}
	if err := fn(t); err != nil {
		return classify(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return classify(err)
	}
	return nil
}

// Global runs fn in a transaction outside any tenant (GlobalScope).
func (s *Store) Global(ctx context.Context, fn func(*Tx) error) error {
	return s.InTenant(ctx, GlobalScope, fn)
}

// classify turns driver errors into store sentinels where one fits.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return uniqueViolation(pgErr.ConstraintName)
		case "23503":
			return fmt.Errorf("%w: %s", ErrUnknownReference, pgErr.ConstraintName)
		case "57P01", "57P02", "57P03", "53300", "40P01", "40001":
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return err
	}
	var netErr net.Error
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.SafeToRetry(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

func uniqueViolation(constraint string) *DuplicateError {
	switch constraint {
	case "tenants_slug_live":
		return &DuplicateError{Resource: "tenant", Field: "slug"}
	case "accounts_username":
		return &DuplicateError{Resource: "account", Field: "username"}
	case "organizations_sibling_name":
		return &DuplicateError{Resource: "organization", Field: "name"}
	case "roles_tenant_id_name_key":
		return &DuplicateError{Resource: "role", Field: "name"}
	case "role_bindings_tenant_id_account_id_role_id_organization_id_key":
		return &DuplicateError{Resource: "role_binding", Field: "binding"}
	case "devices_public_key":
		return &DuplicateError{Resource: "device", Field: "public_key"}
	}
	return &DuplicateError{Resource: "unknown", Field: constraint}
}
