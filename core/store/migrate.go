package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for goose
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/melmastoon/iam/migrations"
)

// MigrationState is one migration and whether it is applied.
type MigrationState struct {
	Version int64  `json:"version"`
	Name    string `json:"name"`
	Applied bool   `json:"applied"`
}

func provider(url string) (*goose.Provider, *sql.DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, nil, fmt.Errorf("store: migrate: %w", err)
	}
	fsys, err := fs.Sub(migrations.Postgres, "postgres")
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("store: migrate: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("store: migrate lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithSessionLocker(locker))
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("store: migrate: %w", err)
	}
	return p, db, nil
}

// Migrate applies every pending migration under a PostgreSQL advisory lock,
// so concurrent core instances apply each migration once. url must belong to
// a role allowed to create tables (the owner, not the service role).
func Migrate(ctx context.Context, url string, log *slog.Logger) (applied int, err error) {
	p, db, err := provider(url)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	res, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: migrate up: %w", err)
	}
	for _, r := range res {
		log.InfoContext(ctx, "migration applied", "version", r.Source.Version, "duration_ms", r.Duration.Milliseconds())
	}
	return len(res), nil
}

// MigrationStatus lists every embedded migration and whether it is applied.
func MigrationStatus(ctx context.Context, url string) ([]MigrationState, error) {
	p, db, err := provider(url)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migrate status: %w", err)
	}
	out := make([]MigrationState, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationState{Version: s.Source.Version, Name: s.Source.Path, Applied: s.State == goose.StateApplied})
	}
	return out, nil
}

// MigrationsCurrent reports whether the database has every embedded
// migration applied, as seen by the service role (used by /readyz).
func (s *Store) MigrationsCurrent(ctx context.Context) (bool, error) {
	fsys, _ := fs.Sub(migrations.Postgres, "postgres")
	want, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return false, err
	}
	var have int
	err = s.pool.QueryRow(ctx, `SELECT count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0 AND is_applied`).Scan(&have)
	if err != nil {
		return false, classify(err)
	}
	return have >= len(want), nil
}
