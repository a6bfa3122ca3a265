package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/melmastoon/iam/edge"
	"github.com/melmastoon/iam/syncproto"
)

// defaultEdgeGCPercent trades memory (the heap may grow to 5× the live
// index before a cycle) for fewer GC cycles on the decision path.
const defaultEdgeGCPercent = 400

func runEdge(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("iam edge", flag.ContinueOnError)
	cfg := edge.Config{Logger: log, Version: version}
	fs.StringVar(&cfg.Name, "name", envOr("IAM_EDGE_NAME", "edge-1"), "edge name, unique per deployment (env IAM_EDGE_NAME)")
	fs.StringVar(&cfg.HubLeafURL, "hub", envOr("IAM_HUB_URL", ""), "hub leaf URL, nats-leaf://HOST:PORT or tls://HOST:PORT (env IAM_HUB_URL)")
	fs.StringVar(&cfg.DataDir, "data-dir", "./.iam-edge", "replica and NATS state")
	fs.StringVar(&cfg.HTTPAddr, "http", edge.DefaultHTTPAddr, "HTTP listen address")
	fs.StringVar(&cfg.User, "leaf-user", envOr("IAM_LEAF_USER", "edge"), "leaf credential user (env IAM_LEAF_USER)")
	anchor := fs.String("trust-anchor", envOr("IAM_TRUST_ANCHOR", ""), "system delta root <kid>:<base64url key> as core prints it (env IAM_TRUST_ANCHOR)")
	caFile := fs.String("hub-ca", "", "PEM file of the CA that signed the hub's leaf certificate (tls:// hubs)")
	fs.DurationVar(&cfg.MaxStaleness, "max-staleness", edge.DefaultMaxStaleness,
		"past this without news from core, answers carry a Staleness header (or are refused with --fail-closed); negative: never")
	fs.BoolVar(&cfg.FailClosed, "fail-closed", false, "refuse decisions (503, MELMASTOON.IAM.EDGE.STALE) and fail /readyz while staler than --max-staleness")
	fs.StringVar(&cfg.IssuerBase, "issuer-base", envOr("IAM_ISSUER_BASE", ""), "core's public base URL; tokens of tenant T carry iss=<base>/t/T (env IAM_ISSUER_BASE)")
	fs.DurationVar(&cfg.ClockSkew, "clock-skew", 30*time.Second, "tolerance for token exp/nbf/iat")
	fs.DurationVar(&cfg.DeviceClockSkew, "device-clock-skew", 5*time.Minute, "tolerance around device certificate validity at the sync handshake")
	fs.IntVar(&cfg.TokenCacheSize, "token-cache-size", 100_000, "verified-token cache entries (negative: no cache)")
	gcPercent := fs.Int("gc-percent", defaultEdgeGCPercent, "Go GC target percentage when GOGC is not set (see docs/architecture.md)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" {
		// The edge's heap is mostly its long-lived decision index: a GC
		// cycle re-marks all of it and requests pay mark assists (the p99).
		debug.SetGCPercent(*gcPercent)
	}
	cfg.APIToken = os.Getenv("IAM_EDGE_API_TOKEN")
	cfg.Password = os.Getenv("IAM_LEAF_PASSWORD")
	if cfg.Password == "" {
		return errors.New("edge: IAM_LEAF_PASSWORD is required")
	}
	var err error
	if cfg.TrustAnchor, err = syncproto.ParseSigningKey(*anchor); err != nil {
		return fmt.Errorf("edge: --trust-anchor: %w", err)
	}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return fmt.Errorf("edge: --hub-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return errors.New("edge: --hub-ca holds no certificate")
		}
		cfg.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}
	}
	e, err := edge.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := e.Close(); err != nil {
			log.WarnContext(ctx, "edge close failed", "error", err)
		}
	}()
	return e.Run(ctx)
}
