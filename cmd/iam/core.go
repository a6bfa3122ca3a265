package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/melmastoon/iam/core"
	"github.com/melmastoon/iam/core/keys"
)

func runCore(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("iam core", flag.ContinueOnError)
	cfg := core.Config{Logger: log}
	fs.StringVar(&cfg.DatabaseURL, "database-url", envOr("IAM_DATABASE_URL", ""), "PostgreSQL URL (env IAM_DATABASE_URL)")
	fs.StringVar(&cfg.HTTPAddr, "http", envOr("IAM_HTTP_ADDR", core.DefaultHTTPAddr), "listen address")
	fs.BoolVar(&cfg.MigrateOnStart, "migrate", true, "apply pending migrations at start (advisory-locked)")
	fs.StringVar(&cfg.PublicURL, "public-url", envOr("IAM_PUBLIC_URL", ""), "external base URL; issuers are URL/t/{tenant} (env IAM_PUBLIC_URL)")
	cfg.BootstrapToken = envOr("IAM_BOOTSTRAP_TOKEN", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	kek, err := keys.ParseLocalKEK(os.Getenv("IAM_KEK"))
	if err != nil {
		return fmt.Errorf("core: IAM_KEK must hold a 32-byte key-encryption key (base64 or hex): %w", err)
	}
	cfg.KEK = kek
	c, err := core.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := c.Close(); err != nil {
			log.WarnContext(ctx, "core close failed", "error", err)
		}
	}()
	if envOr("IAM_BOOTSTRAP_TOKEN", "") == "" {
		log.WarnContext(ctx, "bootstrap token generated; set IAM_BOOTSTRAP_TOKEN to fix it", "bootstrap_token_hint", c.BootstrapToken()[:10]+"…")
	}
	return c.Run(ctx)
}
