package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/melmastoon/iam/device"
)

const deviceUsage = `usage: iam device <command> [flags]

  enroll --core URL --tenant T --username U [--password P] --name N [--platform P] --state-dir D [--replace]
         (the password may come from IAM_DEVICE_PASSWORD instead of --password)
  sync   --edge URL --state-dir D [--once]
  status --state-dir D          prints the device state as JSON
  token  --edge URL --state-dir D
         connects, asks core (through the edge) for an access token of the device's account and
         prints {"access_token","expires_in"}: no password needed while the certificate is valid
`

func runDevice(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, deviceUsage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "enroll":
		return runDeviceEnroll(ctx, args[1:], stdout, log)
	case "sync":
		return runDeviceSync(ctx, args[1:], stdout, log)
	case "status":
		return runDeviceStatus(args[1:], stdout, log)
	case "token":
		return runDeviceToken(ctx, args[1:], stdout, log)
	}
	fmt.Fprint(os.Stderr, deviceUsage)
	return fmt.Errorf("device: unknown command %q", args[0])
}

func runDeviceEnroll(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("iam device enroll", flag.ContinueOnError)
	cfg := device.EnrollConfig{Options: device.Options{Logger: log}}
	fs.StringVar(&cfg.CoreURL, "core", envOr("IAM_CORE_URL", ""), "core base URL (env IAM_CORE_URL)")
	fs.StringVar(&cfg.Tenant, "tenant", "", "tenant slug (required)")
	fs.StringVar(&cfg.Username, "username", "", "account username (required)")
	fs.StringVar(&cfg.Password, "password", "", "account password (or env IAM_DEVICE_PASSWORD)")
	fs.StringVar(&cfg.Name, "name", "", "device name (required)")
	fs.StringVar(&cfg.Platform, "platform", "", "device platform (default: this OS)")
	fs.StringVar(&cfg.StateDir, "state-dir", "", "directory of the device state (required)")
	fs.BoolVar(&cfg.Replace, "replace", false, "overwrite an existing enrollment in --state-dir")
	skew := fs.Duration("clock-skew", device.DefaultClockSkew, "tolerance around the certificate's validity")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.Password == "" {
		cfg.Password = os.Getenv("IAM_DEVICE_PASSWORD")
	}
	cfg.Options.ClockSkew = *skew
	c, err := device.Enroll(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDevice(c, log)
	return printState(stdout, c.Current())
}

func runDeviceSync(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("iam device sync", flag.ContinueOnError)
	var cfg device.SyncConfig
	fs.StringVar(&cfg.EdgeURL, "edge", envOr("IAM_EDGE_URL", ""), "edge base URL, http(s) or ws(s) (env IAM_EDGE_URL)")
	stateDir := fs.String("state-dir", "", "directory of the device state (required)")
	fs.BoolVar(&cfg.Once, "once", false, "catch up once (renewing the certificate if due), print the state and exit")
	skew := fs.Duration("clock-skew", device.DefaultClockSkew, "tolerance around the certificate's validity")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *stateDir == "" {
		return errors.New("device: --state-dir is required")
	}
	c, err := device.Open(*stateDir, device.Options{Logger: log, ClockSkew: *skew})
	if err != nil {
		return err
	}
	defer closeDevice(c, log)
	c.OnChange(func(s device.State) {
		log.InfoContext(ctx, "device state changed", "version", s.Cursor, "status", s.Status, "not_after", s.NotAfter)
	})
	err = c.Sync(ctx, cfg)
	switch {
	case errors.Is(err, device.ErrCertificateExpired):
		return fmt.Errorf("%w (run iam device enroll --replace)", err)
	case err != nil:
		return err
	case cfg.Once:
		return printState(stdout, c.Current())
	}
	return nil
}

func runDeviceStatus(args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("iam device status", flag.ContinueOnError)
	stateDir := fs.String("state-dir", "", "directory of the device state (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *stateDir == "" {
		return errors.New("device: --state-dir is required")
	}
	c, err := device.Open(*stateDir, device.Options{Logger: log})
	if err != nil {
		return err
	}
	defer closeDevice(c, log)
	return printState(stdout, c.Current())
}

func printState(w io.Writer, s device.State) error {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("device: encode state: %w", err)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// closeDevice closes the device state, logging a failure.
func closeDevice(c *device.Client, log *slog.Logger) {
	if err := c.Close(); err != nil {
		log.Warn("device close failed", "error", err)
	}
}

// deviceTokenWait bounds connecting for a token.
const deviceTokenWait = 30 * time.Second

func runDeviceToken(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("iam device token", flag.ContinueOnError)
	var cfg device.SyncConfig
	fs.StringVar(&cfg.EdgeURL, "edge", envOr("IAM_EDGE_URL", ""), "edge base URL, http(s) or ws(s) (env IAM_EDGE_URL)")
	stateDir := fs.String("state-dir", "", "directory of the device state (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *stateDir == "" {
		return errors.New("device: --state-dir is required")
	}
	c, err := device.Open(*stateDir, device.Options{Logger: log})
	if err != nil {
		return err
	}
	defer closeDevice(c, log)
	ctx, cancel := context.WithTimeout(ctx, deviceTokenWait)
	defer cancel()
	synced := make(chan error, 1)
	go func() { synced <- c.Sync(ctx, cfg) }()
	stopped := false
	defer func() {
		cancel()
		if !stopped {
			if err := <-synced; err != nil {
				log.DebugContext(ctx, "device sync ended", "error", err)
			}
		}
	}()
	for {
		tok, exp, err := c.Token(ctx)
		switch {
		case err == nil:
			return json.NewEncoder(stdout).Encode(map[string]any{"access_token": tok, "expires_in": int64(exp.Seconds())})
		case !errors.Is(err, device.ErrNotConnected):
			return err
		}
		select {
		case err := <-synced:
			stopped = true
			if err == nil {
				err = ctx.Err()
			}
			return fmt.Errorf("device: not connected: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("device: not connected within %s: %w", deviceTokenWait, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
