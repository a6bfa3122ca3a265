package devsync

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/melmastoon/iam/syncproto/devproto"
)

// devprotoCodes are the close codes a refused handshake may carry.
var devprotoCodes = map[websocket.StatusCode]bool{devproto.CloseProtocol: true, devproto.CloseHandshakeTimeout: true,
	devproto.CloseUnknownDevice: true, devproto.CloseUntrusted: true, devproto.CloseCertExpired: true,
	devproto.CloseCertNotYetValid: true, devproto.CloseRevoked: true}

// FuzzAuthFrame sends arbitrary bytes as the Auth frame: the server never
// panics and always closes with a devproto code.
func FuzzAuthFrame(f *testing.F) {
	h := newHarness(f, nil)
	tn := h.newTenant(true)
	d := tn.newDevice()
	d.enroll()
	valid, err := devproto.Encode(authFor(d, 0, make([]byte, devproto.NonceBytes)))
	if err != nil {
		f.Fatal(err)
	}
	other, _ := devproto.Encode(&devproto.Message{Type: devproto.Auth, Tenant: tn.id, Device: d.id, Chain: [][]byte{{1, 2}}, Sig: make([]byte, 64)})
	for _, seed := range [][]byte{valid, other, {}, {0xa0}, {0xa1, 0x01, 0x02}, []byte("not cbor"), valid[:len(valid)/2]} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) > devproto.MaxFrameBytes {
			t.Skip("over the read limit: the WebSocket library closes with 1009 before the server sees it")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.http.URL, "http")+"/api/v1/sync",
			&websocket.DialOptions{Subprotocols: []string{devproto.Subprotocol}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if _, _, err := c.Read(ctx); err != nil { // Hello
			t.Fatal(err)
		}
		if err := c.Write(ctx, websocket.MessageBinary, frame); err != nil {
			t.Fatal(err)
		}
		var code websocket.StatusCode
		for {
			_, _, err := c.Read(ctx)
			if err != nil {
				code = websocket.CloseStatus(err)
				break
			}
		}
		if !devprotoCodes[code] {
			t.Fatalf("closed with %v, want a devproto code", code)
		}
	})
}
