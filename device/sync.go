package device

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"
)

// SyncPath is the edge's device sync endpoint, used when EdgeURL has no
// path.
const SyncPath = "/api/v1/sync"

// SyncConfig configures Sync. Only EdgeURL is required.
type SyncConfig struct {
	// EdgeURL is the edge's base URL (http, https, ws or wss); SyncPath
	// is appended when it has no path.
	EdgeURL string
	// HTTPClient dials the WebSocket (TLS settings, proxies). Nil: the
	// default client.
	HTTPClient *http.Client
	// Once connects, catches up (until no frame arrived for
	// IdleAfterReady after Ready), renews the certificate if it is due,
	// and returns. It does not reconnect.
	Once bool
	// Durations; zero takes the Default* constant of the same name.
	BackoffMin, BackoffMax    time.Duration
	PingInterval, PingTimeout time.Duration
	HandshakeTimeout          time.Duration
	IdleAfterReady            time.Duration
	CheckInterval             time.Duration
	RenewRetry                time.Duration
	RequestTimeout            time.Duration
}

// CheckAndSetDefaults validates EdgeURL and fills in zero durations.
func (cfg *SyncConfig) CheckAndSetDefaults() error {
	if _, err := syncURL(cfg.EdgeURL); err != nil {
		return err
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&cfg.BackoffMin, DefaultBackoffMin}, {&cfg.BackoffMax, DefaultBackoffMax},
		{&cfg.PingInterval, DefaultPingInterval}, {&cfg.PingTimeout, DefaultPingTimeout},
		{&cfg.HandshakeTimeout, DefaultHandshakeTimeout}, {&cfg.IdleAfterReady, DefaultIdleAfterReady},
		{&cfg.CheckInterval, DefaultCheckInterval}, {&cfg.RenewRetry, DefaultRenewRetry},
		{&cfg.RequestTimeout, DefaultRequestTimeout},
	} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	cfg.BackoffMax = max(cfg.BackoffMax, cfg.BackoffMin)
	return nil
}

// syncURL returns the WebSocket URL of the edge's sync endpoint.
func syncURL(edge string) (string, error) {
	u, err := url.Parse(edge)
	if err != nil {
		return "", fmt.Errorf("device: edge URL: %w", err)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return "", fmt.Errorf("device: edge URL %q: scheme must be http, https, ws or wss", edge)
	}
	if u.Host == "" {
		return "", fmt.Errorf("device: edge URL %q has no host", edge)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = SyncPath
	}
	return u.String(), nil
}

// Sync keeps the Device entity in sync with the edge until ctx ends (it
// then returns nil), reconnecting with back-off after network errors and
// retryable close codes, and renewing the certificate when it is due. It
// returns an error wrapping ErrCertificateExpired when the device's own
// check finds the certificate expired (re-enroll), ErrRevoked when it
// holds a signed revocation, ErrClosed when the Client is closed, and
// ErrSyncRunning when another Sync runs. An edge's unconfirmed 4004 or
// 4006 is retried. With cfg.Once it returns after one catch-up (nil), or
// the first error (an unconfirmed 4004 or 4006 wraps ErrRefused).
func (c *Client) Sync(ctx context.Context, cfg SyncConfig) error {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return err
	}
	u, _ := syncURL(cfg.EdgeURL)
	if err := c.beginSync(); err != nil {
		return err
	}
	defer c.endSync()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.closeCtx, cancel)()
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		err := c.checkUsableLocked()
		c.mu.Unlock()
		if err != nil {
			return err
		}
		ready, err := c.runSession(ctx, u, &cfg)
		switch {
		case c.closeCtx.Err() != nil:
			return ErrClosed
		case ctx.Err() != nil && !cfg.Once:
			return nil
		case errors.Is(err, ErrCertificateExpired), errors.Is(err, ErrRevoked), cfg.Once:
			return err
		}
		if ready {
			attempt = 0
		}
		delay := backoffDelay(attempt, cfg.BackoffMin, cfg.BackoffMax)
		c.log.WarnContext(ctx, "device sync disconnected", "error", err, "retry_in", delay)
		if !sleepCtx(ctx, delay) {
			if c.closeCtx.Err() != nil {
				return ErrClosed
			}
			return nil
		}
	}
}

func (c *Client) beginSync() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return ErrClosed
	case c.syncing:
		return ErrSyncRunning
	}
	c.syncing = true
	c.wg.Add(1)
	return nil
}

func (c *Client) endSync() {
	c.mu.Lock()
	c.syncing = false
	c.mu.Unlock()
	c.wg.Done()
}

// backoffDelay is the wait before reconnect attempt n (from 0): the
// exponential step min·2ⁿ capped at max, with equal jitter (half fixed,
// half random), never below min.
func backoffDelay(n int, lo, hi time.Duration) time.Duration {
	step := hi
	if n < 32 {
		if s := lo << n; s > 0 && s < hi {
			step = s
		}
	}
	half := step / 2
	d := half + rand.N(half+1) //nolint:gosec // jitter, not a secret
	return max(d, lo)
}

// sleepCtx waits d or until ctx ends; it reports whether d elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
