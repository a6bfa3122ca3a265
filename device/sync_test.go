package device

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/melmastoon/iam/syncproto/devproto"
)

// fastSync is a SyncConfig with test-sized timings.
func fastSync(url string) SyncConfig {
	return SyncConfig{EdgeURL: url, BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
		IdleAfterReady: 100 * time.Millisecond, CheckInterval: 10 * time.Millisecond, HandshakeTimeout: 5 * time.Second}
}

// runSync starts Sync in the background; the returned func cancels it and
// returns its error.
func runSync(t *testing.T, c *Client, cfg SyncConfig) (stop func() error, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- c.Sync(ctx, cfg) }()
	t.Cleanup(cancel)
	return func() error { cancel(); return <-ch }, ch
}

func TestSyncOnceCatchesUpAndResumes(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	tampered := f.delta(t, 9, StatusActive)
	tampered[len(tampered)-1] ^= 1
	d2, d3 := f.delta(t, 2, StatusActive), f.delta(t, 3, StatusActive)
	e := newFakeEdge(t, f, func(n int, ec *edgeConn) {
		ec.send(&devproto.Message{Type: devproto.Ready, Time: time.Now().UnixMilli()})
		if n == 0 {
			ec.delta(d2)
			ec.delta(tampered)
			ec.delta(d3)
			ec.delta(d2) // replayed
		}
	})
	if err := c.Sync(context.Background(), SyncConfig{EdgeURL: e.url(), Once: true, IdleAfterReady: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if got := c.Current(); got.Cursor != 3 {
		t.Fatalf("cursor %d after catch-up, want 3", got.Cursor)
	}
	if st := c.Stats(); st.Applied != 2 || st.Rejected != 1 || st.Rollbacks != 1 || st.Connects != 1 {
		t.Fatalf("stats %+v", st)
	}
	if got := e.auth(0).Cursor; got != 1 {
		t.Fatalf("first Auth cursor %d, want 1", got)
	}
	if err := c.Sync(context.Background(), SyncConfig{EdgeURL: e.url(), Once: true, IdleAfterReady: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if got := e.auth(1).Cursor; got != 3 {
		t.Fatalf("resume Auth cursor %d, want 3", got)
	}
}

// TestSyncStopsOnConfirmedRefusal: Sync stops for good only on a signed
// revocation (the edge pushes the signed delta, then closes 4006) or on
// an expiry its own clock confirms (4004).
func TestSyncStopsOnConfirmedRefusal(t *testing.T) {
	cases := []struct {
		name   string
		script func(t *testing.T, f *fixture, ec *edgeConn)
		want   error
		status string
	}{
		{"revoked by a signed delta", func(t *testing.T, f *fixture, ec *edgeConn) {
			ec.send(&devproto.Message{Type: devproto.Ready})
			ec.delta(f.delta(t, 2, StatusRevoked))
			ec.conn.Close(devproto.CloseRevoked, "device revoked")
		}, ErrRevoked, StatusRevoked},
		{"expired by the device's clock", func(_ *testing.T, f *fixture, ec *edgeConn) {
			f.clock.Set(t0.Add(certLife + DefaultClockSkew + time.Minute))
			ec.conn.Close(devproto.CloseCertExpired, "certificate expired")
		}, ErrCertificateExpired, StatusActive},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			c := f.client(t)
			e := newFakeEdge(t, f, func(_ int, ec *edgeConn) { tc.script(t, f, ec) })
			err := c.Sync(context.Background(), fastSync(e.url()))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if n := e.authCount(); n != 1 {
				t.Fatalf("%d handshakes, want 1 (no reconnect)", n)
			}
			if got := c.Current().Status; got != tc.status {
				t.Fatalf("status %q, want %q", got, tc.status)
			}
			c.Close()
			c2, err := Open(f.dir, f.options())
			if err != nil {
				t.Fatal(err)
			}
			defer c2.Close()
			if got := c2.Current().Status; got != tc.status {
				t.Fatalf("persisted status %q, want %q", got, tc.status)
			}
		})
	}
	// A device that holds the signed revocation stops at the edge's 4006.
	t.Run("already revoked", func(t *testing.T) {
		f := newFixture(t)
		c := f.client(t)
		if err := c.applyDelta(context.Background(), f.delta(t, 2, StatusRevoked)); !errors.Is(err, ErrRevoked) {
			t.Fatal(err)
		}
		e := newFakeEdge(t, f, func(_ int, ec *edgeConn) { ec.conn.Close(devproto.CloseRevoked, "device revoked") })
		if err := c.Sync(context.Background(), fastSync(e.url())); !errors.Is(err, ErrRevoked) {
			t.Fatalf("got %v, want ErrRevoked", err)
		}
	})
}

// TestUnsignedRefusalsAreHints: close codes 4006 and 4004 that the
// device's signed state or own clock does not confirm change nothing: the
// device retries (Once: a refused error), and keeps syncing with an
// honest edge.
func TestUnsignedRefusalsAreHints(t *testing.T) {
	for _, tc := range []struct {
		name string
		code websocket.StatusCode
		word string
	}{
		{"revoked without a signed delta", devproto.CloseRevoked, "revoked"},
		{"expired at the edge only", devproto.CloseCertExpired, "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			c := f.client(t)
			d2 := f.delta(t, 2, StatusActive)
			lying := newFakeEdge(t, f, func(_ int, ec *edgeConn) { ec.conn.Close(tc.code, "lie") })
			err := c.Sync(context.Background(), SyncConfig{EdgeURL: lying.url(), Once: true, HandshakeTimeout: 5 * time.Second})
			if !errors.Is(err, ErrRefused) || errors.Is(err, ErrRevoked) || errors.Is(err, ErrCertificateExpired) ||
				!strings.Contains(err.Error(), tc.word) {
				t.Fatalf("Once against a lying edge: %v, want ErrRefused naming %q", err, tc.word)
			}
			if st := c.Current(); st.Status != StatusActive || c.Stats().Hints != 1 {
				t.Fatalf("after the lie: %+v %+v", st, c.Stats())
			}

			// Without Once, the device backs off and retries; the next
			// connection is honest.
			e := newFakeEdge(t, f, func(n int, ec *edgeConn) {
				if n == 0 {
					ec.conn.Close(tc.code, "lie")
					return
				}
				ec.send(&devproto.Message{Type: devproto.Ready})
				ec.delta(d2)
			})
			stop, _ := runSync(t, c, fastSync(e.url()))
			waitFor(t, "cursor 2 from the honest connection", func() bool { return c.Current().Cursor == 2 })
			if err := stop(); err != nil {
				t.Fatalf("Sync: %v", err)
			}
			if st := c.Current(); st.Status != StatusActive {
				t.Fatalf("status %q", st.Status)
			}

			// Reopened: still active, and a later sync works.
			c.Close()
			c2, err := Open(f.dir, f.options())
			if err != nil {
				t.Fatal(err)
			}
			defer c2.Close()
			honest := newFakeEdge(t, f, func(_ int, ec *edgeConn) { ec.send(&devproto.Message{Type: devproto.Ready}) })
			if err := c2.Sync(context.Background(), SyncConfig{EdgeURL: honest.url(), Once: true, IdleAfterReady: 50 * time.Millisecond}); err != nil {
				t.Fatalf("later sync: %v", err)
			}
			if st := c2.Current(); st.Status != StatusActive || st.Cursor != 2 {
				t.Fatalf("later state %+v", st)
			}
		})
	}
}

func TestSyncReconnects(t *testing.T) {
	drops := map[string]func(ec *edgeConn){
		"network drop":    func(ec *edgeConn) { ec.conn.CloseNow() },
		"retryable close": func(ec *edgeConn) { ec.conn.Close(devproto.CloseSlowConsumer, "slow") },
		"unknown device":  func(ec *edgeConn) { ec.conn.Close(devproto.CloseUnknownDevice, "lagging") },
	}
	for name, drop := range drops {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			c := f.client(t)
			d2, d3 := f.delta(t, 2, StatusActive), f.delta(t, 3, StatusActive)
			e := newFakeEdge(t, f, func(n int, ec *edgeConn) {
				ec.send(&devproto.Message{Type: devproto.Ready})
				switch n {
				case 0:
					ec.delta(d2)
					time.Sleep(50 * time.Millisecond) // let the device apply it before the drop
					drop(ec)
				case 1:
					ec.delta(d3)
				}
			})
			stop, _ := runSync(t, c, fastSync(e.url()))
			waitFor(t, "cursor 3", func() bool { return c.Current().Cursor == 3 })
			if err := stop(); err != nil {
				t.Fatalf("Sync after cancel: %v, want nil", err)
			}
			if got := e.auth(1).Cursor; got != 2 {
				t.Fatalf("reconnect Auth cursor %d, want 2", got)
			}
		})
	}
}

func TestBackoffDelay(t *testing.T) {
	lo, hi := 500*time.Millisecond, 30*time.Second
	prevMax := time.Duration(0)
	for n := range 40 {
		for range 50 {
			d := backoffDelay(n, lo, hi)
			if d < lo || d > hi {
				t.Fatalf("attempt %d: %s outside [%s, %s]", n, d, lo, hi)
			}
			prevMax = max(prevMax, d)
		}
	}
	if d := backoffDelay(0, lo, hi); d > lo {
		t.Fatalf("first delay %s above %s", d, lo)
	}
	if prevMax < hi/2 {
		t.Fatalf("delays never grew past %s", prevMax)
	}
}

func TestPingTimeoutReconnects(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	release := make(chan struct{})
	e := newFakeEdge(t, f, func(n int, ec *edgeConn) {
		ec.send(&devproto.Message{Type: devproto.Ready})
		if n == 0 {
			<-release // not reading: pings go unanswered
		}
	})
	cfg := fastSync(e.url())
	cfg.PingInterval, cfg.PingTimeout = 30*time.Millisecond, 30*time.Millisecond
	stop, _ := runSync(t, c, cfg)
	waitFor(t, "a second handshake", func() bool { return e.authCount() >= 2 })
	close(release)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// renewingEdge issues a fresh certificate for the presented key.
func renewingEdge(t *testing.T, f *fixture) func(ec *edgeConn, m *devproto.Message) *devproto.Message {
	return func(ec *edgeConn, m *devproto.Message) *devproto.Message {
		chain := f.ca.issue(t, ec.auth.Device, ec.leaf.PublicKey.(ed25519.PublicKey), f.clock.Now())
		return &devproto.Message{Type: devproto.RenewResponse, ID: m.ID, Chain: chain}
	}
}

func TestRenewalAtTwoThirds(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	e := newFakeEdge(t, f, func(_ int, ec *edgeConn) { ec.send(&devproto.Message{Type: devproto.Ready}) })
	e.onRenew = renewingEdge(t, f)
	old := c.Current()

	f.clock.Set(t0.Add(certLife * 2 / 3).Add(-time.Hour))
	if err := c.Sync(context.Background(), SyncConfig{EdgeURL: e.url(), Once: true, IdleAfterReady: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if n := e.requestCount(devproto.RenewRequest); n != 0 {
		t.Fatalf("%d renewals before two thirds of the validity", n)
	}

	stop, _ := runSync(t, c, fastSync(e.url()))
	waitFor(t, "connected", func() bool { _, err := c.session(); return err == nil })
	at := t0.Add(certLife * 2 / 3).Add(time.Hour)
	f.clock.Set(at)
	waitFor(t, "renewal", func() bool { return c.Stats().Renewals == 1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := c.Current()
	if got.CertSerial == old.CertSerial || !got.NotAfter.Equal(at.Add(certLife)) {
		t.Fatalf("after renewal: serial %s (was %s), not_after %s", got.CertSerial, old.CertSerial, got.NotAfter)
	}
	if got.ServerTime.Before(at.Add(-time.Minute)) {
		t.Fatalf("server time %s not advanced by the new certificate", got.ServerTime)
	}
	if n := e.requestCount(devproto.RenewRequest); n != 1 {
		t.Fatalf("%d renew requests, want 1", n)
	}
	c.Close()
	c2, err := Open(f.dir, f.options())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if c2.Current().CertSerial != got.CertSerial {
		t.Fatal("renewed certificate not persisted")
	}
}

func TestRenewalUnavailableKeepsCertificate(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	e := newFakeEdge(t, f, func(_ int, ec *edgeConn) { ec.send(&devproto.Message{Type: devproto.Ready}) })
	old := c.Current()
	f.clock.Set(t0.Add(5 * 24 * time.Hour))
	cfg := fastSync(e.url())
	cfg.RenewRetry = time.Hour
	stop, _ := runSync(t, c, cfg)
	waitFor(t, "a renew request", func() bool { return e.requestCount(devproto.RenewRequest) == 1 })
	time.Sleep(100 * time.Millisecond) // ten check intervals: no retry before RenewRetry
	if n := e.requestCount(devproto.RenewRequest); n != 1 {
		t.Fatalf("%d renew requests within the retry delay, want 1", n)
	}
	if got := c.Current(); got != old {
		t.Fatalf("state changed: %+v", got)
	}
	f.clock.Set(t0.Add(5*24*time.Hour + time.Hour + time.Second))
	waitFor(t, "a retry", func() bool { return e.requestCount(devproto.RenewRequest) == 2 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := c.Current(); got.CertSerial != old.CertSerial {
		t.Fatal("certificate replaced although core was unavailable")
	}
}

func TestRenewalRefusals(t *testing.T) {
	f := newFixture(t)
	answer := func(code string) func(*edgeConn, *devproto.Message) *devproto.Message {
		return func(_ *edgeConn, m *devproto.Message) *devproto.Message {
			return &devproto.Message{Type: devproto.RenewResponse, ID: m.ID, Error: code}
		}
	}
	cases := map[string]struct {
		resp   func(ec *edgeConn, m *devproto.Message) *devproto.Message
		want   error
		unwant error
		hints  uint64
	}{
		// Unsigned: hints, never the device's status.
		"expired":   {answer(devproto.ErrCodeExpired), ErrRefused, ErrCertificateExpired, 1},
		"revoked":   {answer(devproto.ErrCodeRevoked), ErrRefused, ErrRevoked, 1},
		"too early": {answer(devproto.ErrCodeTooEarly), ErrTooEarly, ErrRefused, 0},
		"other key": {func(ec *edgeConn, m *devproto.Message) *devproto.Message {
			chain := f.ca.issue(t, ec.auth.Device, testKey("intruder").Public().(ed25519.PublicKey), f.clock.Now())
			return &devproto.Message{Type: devproto.RenewResponse, ID: m.ID, Chain: chain}
		}, ErrUntrustedResponse, nil, 0},
		"other device": {func(ec *edgeConn, m *devproto.Message) *devproto.Message {
			chain := f.ca.issue(t, otherDevice, ec.leaf.PublicKey.(ed25519.PublicKey), f.clock.Now())
			return &devproto.Message{Type: devproto.RenewResponse, ID: m.ID, Chain: chain}
		}, ErrUntrustedResponse, nil, 0},
		"other CA": {func(ec *edgeConn, m *devproto.Message) *devproto.Message {
			chain := newTestCA(t, testTenant).issue(t, ec.auth.Device, ec.leaf.PublicKey.(ed25519.PublicKey), f.clock.Now())
			return &devproto.Message{Type: devproto.RenewResponse, ID: m.ID, Chain: chain}
		}, ErrUntrustedResponse, nil, 0},
		// Rollback: a valid certificate of this device that expires
		// sooner than, or when, the current one does.
		"older certificate": {func(ec *edgeConn, m *devproto.Message) *devproto.Message {
			chain := f.ca.issue(t, ec.auth.Device, ec.leaf.PublicKey.(ed25519.PublicKey), t0.Add(-time.Hour))
			return &devproto.Message{Type: devproto.RenewResponse, ID: m.ID, Chain: chain}
		}, ErrUntrustedResponse, nil, 0},
		"same expiry": {func(ec *edgeConn, m *devproto.Message) *devproto.Message {
			chain := f.ca.issue(t, ec.auth.Device, ec.leaf.PublicKey.(ed25519.PublicKey), t0)
			return &devproto.Message{Type: devproto.RenewResponse, ID: m.ID, Chain: chain}
		}, ErrUntrustedResponse, nil, 0},
		"the current chain": {func(ec *edgeConn, m *devproto.Message) *devproto.Message {
			return &devproto.Message{Type: devproto.RenewResponse, ID: m.ID, Chain: ec.auth.Chain}
		}, ErrUntrustedResponse, nil, 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f.dir = t.TempDir()
			c := f.client(t)
			e := newFakeEdge(t, f, func(_ int, ec *edgeConn) { ec.send(&devproto.Message{Type: devproto.Ready}) })
			e.onRenew = tc.resp
			stop, _ := runSync(t, c, fastSync(e.url()))
			waitFor(t, "connected", func() bool { _, err := c.session(); return err == nil })
			old := c.Current()
			c.mu.Lock()
			oldChain := c.rec.Chain[0]
			c.mu.Unlock()
			err := c.Renew(context.Background())
			if !errors.Is(err, tc.want) || (tc.unwant != nil && errors.Is(err, tc.unwant)) {
				t.Fatalf("Renew: %v, want %v (and not %v)", err, tc.want, tc.unwant)
			}
			if got := c.Current(); got != old {
				t.Fatalf("state changed: %+v → %+v", old, got)
			}
			if got := c.Stats(); got.Hints != tc.hints || got.Renewals != 0 {
				t.Fatalf("stats %+v", got)
			}
			if _, err := c.session(); err != nil {
				t.Fatalf("the refusal ended the session: %v", err)
			}
			if err := stop(); err != nil {
				t.Fatalf("Sync: %v", err)
			}
			rec, err := c.st.load(context.Background())
			if err != nil || rec.Entity.Status != StatusActive || string(rec.Chain[0]) != string(oldChain) {
				t.Fatalf("persisted %+v %v (chain replaced: %v)", rec.Entity, err, string(rec.Chain[0]) != string(oldChain))
			}
		})
	}
}

// TestRenewalHintsKeepSyncing: an unsigned "revoked" or "expired" answer to
// a due renewal is logged, counted and retried after RenewRetry; the
// session goes on and nothing is persisted.
func TestRenewalHintsKeepSyncing(t *testing.T) {
	for _, code := range []string{devproto.ErrCodeRevoked, devproto.ErrCodeExpired} {
		t.Run(code, func(t *testing.T) {
			f := newFixture(t)
			c := f.client(t)
			d2 := f.delta(t, 2, StatusActive)
			sendD2 := make(chan struct{})
			e := newFakeEdge(t, f, func(_ int, ec *edgeConn) {
				ec.send(&devproto.Message{Type: devproto.Ready})
				go func() { // while the edge answers requests
					select {
					case <-sendD2:
						ec.delta(d2)
					case <-time.After(10 * time.Second):
					}
				}()
			})
			e.onRenew = func(_ *edgeConn, m *devproto.Message) *devproto.Message {
				return &devproto.Message{Type: devproto.RenewResponse, ID: m.ID, Error: code}
			}
			f.clock.Set(t0.Add(5 * 24 * time.Hour))
			cfg := fastSync(e.url())
			cfg.RenewRetry = time.Hour
			stop, done := runSync(t, c, cfg)
			waitFor(t, "a renew request", func() bool { return e.requestCount(devproto.RenewRequest) == 1 })
			time.Sleep(100 * time.Millisecond)
			select {
			case err := <-done:
				t.Fatalf("Sync ended: %v", err)
			default:
			}
			if n := e.requestCount(devproto.RenewRequest); n != 1 {
				t.Fatalf("%d renew requests within RenewRetry", n)
			}
			close(sendD2)
			waitFor(t, "the session still applies deltas", func() bool { return c.Current().Cursor == 2 })
			f.clock.Set(t0.Add(5*24*time.Hour + time.Hour + time.Second))
			waitFor(t, "a retry", func() bool { return e.requestCount(devproto.RenewRequest) == 2 })
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if st, stats := c.Current(), c.Stats(); st.Status != StatusActive || stats.Hints < 2 || e.authCount() != 1 {
				t.Fatalf("state %+v stats %+v, %d handshakes", st, stats, e.authCount())
			}
		})
	}
}

// TestRenewalTooEarly: "too_early" is not an error: Once returns nil with
// the certificate kept, and a syncing client asks again at the next check
// (not after RenewRetry).
func TestRenewalTooEarly(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	e := newFakeEdge(t, f, func(_ int, ec *edgeConn) { ec.send(&devproto.Message{Type: devproto.Ready}) })
	e.onRenew = func(_ *edgeConn, m *devproto.Message) *devproto.Message {
		return &devproto.Message{Type: devproto.RenewResponse, ID: m.ID, Error: devproto.ErrCodeTooEarly}
	}
	old := c.Current()
	f.clock.Set(t0.Add(5 * 24 * time.Hour))
	if err := c.Sync(context.Background(), SyncConfig{EdgeURL: e.url(), Once: true, IdleAfterReady: 50 * time.Millisecond}); err != nil {
		t.Fatalf("Once with a too early renewal: %v", err)
	}
	if got := c.Current(); got != old || c.Stats().TooEarly != 1 || e.requestCount(devproto.RenewRequest) != 1 {
		t.Fatalf("state %+v stats %+v", got, c.Stats())
	}
	cfg := fastSync(e.url())
	cfg.RenewRetry = time.Hour
	stop, _ := runSync(t, c, cfg)
	waitFor(t, "asking again at the next checks", func() bool { return e.requestCount(devproto.RenewRequest) >= 3 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := c.Current(); got.CertSerial != old.CertSerial || got.Status != StatusActive {
		t.Fatalf("state %+v", got)
	}
}

func TestTokenAndForcedRenew(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	if err := c.Renew(context.Background()); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Renew while not syncing: %v", err)
	}
	if _, _, err := c.Token(context.Background()); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Token while not syncing: %v", err)
	}
	e := newFakeEdge(t, f, func(_ int, ec *edgeConn) { ec.send(&devproto.Message{Type: devproto.Ready}) })
	e.onRenew = renewingEdge(t, f)
	e.onToken = sealingCore(t, "eyJ.test.token", nil)
	stop, _ := runSync(t, c, fastSync(e.url()))
	waitFor(t, "connected", func() bool { _, err := c.session(); return err == nil })
	tok, exp, err := c.Token(context.Background())
	if err != nil || tok != "eyJ.test.token" || exp != 5*time.Minute {
		t.Fatalf("Token: %q %s %v", tok, exp, err)
	}
	old := c.Current()
	f.clock.Set(t0.Add(time.Hour))
	if err := c.Renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.Current().CertSerial == old.CertSerial {
		t.Fatal("forced renewal did not replace the certificate")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	e.onToken = nil
}

func TestSyncRunningAndClosed(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	e := newFakeEdge(t, f, func(_ int, ec *edgeConn) { ec.send(&devproto.Message{Type: devproto.Ready}) })
	_, done := runSync(t, c, fastSync(e.url()))
	waitFor(t, "connected", func() bool { _, err := c.session(); return err == nil })
	if err := c.Sync(context.Background(), fastSync(e.url())); !errors.Is(err, ErrSyncRunning) {
		t.Fatalf("second Sync: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync after Close: %v", err)
	}
}

func TestSyncOnceUnreachable(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	err := c.Sync(context.Background(), SyncConfig{EdgeURL: "http://127.0.0.1:1", Once: true, HandshakeTimeout: time.Second})
	if err == nil {
		t.Fatal("Once against no edge succeeded")
	}
}

// TestTokenIsSealed: each token request carries a fresh ephemeral key in
// its signed nonce; only a token sealed to it opens; a tampered, missing
// or foreign seal fails, and an unsigned "revoked" answer is a hint.
func TestTokenIsSealed(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	const token = "eyJhbGciOiJFZERTQSJ9.e30.c2ln"
	var mu sync.Mutex
	var edit func(ec *edgeConn, m, resp *devproto.Message)
	var nonces [][]byte
	e := newFakeEdge(t, f, func(_ int, ec *edgeConn) { ec.send(&devproto.Message{Type: devproto.Ready}) })
	e.onToken = func(ec *edgeConn, m *devproto.Message) *devproto.Message {
		resp := sealingCore(t, token, nil)(ec, m)
		mu.Lock()
		defer mu.Unlock()
		nonces = append(nonces, m.Nonce)
		if edit != nil {
			edit(ec, m, resp)
		}
		return resp
	}
	stop, _ := runSync(t, c, fastSync(e.url()))
	waitFor(t, "connected", func() bool { _, err := c.session(); return err == nil })
	for range 2 {
		if tok, _, err := c.Token(context.Background()); err != nil || tok != token {
			t.Fatalf("Token: %q %v", tok, err)
		}
	}
	mu.Lock()
	if len(nonces) != 2 || string(nonces[0][RequestNonceBytes:]) == string(nonces[1][RequestNonceBytes:]) {
		t.Fatal("two token requests carried the same ephemeral key")
	}
	mu.Unlock()

	cases := map[string]struct {
		edit func(ec *edgeConn, m, resp *devproto.Message)
		want error
	}{
		"tampered": {func(_ *edgeConn, _, resp *devproto.Message) { resp.SealedToken[len(resp.SealedToken)-1] ^= 1 }, ErrUntrustedResponse},
		"truncated": {func(_ *edgeConn, _, resp *devproto.Message) {
			resp.SealedToken = resp.SealedToken[:devproto.SealedTokenOverhead]
		}, ErrUntrustedResponse},
		"missing": {func(_ *edgeConn, _, resp *devproto.Message) { resp.SealedToken = nil }, ErrProtocol},
		// An edge that seals its own token to its own key for the same
		// request cannot make the device accept it.
		"sealed to another key": {func(ec *edgeConn, m, resp *devproto.Message) {
			other, _ := ecdh.X25519().GenerateKey(rand.Reader)
			n := append(bytes.Clone(m.Nonce[:RequestNonceBytes]), other.PublicKey().Bytes()...)
			resp.SealedToken, _ = devproto.SealToken(ec.auth.Tenant, ec.auth.Device, n, "eyJ.forged.token")
		}, ErrUntrustedResponse},
		"revoked": {func(_ *edgeConn, _, resp *devproto.Message) {
			resp.SealedToken, resp.ExpiresIn, resp.Error = nil, 0, devproto.ErrCodeRevoked
		}, ErrRefused},
	}
	for name, tc := range cases {
		mu.Lock()
		edit = tc.edit
		mu.Unlock()
		tok, _, err := c.Token(context.Background())
		if !errors.Is(err, tc.want) || tok != "" || errors.Is(err, ErrRevoked) {
			t.Errorf("%s: Token = %q, %v; want %v", name, tok, err, tc.want)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st := c.Current(); st.Status != StatusActive || c.Stats().Hints != 1 {
		t.Fatalf("state %+v stats %+v", st, c.Stats())
	}
}
