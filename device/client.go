package device

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/melmastoon/iam/syncproto"
	"github.com/melmastoon/iam/syncproto/devcert"
)

// Client is an enrolled device: its persisted state, and the sync
// connection while Sync runs. Its methods are safe for concurrent use.
type Client struct {
	opts Options
	log  *slog.Logger
	st   *store

	closeCtx    context.Context
	closeCancel context.CancelFunc
	wg          sync.WaitGroup // running Sync calls

	mu         sync.Mutex
	rec        *record
	keyring    *syncproto.Keyring
	bundle     *devcert.TrustBundle
	leaf       *x509.Certificate
	renewAt    time.Time // of leaf, jitter included
	renewRetry time.Time // no renewal attempt before this (after "unavailable")
	sess       *session  // the ready connection, if any
	callbacks  []func(State)
	stats      Stats
	syncing    bool
	closed     bool
}

// Open loads the enrollment kept in stateDir. It fails with ErrNotEnrolled
// when the directory holds none, and never creates one.
func Open(stateDir string, opts Options) (*Client, error) {
	if _, err := os.Stat(filepath.Join(stateDir, StateFile)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotEnrolled, err)
	}
	ctx := context.Background()
	st, err := openStore(ctx, stateDir)
	if err != nil {
		return nil, err
	}
	rec, err := st.load(ctx)
	if err != nil {
		_ = st.close()
		return nil, err
	}
	c, err := newClient(opts, st, rec)
	if err != nil {
		_ = st.close()
		return nil, err
	}
	return c, nil
}

// newClient builds a Client over a loaded or freshly enrolled record,
// re-checking what the record holds.
func newClient(opts Options, st *store, rec *record) (*Client, error) {
	opts.CheckAndSetDefaults()
	c := &Client{opts: opts, log: opts.Logger, st: st, rec: rec}
	c.closeCtx, c.closeCancel = context.WithCancel(context.Background())
	var err error
	if c.keyring, err = syncproto.NewKeyring(rec.Anchor, rec.Keys, rec.Retired); err != nil {
		return nil, fmt.Errorf("device: stored keyring: %w", err)
	}
	if c.bundle, err = devcert.ParseTrustBundle(rec.Bundle); err != nil {
		return nil, fmt.Errorf("device: stored trust bundle: %w", err)
	}
	if c.bundle.TenantID() != rec.TenantID || rec.Anchor.Tenant != rec.TenantID {
		return nil, fmt.Errorf("device: stored trust anchors name another tenant than %s", rec.TenantID)
	}
	leaf, err := parseLeaf(rec.Chain, rec.Key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	c.setLeafLocked(leaf)
	return c, nil
}

// parseLeaf parses the leaf of chain and checks that it certifies pub.
func parseLeaf(chain [][]byte, pub ed25519.PublicKey) (*x509.Certificate, error) {
	if len(chain) == 0 {
		return nil, fmt.Errorf("%w: empty certificate chain", ErrUntrustedResponse)
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, fmt.Errorf("%w: leaf certificate: %w", ErrUntrustedResponse, err)
	}
	if k, ok := leaf.PublicKey.(ed25519.PublicKey); !ok || !k.Equal(pub) {
		return nil, fmt.Errorf("%w: the certificate is not for this device's key", ErrUntrustedResponse)
	}
	return leaf, nil
}

// setLeafLocked installs leaf and draws its renewal instant: NotBefore +
// validity × (2/3 + up to RenewJitter).
func (c *Client) setLeafLocked(leaf *x509.Certificate) {
	c.leaf = leaf
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	frac := 2.0/3.0 + rand.Float64()*c.opts.RenewJitter //nolint:gosec // jitter, not a secret
	c.renewAt = leaf.NotBefore.Add(time.Duration(float64(life) * frac))
	c.renewRetry = time.Time{}
}

// Current returns the device's state.
func (c *Client) Current() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stateLocked()
}

func (c *Client) stateLocked() State {
	r := c.rec
	s := State{
		DeviceID: r.DeviceID, TenantID: r.TenantID, TenantSlug: r.TenantSlug, AccountID: r.AccountID,
		Name: r.Entity.Name, Platform: r.Entity.Platform, Status: r.Entity.Status,
		CertSerial: devcert.FormatSerial(c.leaf.SerialNumber),
		NotBefore:  c.leaf.NotBefore.UTC(), NotAfter: c.leaf.NotAfter.UTC(),
		Cursor: r.Entity.Version,
	}
	if r.ServerTimeMs > 0 {
		s.ServerTime = time.UnixMilli(r.ServerTimeMs).UTC()
	}
	return s
}

// Stats returns the client's counters since Open or Enroll.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// OnChange registers f, called with the new state after each persisted
// change (a Device delta applied, a certificate renewed, a revocation).
// Callbacks run on the sync goroutine, in registration order: they must
// not block for long and must not call Sync.
func (c *Client) OnChange(f func(State)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.callbacks = append(c.callbacks, f)
}

// notify calls the callbacks with s (outside the lock).
func (c *Client) notify(s State) {
	c.mu.Lock()
	cbs := slices.Clone(c.callbacks)
	c.mu.Unlock()
	for _, f := range cbs {
		f(s)
	}
}

// Close stops a running Sync, waits for it and closes the state file.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.closeCancel()
	c.wg.Wait()
	if err := c.st.close(); err != nil {
		return fmt.Errorf("device: close state: %w", err)
	}
	return nil
}

// trustedNowLocked is max(local clock, newest core-signed time seen).
func (c *Client) trustedNowLocked() time.Time {
	now := c.opts.Now()
	if st := time.UnixMilli(c.rec.ServerTimeMs); st.After(now) {
		return st
	}
	return now
}

// checkUsableLocked fails with ErrCertificateExpired when the certificate
// is expired at the trusted time beyond the clock skew.
func (c *Client) checkUsableLocked() error {
	now := c.trustedNowLocked()
	if now.After(c.leaf.NotAfter.Add(c.opts.ClockSkew)) {
		return fmt.Errorf("%w: NotAfter %s, trusted time %s", ErrCertificateExpired, c.leaf.NotAfter.UTC(), now.UTC())
	}
	return nil
}

// renewalDue reports whether the certificate should be renewed now.
func (c *Client) renewalDue() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.trustedNowLocked()
	return !now.Before(c.renewAt) && !now.Before(c.renewRetry)
}

// postponeRenewal delays the next renewal attempt by d.
func (c *Client) postponeRenewal(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.renewRetry = c.trustedNowLocked().Add(d)
}
