package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/melmastoon/iam/core"
	"github.com/melmastoon/iam/core/auth"
	"github.com/melmastoon/iam/core/ca"
	"github.com/melmastoon/iam/core/hub"
	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/core/password"
	"github.com/melmastoon/iam/syncproto"
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
	fs.DurationVar(&cfg.DeviceCertValidity, "device-cert-validity", ca.DefaultDeviceValidity, "device certificate lifetime (at most 720h)")
	hubDir := fs.String("hub-dir", "", "embed the NATS hub with its JetStream storage here (enables deltas to edges)")
	hubClient := fs.String("hub-client", "127.0.0.1:4222", "hub client listen address (other core processes, tools)")
	leafAddr := fs.String("leaf", "127.0.0.1:7422", "hub leaf-node listen address (edges)")
	leafUser := fs.String("leaf-user", envOr("IAM_LEAF_USER", "edge"), "leaf credential user; password from IAM_LEAF_PASSWORD")
	tlsCert := fs.String("leaf-tls-cert", "", "PEM certificate of the leaf listener (TLS when set)")
	tlsKey := fs.String("leaf-tls-key", "", "PEM key of the leaf listener")
	anchorFile := fs.String("anchor-file", "", "write the delta trust anchor (<kid>:<key>) for iam edge --trust-anchor here")
	hubURL := fs.String("hub-url", "", "publish through another core's hub (nats://HOST:PORT) instead of embedding one")
	hubUser := fs.String("hub-user", envOr("IAM_HUB_USER", "core"), "hub client user for other core instances; password from IAM_HUB_PASSWORD")
	cfg.BootstrapToken = envOr("IAM_BOOTSTRAP_TOKEN", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *hubDir != "" {
		hc, err := hubConfig(*hubDir, *hubClient, *leafAddr, *leafUser, *tlsCert, *tlsKey)
		if err != nil {
			return err
		}
		if pw := os.Getenv("IAM_HUB_PASSWORD"); pw != "" {
			hc.ClientUsers = []hub.LeafCredential{{User: *hubUser, Password: pw}}
		}
		cfg.Hub = hc
	} else if *hubURL != "" {
		cfg.RemoteHub = core.RemoteHub{URL: *hubURL, User: *hubUser, Password: os.Getenv("IAM_HUB_PASSWORD")}
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
	if *anchorFile != "" {
		if err := writeAnchor(ctx, c, *anchorFile); err != nil {
			return err
		}
	}
	if envOr("IAM_BOOTSTRAP_TOKEN", "") == "" {
		log.WarnContext(ctx, "bootstrap token generated; set IAM_BOOTSTRAP_TOKEN to fix it", "bootstrap_token_hint", c.BootstrapToken()[:10]+"…")
	}
	return c.Run(ctx)
}

func hubConfig(dir, client, leafAddr, leafUser, cert, key string) (*hub.Config, error) {
	pw := os.Getenv("IAM_LEAF_PASSWORD")
	if pw == "" {
		return nil, errors.New("core: IAM_LEAF_PASSWORD is required with --hub-dir")
	}
	hc := &hub.Config{DataDir: dir, ClientListen: client, LeafListen: leafAddr,
		LeafUsers: []hub.LeafCredential{{User: leafUser, Password: pw}}}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("core: leaf TLS: %w", err)
		}
		hc.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS13}
	}
	return hc, nil
}

// writeAnchor writes the delta trust anchor for edges (0644: it is public).
func writeAnchor(ctx context.Context, c *core.Core, path string) error {
	a, err := c.SystemAnchor(ctx)
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(syncproto.FormatSigningKey(a)+"\n"), 0o644) //nolint:gosec // public key
}
