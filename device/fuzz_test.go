package device

import (
	"context"
	"testing"

	"github.com/melmastoon/iam/syncproto/devproto"
)

// FuzzDeviceFrame feeds arbitrary bytes to the client's frame handler as
// if an edge had sent them after Ready: it must not panic and must not
// change the device's state (the seeds hold no valid newer delta).
func FuzzDeviceFrame(f *testing.F) {
	fx := newFixture(f)
	dup := fx.delta(f, 1, StatusActive)
	old := fx.delta(f, 0, StatusActive)
	tampered := fx.delta(f, 9, StatusActive)
	tampered[len(tampered)-1] ^= 1
	for _, m := range []*devproto.Message{
		{Type: devproto.Ready, Time: 1},
		{Type: devproto.Hello, Nonce: make([]byte, 32)},
		{Type: devproto.Delta, Delta: dup},
		{Type: devproto.Delta, Delta: old},
		{Type: devproto.Delta, Delta: tampered},
		{Type: devproto.RenewResponse, ID: 7, Chain: [][]byte{{1, 2}}},
		{Type: devproto.TokenResponse, ID: 1, SealedToken: []byte("t"), ExpiresIn: 3},
	} {
		f.Add(frame(f, m))
	}
	f.Add([]byte{})
	f.Add([]byte{0xa1, 0x01, 0x04})
	c := fx.client(f)
	s := newSession(c, &SyncConfig{}, nil)
	before := c.Current()
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := devproto.Decode(b); err == nil {
			_ = s.handleFrame(context.Background(), m)
		}
		if after := c.Current(); after != before {
			t.Fatalf("state changed: %+v → %+v", before, after)
		}
	})
}
