// Command iam is the one binary of the IAM system.
//
//	iam dev                 all-in-one development stack (embedded PostgreSQL, core, demo seed)
//	iam core                the central service against an existing PostgreSQL
//	iam edge                a regional edge: NATS leaf + replica of the signed deltas
//	iam migrate up|status   apply or list database migrations
//	iam admin …             administer a running core (keys rotate --tenant T, …)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/melmastoon/iam/internal/obs"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "iam:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage: iam <command> [flags]

commands:
  dev       run the all-in-one development stack (make run)
  core      run the central service
  edge      run a regional edge (replica of the signed delta stream)
  migrate   apply (up) or list (status) database migrations
  admin     administer a running core (tenants list, keys list|rotate)
  device    enroll a device, sync it with an edge, show its state
`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := obs.NewLogger(stderr, logLevel())
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:], stdout, log)
	case "core":
		return runCore(ctx, args[1:], log)
	case "migrate":
		return runMigrate(ctx, args[1:], stdout, log)
	case "edge":
		return runEdge(ctx, args[1:], log)
	case "admin":
		return runAdmin(ctx, args[1:], stdout)
	case "device":
		return runDevice(ctx, args[1:], stdout, log)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// version is set at build time (-ldflags "-X main.version=…").
var version = "dev"

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("IAM_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// envOr returns the environment variable name, or def when it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
