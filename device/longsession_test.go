package device

import (
	"testing"
	"time"

	"github.com/melmastoon/iam/syncproto/devproto"
)

// TestSessionOutlivesHandshakeTimeout: the handshake deadline bounds only
// the handshake, not the connection.
func TestSessionOutlivesHandshakeTimeout(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	e := newFakeEdge(t, f, func(_ int, ec *edgeConn) { ec.send(&devproto.Message{Type: devproto.Ready}) })
	cfg := fastSync(e.url())
	cfg.HandshakeTimeout, cfg.PingInterval, cfg.PingTimeout = 100*time.Millisecond, 20*time.Millisecond, time.Second
	stop, _ := runSync(t, c, cfg)
	waitFor(t, "connected", func() bool { _, err := c.session(); return err == nil })
	time.Sleep(400 * time.Millisecond)
	if n := e.authCount(); n != 1 {
		t.Fatalf("%d handshakes, want 1", n)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
