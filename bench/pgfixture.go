package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/internal/pgcluster"
)

// PGFixture is one throwaway PostgreSQL cluster in a temporary directory,
// with the production-like durability settings pgcluster uses for `iam dev`
// (fsync on, synchronous_commit on) — unlike the test harness, which turns
// fsync off.
type PGFixture struct {
	cluster *pgcluster.Cluster
	dir     string
	log     *slog.Logger
}

// StartPostgres initialises and starts the cluster.
func StartPostgres(ctx context.Context, log *slog.Logger) (*PGFixture, error) {
	dir, err := os.MkdirTemp("", "iam-bench-pg-*")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	start := time.Now()
	c, err := pgcluster.Start(ctx, pgcluster.Config{DataDir: dir, Logger: log})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("bench: start postgres: %w", err)
	}
	log.InfoContext(ctx, "postgres fixture started", "data_dir", dir, "port", c.Port(), "took", time.Since(start).Round(time.Millisecond))
	return &PGFixture{cluster: c, dir: dir, log: log}, nil
}

// NewDatabase creates database name, applies the migrations to it and
// returns its superuser URL (store.Open switches to the service role).
func (f *PGFixture) NewDatabase(ctx context.Context, name string) (string, error) {
	if err := f.AdminExec(ctx, f.cluster.URL("postgres"), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("bench: create database %s: %w", name, err)
	}
	dbURL := f.cluster.URL(url.PathEscape(name))
	if _, err := store.Migrate(ctx, dbURL, slog.New(slog.DiscardHandler)); err != nil {
		return "", err
	}
	return dbURL, nil
}

// AdminExec runs one statement as the superuser on dbURL.
func (f *PGFixture) AdminExec(ctx context.Context, dbURL, sql string, args ...any) error {
	c, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, sql, args...)
	return err
}

// Settings reports the server settings that matter for the figures.
func (f *PGFixture) Settings(ctx context.Context) []Param {
	c, err := pgx.Connect(ctx, f.cluster.URL("postgres"))
	if err != nil {
		return []Param{{"postgres settings", "unavailable: " + err.Error()}}
	}
	defer c.Close(ctx)
	var out []Param
	for _, name := range []string{"server_version", "fsync", "synchronous_commit", "wal_sync_method", "shared_buffers", "work_mem", "max_connections"} {
		var v string
		if err := c.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v); err != nil {
			v = "?"
		}
		out = append(out, Param{"postgres " + name, v})
	}
	return out
}

// Close stops the cluster and removes its directory.
func (f *PGFixture) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.cluster.Stop(ctx); err != nil {
		f.log.Error("postgres fixture stop failed", "error", err)
	}
	_ = os.RemoveAll(f.dir)
}
