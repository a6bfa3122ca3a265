package main

import (
	"context"
	"flag"
	"log/slog"

	"github.com/melmastoon/iam/core"
)

func runCore(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("iam core", flag.ContinueOnError)
	cfg := core.Config{Logger: log}
	fs.StringVar(&cfg.DatabaseURL, "database-url", envOr("IAM_DATABASE_URL", ""), "PostgreSQL URL (env IAM_DATABASE_URL)")
	fs.StringVar(&cfg.HTTPAddr, "http", envOr("IAM_HTTP_ADDR", core.DefaultHTTPAddr), "listen address")
	fs.BoolVar(&cfg.MigrateOnStart, "migrate", true, "apply pending migrations at start (advisory-locked)")
	cfg.BootstrapToken = envOr("IAM_BOOTSTRAP_TOKEN", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := core.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	if envOr("IAM_BOOTSTRAP_TOKEN", "") == "" {
		log.WarnContext(ctx, "bootstrap token generated; set IAM_BOOTSTRAP_TOKEN to fix it", "bootstrap_token_hint", c.BootstrapToken()[:10]+"…")
	}
	return c.Run(ctx)
}
