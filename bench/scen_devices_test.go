package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/melmastoon/iam/syncproto"
	"github.com/melmastoon/iam/syncproto/devcert"
	"github.com/melmastoon/iam/syncproto/devproto"
)

// TestMain also serves as the device client process of the remote fleet
// test (startRemoteFleet re-executes the test binary).
func TestMain(m *testing.M) {
	if os.Getenv(devClientEnv) != "" {
		os.Exit(runDeviceClientProcess())
	}
	os.Exit(m.Run())
}

const testDevTenant = "0e4f8a52-6c1d-4b7e-9f3a-2d5c8b1e7a90"

// fakeEdge speaks the edge's side of the sync protocol for the client
// tests: Hello, checks Auth (proof of possession, cursor one behind), Ready
// and the device's signed delta at its version; a RenewRequest is answered
// with a chain and a device.renewed delta, then a device.revoked delta and
// close 4006.
type fakeEdge struct {
	t    *testing.T
	mu   sync.Mutex
	sign *syncproto.Chain
	keys map[string]ed25519.PublicKey
	vers map[string]int64
}

func (e *fakeEdge) delta(id, typ string, v int64) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	data, err := syncproto.EncodeData(devproto.DevicePayload{ID: id, Status: "active", Version: v, NotAfter: "2030-01-01T00:00:00Z"})
	if err != nil {
		e.t.Error(err)
		return nil
	}
	msg, err := e.sign.Next(syncproto.Envelope{ID: uuid.NewString(), Time: time.Now().UnixMilli(), Source: "core/relay",
		Subject: id, Type: typ, DataContentType: syncproto.DataContentTypeCBOR, Data: data})
	if err != nil {
		e.t.Error(err)
	}
	return msg
}

func (e *fakeEdge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{devproto.Subprotocol}})
	if err != nil {
		return
	}
	defer func() { _ = c.CloseNow() }()
	ctx := r.Context()
	send := func(m *devproto.Message) bool {
		b, err := devproto.Encode(m)
		return err == nil && c.Write(ctx, websocket.MessageBinary, b) == nil
	}
	nonce := make([]byte, devproto.NonceBytes)
	_, _ = rand.Read(nonce)
	if !send(&devproto.Message{Type: devproto.Hello, Nonce: nonce, Time: time.Now().UnixMilli()}) {
		return
	}
	auth, err := readFrame(ctx, c)
	if err != nil {
		return
	}
	e.mu.Lock()
	pub, v := e.keys[auth.Device], e.vers[auth.Device]
	e.mu.Unlock()
	if auth.Type != devproto.Auth || auth.Tenant != testDevTenant || auth.Cursor != uint64(v-1) ||
		devcert.VerifyPossession(pub, devcert.HandshakeMessage(auth.Tenant, auth.Device, nonce), auth.Sig) != nil {
		_ = c.Close(devproto.CloseUntrusted, "refused")
		return
	}
	if !send(&devproto.Message{Type: devproto.Ready, Time: time.Now().UnixMilli()}) ||
		!send(&devproto.Message{Type: devproto.Delta, Delta: e.delta(auth.Device, devproto.DeviceRenewedType, v)}) {
		return
	}
	m, err := readFrame(ctx, c)
	if err != nil {
		return
	}
	if m.Type != devproto.RenewRequest || len(m.Nonce) != devproto.RequestNonceBytes ||
		devcert.VerifyPossession(pub, devcert.RenewalMessage(auth.Tenant, auth.Device, m.Nonce), m.Sig) != nil {
		_ = c.Close(devproto.CloseProtocol, "bad renew")
		return
	}
	if send(&devproto.Message{Type: devproto.RenewResponse, ID: m.ID, Chain: [][]byte{[]byte("leaf-" + auth.Device)}}) &&
		send(&devproto.Message{Type: devproto.Delta, Delta: e.delta(auth.Device, devproto.DeviceRenewedType, v+1)}) &&
		send(&devproto.Message{Type: devproto.Delta, Delta: e.delta(auth.Device, devproto.DeviceRevokedType, v+2)}) {
		_ = c.Close(devproto.CloseRevoked, "device revoked")
	}
}

func newFakeEdge(t *testing.T, devs []*benchDevice) (*fakeEdge, *syncproto.Keyring) {
	t.Helper()
	_, rootKey, _ := ed25519.GenerateKey(rand.Reader)
	_, deltaKey, _ := ed25519.GenerateKey(rand.Reader)
	root, err := syncproto.NewSigner("root-1", rootKey)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := syncproto.NewSigner("delta-1", deltaKey)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := syncproto.NewKeyring(syncproto.TrustAnchor{Tenant: testDevTenant, Kid: root.Kid(), PublicKey: root.PublicKey()},
		[]syncproto.SigningKey{signer.SigningKey()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := syncproto.NewChain(testDevTenant, signer, 0, syncproto.ZeroHash)
	if err != nil {
		t.Fatal(err)
	}
	e := &fakeEdge{t: t, sign: chain, keys: map[string]ed25519.PublicKey{}, vers: map[string]int64{}}
	for _, d := range devs {
		e.keys[d.id], e.vers[d.id] = d.key.Public().(ed25519.PublicKey), d.version
	}
	return e, keys
}

func TestDeviceClientFleets(t *testing.T) {
	for _, mode := range []string{"inproc", "process"} {
		t.Run(mode, func(t *testing.T) {
			devs := make([]*benchDevice, 3)
			for i := range devs {
				_, key, _ := ed25519.GenerateKey(rand.Reader)
				devs[i] = &benchDevice{id: uuid.NewString(), key: key, chain: [][]byte{[]byte("leaf")}, version: int64(2 + i)}
			}
			edge, keys := newFakeEdge(t, devs)
			srv := httptest.NewServer(edge)
			defer srv.Close()
			url := srv.URL + "/api/v1/sync"
			var f clientFleet
			if mode == "process" {
				rf, err := startRemoteFleet(url, testDevTenant, devs, false)
				if err != nil {
					t.Fatal(err)
				}
				f = rf
			} else {
				f = newDevFleet(url, testDevTenant, devs, false)
			}
			checkFleet(t, f, devs, keys)
		})
	}
}

func checkFleet(t *testing.T, f clientFleet, devs []*benchDevice, keys *syncproto.Keyring) {
	t.Helper()
	ds, err := f.dial(context.Background(), 2)
	if err != nil || len(ds.Lat) != len(devs) || ds.Errors != 0 || ds.Dials != int64(len(devs)) {
		t.Fatalf("dial: %+v %v", ds, err)
	}
	if s := ds.recorder().Summary(); s.Count != len(devs) || s.Throughput <= 0 {
		t.Fatalf("dial summary %+v", s)
	}
	if err := f.waitDeltas(int64(len(devs))); err != nil {
		t.Fatal(err)
	}
	frames, err := f.frames(make([]int, len(devs)))
	if err != nil {
		t.Fatal(err)
	}
	ok, bad, sample := checkFrames(frames, devs, keys, testDevTenant, "melmastoon.iam.device.", func(i int) int64 { return devs[i].version })
	if bad != 0 || !ok[0] || !ok[2] {
		t.Fatalf("catch-up: %d bad (%s)", bad, sample)
	}
	if again, _ := f.frames(make([]int, len(devs))); again[0].Got {
		t.Fatal("frames must release the bytes it returned")
	}
	marks, err := f.marks()
	if err != nil || marks[1] != 1 {
		t.Fatalf("marks %v %v", marks, err)
	}
	rr, err := f.renew(1)
	if err != nil || rr.Err != "" || rr.DeltaErr != "" || len(rr.Chain) != 1 || string(rr.Chain[0]) != "leaf-"+devs[1].id {
		t.Fatalf("renew: %+v %v", rr, err)
	}
	if d, err := checkDelta(rr.Raw, keys, testDevTenant); err != nil || d.typ != devproto.DeviceRenewedType || d.payload.Version != devs[1].version+1 {
		t.Fatalf("renewed delta %+v %v", d, err)
	}
	if !rr.DeltaAt.After(rr.Sent) || rr.RespAt.Before(rr.Sent) {
		t.Fatalf("renew times %+v", rr)
	}
	if err := f.waitEnded(1); err != nil {
		t.Fatal(err)
	}
	frames, _ = f.frames([]int{0, 2, 0})
	if ok, bad, s := checkFrames(frames[1:2], devs[1:2], keys, testDevTenant, devproto.DeviceRevokedType, func(int) int64 { return devs[1].version + 2 }); bad != 0 || !ok[0] {
		t.Fatalf("revoked delta: %s", s)
	}
	ends, err := f.ends()
	if err != nil || ends[1].At.IsZero() || ends[1].Code != int(devproto.CloseRevoked) || !ends[0].At.IsZero() {
		t.Fatalf("ends %+v %v", ends, err)
	}
	if n, msg, err := f.badFrames(); err != nil || n != 0 {
		t.Fatalf("bad frames %d %q %v", n, msg, err)
	}
	m, err := f.clientMem()
	if err != nil || (f.pid() != 0) != (m != nil) || (m != nil && (m.Goroutines == 0 || m.FDs == 0)) {
		t.Fatalf("client memory %+v %v", m, err)
	}
	if err := f.closeAll(); err != nil {
		t.Fatal(err)
	}
}

func TestParseGoroutineProfile(t *testing.T) {
	stop := make(chan struct{})
	started := make(chan struct{})
	pprof.Do(context.Background(), pprof.Labels("bench", "parse-test"), func(context.Context) {
		for range 3 {
			go func() {
				started <- struct{}{}
				<-stop
			}()
		}
	})
	for range 3 {
		<-started
	}
	total, labeled := goroutinesLabeled("bench", "parse-test")
	close(stop)
	if labeled != 3 || total < 4 {
		t.Fatalf("total %d labeled %d", total, labeled)
	}
	text := "goroutine profile: total 7\n4 @ 0x1 0x2\n# labels: {\"bench\":\"device-client\"}\n#\t0x1\tmain.x+0x1\tx.go:1\n\n3 @ 0x3\n#\t0x3\tmain.y+0x1\ty.go:1\n"
	if total, labeled := parseGoroutineProfile(text, "bench", devClientLabel); total != 7 || labeled != 4 {
		t.Fatalf("parsed total %d labeled %d", total, labeled)
	}
}

func TestClassifyFrames(t *testing.T) {
	tests := []struct {
		funcs []string
		want  heapSide
	}{
		{[]string{"bufio.NewReaderSize", "github.com/coder/websocket.Accept", "github.com/melmastoon/iam/edge/devsync.(*Server).ServeHTTP", "net/http.(*conn).serve"}, sideEdge},
		// The edge's accept loop runs in a goroutine the bench started.
		{[]string{"net.(*TCPListener).accept", "net/http.(*Server).Serve", "github.com/melmastoon/iam/edge.(*Edge).Run", "main.(*devRig).startCoreAndEdge.func2"}, sideEdge},
		{[]string{"bufio.NewReaderSize", "github.com/coder/websocket.Dial", "main.(*devFleet).connect"}, sideClient},
		{[]string{"net.(*sysDialer).dialTCP", "net/http.(*Transport).dialConnFor"}, sideClient},
		{[]string{"github.com/melmastoon/iam/core/relay.(*leader).pass", "main.(*devRig).startCoreAndEdge.func1"}, sideOther},
	}
	for _, tt := range tests {
		if got := classifyFrames(tt.funcs); got != tt.want {
			t.Errorf("%v: got %d, want %d", tt.funcs, got, tt.want)
		}
	}
}

func TestHeapBySideAndProcCPU(t *testing.T) {
	s := heapBySide()
	if s.Client+s.Edge+s.Other <= 0 {
		t.Fatalf("empty heap split %+v", s)
	}
	deadline := time.Now().Add(100 * time.Millisecond)
	for time.Now().Before(deadline) {
		_ = bytes.Repeat([]byte("x"), 1024)
	}
	if procCPU(os.Getpid()) <= 0 {
		t.Fatal("procCPU of this process is zero")
	}
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &cur); err != nil {
		t.Skip(err)
	}
	before, after, err := raiseFDLimit(cur.Cur)
	if err != nil || before != after {
		t.Fatalf("raiseFDLimit to the current limit: %+v → %+v %v", before, after, err)
	}
}

func TestDeviceOptions(t *testing.T) {
	o := DeviceOptions{Dialers: 32, PerAccount: 10, Batch: 500, Clients: "auto", Revoke: true}
	if err := o.setDefaults(false); err != nil || o.maxConns() != 10000 || o.Renewals != 20 {
		t.Fatalf("defaults %+v %v", o, err)
	}
	bad := o
	bad.connsList = "30000"
	if err := bad.setDefaults(false); err == nil {
		t.Fatal("30000 connections accepted")
	}
	bad = o
	bad.Clients = "thread"
	if err := bad.setDefaults(false); err == nil {
		t.Fatal("unknown -devices-clients accepted")
	}
}
