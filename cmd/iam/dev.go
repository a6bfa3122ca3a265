package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"

	"github.com/melmastoon/iam/core"
	"github.com/melmastoon/iam/internal/devstack"
)

func runDev(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("iam dev", flag.ContinueOnError)
	cfg := devstack.Config{Logger: log, Out: stdout, BootstrapToken: os.Getenv("IAM_BOOTSTRAP_TOKEN"), KEK: os.Getenv("IAM_KEK")}
	fs.StringVar(&cfg.DataDir, "data-dir", ".iam-dev", "data directory (reused on the next run)")
	fs.BoolVar(&cfg.Fresh, "fresh", false, "wipe the data directory first")
	fs.StringVar(&cfg.DatabaseURL, "database-url", "", "use this PostgreSQL instead of an embedded cluster")
	fs.StringVar(&cfg.HTTPAddr, "http", core.DefaultHTTPAddr, "core listen address")
	fs.StringVar(&cfg.EdgeHTTPAddr, "edge-http", "127.0.0.1:8081", "edge listen address")
	fs.StringVar(&cfg.LeafAddr, "leaf", "127.0.0.1:7422", "hub leaf-node listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stack, err := devstack.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer stack.Close()
	return stack.Run(ctx)
}
