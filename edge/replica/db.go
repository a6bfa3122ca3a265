package replica

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"

	_ "github.com/mattn/go-sqlite3" // database/sql driver "sqlite3"
	"github.com/pressly/goose/v3"

	"github.com/melmastoon/iam/migrations"
)

// dsn builds the go-sqlite3 URI. The writer takes the write lock at BEGIN
// (_txlock=immediate) so a transaction never fails half way on a lock
// upgrade; readers are read-only connections that see the last commit
// (WAL).
func dsn(cfg *Config, readOnly bool) string {
	q := fmt.Sprintf("_busy_timeout=%d&_foreign_keys=0", cfg.BusyTimeout.Milliseconds())
	if readOnly {
		return "file:" + cfg.Path + "?mode=ro&" + q
	}
	return "file:" + cfg.Path + "?_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate&" + q
}

// openDBs opens the single writer connection (migrated) and the reader pool.
func openDBs(ctx context.Context, cfg *Config) (writer, reader *sql.DB, err error) {
	if writer, err = sql.Open("sqlite3", dsn(cfg, false)); err != nil {
		return nil, nil, fmt.Errorf("replica: open: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetMaxIdleConns(1)
	if err = migrate(ctx, writer, cfg.Logger); err != nil {
		writer.Close()
		return nil, nil, err
	}
	if reader, err = sql.Open("sqlite3", dsn(cfg, true)); err != nil {
		writer.Close()
		return nil, nil, fmt.Errorf("replica: open reader: %w", err)
	}
	reader.SetMaxOpenConns(4)
	return writer, reader, nil
}

// migrate applies the pending migrations of migrations/sqlite.
func migrate(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	fsys, err := fs.Sub(migrations.SQLite, "sqlite")
	if err != nil {
		return fmt.Errorf("replica: migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
	if err != nil {
		return fmt.Errorf("replica: migrate: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("replica: migrate up: %w", err)
	}
	for _, r := range res {
		log.InfoContext(ctx, "replica migration applied", "version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}
