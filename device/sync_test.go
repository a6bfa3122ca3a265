package device

import (
	"context"
	"crypto/ed25519"
	"errors"
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

func TestSyncStopsOnRefusal(t *testing.T) {
	cases := []struct {
		name   string
		code   websocket.StatusCode
		want   error
		status string
	}{
		{"expired", devproto.CloseCertExpired, ErrCertificateExpired, StatusActive},
		{"revoked", devproto.CloseRevoked, ErrRevoked, StatusRevoked},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			c := f.client(t)
			e := newFakeEdge(t, f, func(_ int, ec *edgeConn) { ec.conn.Close(tc.code, tc.name) })
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
	cases := map[string]struct {
		resp func(ec *edgeConn, m *devproto.Message) *devproto.Message
		want error
	}{
		"expired": {func(_ *edgeConn, m *devproto.Message) *devproto.Message {
			return &devproto.Message{Type: devproto.RenewResponse, ID: m.ID, Error: devproto.ErrCodeExpired}
		}, ErrCertificateExpired},
		"revoked": {func(_ *edgeConn, m *devproto.Message) *devproto.Message {
			return &devproto.Message{Type: devproto.RenewResponse, ID: m.ID, Error: devproto.ErrCodeRevoked}
		}, ErrRevoked},
		"other key": {func(ec *edgeConn, m *devproto.Message) *devproto.Message {
			chain := f.ca.issue(t, ec.auth.Device, testKey("intruder").Public().(ed25519.PublicKey), f.clock.Now())
			return &devproto.Message{Type: devproto.RenewResponse, ID: m.ID, Chain: chain}
		}, ErrUntrustedResponse},
		"other device": {func(ec *edgeConn, m *devproto.Message) *devproto.Message {
			chain := f.ca.issue(t, otherDevice, ec.leaf.PublicKey.(ed25519.PublicKey), f.clock.Now())
			return &devproto.Message{Type: devproto.RenewResponse, ID: m.ID, Chain: chain}
		}, ErrUntrustedResponse},
		"other CA": {func(ec *edgeConn, m *devproto.Message) *devproto.Message {
			chain := newTestCA(t, testTenant).issue(t, ec.auth.Device, ec.leaf.PublicKey.(ed25519.PublicKey), f.clock.Now())
			return &devproto.Message{Type: devproto.RenewResponse, ID: m.ID, Chain: chain}
		}, ErrUntrustedResponse},
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
			err := c.Renew(context.Background())
			if !errors.Is(err, tc.want) {
				t.Fatalf("Renew: %v, want %v", err, tc.want)
			}
			if got := c.Current(); got.CertSerial != old.CertSerial {
				t.Fatal("certificate replaced")
			}
			stop()
		})
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
	e.onToken = func(_ *edgeConn, m *devproto.Message) *devproto.Message {
		return &devproto.Message{Type: devproto.TokenResponse, ID: m.ID, Token: "eyJ.test.token", ExpiresIn: 300}
	}
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
