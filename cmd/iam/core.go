package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/melmastoon/iam/core"
	"github.com/melmastoon/iam/core/auth"
	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/core/password"
)

func runCore(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("iam core", flag.ContinueOnError)
	cfg := core.Config{Logger: log}
	fs.StringVar(&cfg.DatabaseURL, "database-url", envOr("IAM_DATABASE_URL", ""), "PostgreSQL URL (env IAM_DATABASE_URL)")
	fs.StringVar(&cfg.HTTPAddr, "http", envOr("IAM_HTTP_ADDR", core.DefaultHTTPAddr), "listen address")
	fs.BoolVar(&cfg.MigrateOnStart, "migrate", true, "apply pending migrations at start (advisory-locked)")
	fs.StringVar(&cfg.PublicURL, "public-url", envOr("IAM_PUBLIC_URL", ""), "external base URL; issuers are URL/t/{tenant} (env IAM_PUBLIC_URL)")
	def := password.DefaultParams()
	memKiB := fs.Uint("argon2-memory-kib", uint(def.MemoryKiB), "Argon2id memory per hash in KiB")
	passes := fs.Uint("argon2-time", uint(def.Time), "Argon2id passes")
	threads := fs.Uint("argon2-threads", uint(def.Threads), "Argon2id parallelism")
	fs.IntVar(&cfg.Auth.Hashing.MaxConcurrent, "hash-concurrency", 0, "password hashes at once (default: number of CPUs)")
	fs.DurationVar(&cfg.Auth.Hashing.MaxWait, "hash-max-wait", password.DefaultMaxWait, "longest wait for a hashing slot before 503")
	fs.DurationVar(&cfg.Auth.AccessTokenTTL, "access-token-ttl", keys.DefaultAccessTokenTTL, "access token lifetime")
	fs.DurationVar(&cfg.Auth.SessionTTL, "session-ttl", auth.DefaultSessionTTL, "absolute session (refresh-token family) lifetime")
	fs.StringVar(&cfg.Auth.Audience, "token-audience", auth.DefaultAudience, "aud of access tokens")
	cfg.BootstrapToken = envOr("IAM_BOOTSTRAP_TOKEN", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Auth.PasswordParams = password.Params{MemoryKiB: uint32(*memKiB), Time: uint32(*passes), Threads: uint8(*threads),
		SaltLen: def.SaltLen, KeyLen: def.KeyLen}
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
