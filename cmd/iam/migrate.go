package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/melmastoon/iam/core/store"
)

func runMigrate(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("iam migrate", flag.ContinueOnError)
	url := fs.String("database-url", envOr("IAM_DATABASE_URL", ""), "PostgreSQL URL of a role that may create tables (env IAM_DATABASE_URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" {
		return errors.New("migrate: --database-url is required")
	}
	switch fs.Arg(0) {
	case "up":
		n, err := store.Migrate(ctx, *url, log)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "applied %d migration(s)\n", n)
		return nil
	case "status":
		st, err := store.MigrationStatus(ctx, *url)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	return fmt.Errorf("migrate: want 'up' or 'status', got %q", fs.Arg(0))
}
