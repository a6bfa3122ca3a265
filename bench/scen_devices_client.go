package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/melmastoon/iam/syncproto"
	"github.com/melmastoon/iam/syncproto/devcert"
	"github.com/melmastoon/iam/syncproto/devproto"
)

// A minimal device client for the device-sync scenario: it dials the
// edge's WebSocket, reads Hello, answers Auth (certificate chain and the
// proof of possession over devcert.HandshakeMessage), reads Ready, and
// then one goroutine per connection reads frames and stamps each with
// time.Now() as it returns from Read. It keeps the signed deltas it
// receives and checks them afterwards (syncproto.VerifyStandalone, type,
// device, version), off the clock, so the fan-out figures carry no
// client-side verification cost. Unlike the device/ library it keeps no
// SQLite state, does not reconnect and answers no pings on its own (the
// WebSocket library answers them while Read runs, which is always).

// devClientLabel marks the client's goroutines (pprof labels, inherited
// by every goroutine they start), so the goroutine count splits into
// client and the rest (the edge).
const devClientLabel = "device-client"

// devFleet is the client connections of one phase.
type devFleet struct {
	url      string
	tenant   string
	upToDate bool // cursor = the Device version (else version − 1)
	hc       *http.Client

	ctx    context.Context // the readers'; cancelled by close
	cancel context.CancelFunc

	devs   []*benchDevice
	conns  []*devConn   // by device index
	deltas atomic.Int64 // Delta frames received, all connections
	ended  atomic.Int64 // readers that returned
	bad    atomic.Int64 // frames that did not decode
	badMsg atomic.Value // string: the first decode error
	dials  atomic.Int64 // dial attempts
	failed atomic.Int64 // failed connection attempts
	fail1  atomic.Value // string: the first failure
	labels pprof.LabelSet
}

// newDevFleet prepares the connections of devs (not yet dialed).
func newDevFleet(url, tenant string, devs []*benchDevice, upToDate bool) *devFleet {
	tr := &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConns: 1, DisableCompression: true}
	f := &devFleet{url: url, tenant: tenant, upToDate: upToDate, hc: &http.Client{Transport: tr}, devs: devs,
		conns: make([]*devConn, len(devs)), labels: pprof.Labels("bench", devClientLabel)}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	return f
}

// devConn is one device connection.
type devConn struct {
	f      *devFleet
	dev    *benchDevice
	c      *websocket.Conn
	start  time.Time // dial started
	ready  time.Time // Ready read
	notify chan struct{}
	done   chan struct{} // the reader returned
	nextID atomic.Uint64

	mu      sync.Mutex
	rx      []rxFrame
	pending map[uint64]chan *devproto.Message
	endAt   time.Time
	endErr  error
}

// rxFrame is one Delta frame as received.
type rxFrame struct {
	at  time.Time
	raw []byte // the signed delta; nil once checked
}

// dialAll connects f.devs with dialers goroutines in parallel (each
// retries a device up to 3 times) and records dial → Ready per connection
// in rec.
func (f *devFleet) dialAll(ctx context.Context, dialers int, rec *Recorder) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var errOnce sync.Once
	var firstErr error
	rec.Start(time.Now())
	pprof.Do(ctx, f.labels, func(ctx context.Context) {
		for range dialers {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= len(f.conns) || ctx.Err() != nil {
						return
					}
					dc, err := f.connectRetrying(ctx, f.devs[i])
					if err != nil {
						errOnce.Do(func() { firstErr = fmt.Errorf("bench: device %d: %w", i, err) })
						rec.Record(0, err)
						continue
					}
					f.conns[i] = dc
					rec.Record(dc.ready.Sub(dc.start), nil)
				}
			})
		}
		wg.Wait()
	})
	rec.Stop(time.Now())
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func (f *devFleet) connectRetrying(ctx context.Context, dev *benchDevice) (*devConn, error) {
	var err error
	for range 3 {
		var dc *devConn
		if dc, err = f.connect(ctx, dev); err == nil {
			return dc, nil
		}
		f.failed.Add(1)
		f.fail1.CompareAndSwap(nil, err.Error())
		if ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

// connect runs one handshake and starts the connection's reader.
func (f *devFleet) connect(ctx context.Context, dev *benchDevice) (*devConn, error) {
	f.dials.Add(1)
	hctx, cancel := context.WithTimeout(ctx, devHandshake)
	defer cancel()
	dc := &devConn{f: f, dev: dev, notify: make(chan struct{}, 1), done: make(chan struct{}),
		pending: map[uint64]chan *devproto.Message{}}
	dc.start = time.Now()
	c, resp, err := websocket.Dial(hctx, f.url, &websocket.DialOptions{HTTPClient: f.hc, Subprotocols: []string{devproto.Subprotocol}})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	dc.c = c
	c.SetReadLimit(devproto.MaxFrameBytes)
	if err := dc.handshake(hctx); err != nil {
		_ = c.CloseNow()
		return nil, err
	}
	dc.ready = time.Now()
	go dc.readLoop(f.ctx)
	return dc, nil
}

func (dc *devConn) handshake(ctx context.Context) error {
	hello, err := readFrame(ctx, dc.c)
	if err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	if hello.Type != devproto.Hello || len(hello.Nonce) != devproto.NonceBytes {
		return fmt.Errorf("expected hello, got %s", hello.Type)
	}
	chain, version := dc.dev.state()
	cursor := uint64(max(version, 0))
	if !dc.f.upToDate && cursor > 0 {
		cursor-- // one behind: the edge sends the newest stored delta
	}
	auth, err := devproto.Encode(&devproto.Message{Type: devproto.Auth, Tenant: dc.f.tenant, Device: dc.dev.id, Chain: chain,
		Sig: ed25519.Sign(dc.dev.key, devcert.HandshakeMessage(dc.f.tenant, dc.dev.id, hello.Nonce)), Cursor: cursor})
	if err != nil {
		return err
	}
	if err := dc.c.Write(ctx, websocket.MessageBinary, auth); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	ready, err := readFrame(ctx, dc.c)
	if err != nil {
		return fmt.Errorf("ready: %w", err)
	}
	if ready.Type != devproto.Ready {
		return fmt.Errorf("expected ready, got %s", ready.Type)
	}
	return nil
}

// readFrame reads and decodes one frame; a close is reported with its code.
func readFrame(ctx context.Context, c *websocket.Conn) (*devproto.Message, error) {
	typ, b, err := c.Read(ctx)
	if err != nil {
		if code := websocket.CloseStatus(err); code != -1 {
			return nil, fmt.Errorf("closed by the edge with %d", code)
		}
		return nil, err
	}
	if typ != websocket.MessageBinary {
		return nil, errors.New("text frame")
	}
	return devproto.Decode(b)
}

// readLoop receives frames until the connection ends.
func (dc *devConn) readLoop(ctx context.Context) {
	defer close(dc.done)
	for {
		typ, b, err := dc.c.Read(ctx)
		now := time.Now()
		if err != nil {
			dc.mu.Lock()
			dc.endAt, dc.endErr = now, err
			dc.mu.Unlock()
			dc.f.ended.Add(1)
			return
		}
		var m *devproto.Message
		if typ == websocket.MessageBinary {
			m, err = devproto.Decode(b)
		} else {
			err = errors.New("text frame")
		}
		if err != nil {
			dc.f.bad.Add(1)
			dc.f.badMsg.CompareAndSwap(nil, err.Error())
			continue
		}
		switch m.Type {
		case devproto.Delta:
			dc.mu.Lock()
			dc.rx = append(dc.rx, rxFrame{at: now, raw: m.Delta})
			dc.mu.Unlock()
			dc.f.deltas.Add(1)
			select {
			case dc.notify <- struct{}{}:
			default:
			}
		case devproto.RenewResponse, devproto.TokenResponse:
			dc.mu.Lock()
			ch := dc.pending[m.ID]
			delete(dc.pending, m.ID)
			dc.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		default:
			dc.f.bad.Add(1)
			dc.f.badMsg.CompareAndSwap(nil, "unexpected frame "+m.Type.String())
		}
	}
}

// mark is the number of deltas received so far (an index into rx).
func (dc *devConn) mark() int {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	return len(dc.rx)
}

// deltaAt returns delta i, if received.
func (dc *devConn) deltaAt(i int) (rxFrame, bool) {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	if i < len(dc.rx) {
		return dc.rx[i], true
	}
	return rxFrame{}, false
}

// release drops the bytes of deltas 0..i (every delta when i < 0).
func (dc *devConn) release(i int) {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	if i < 0 || i >= len(dc.rx) {
		i = len(dc.rx) - 1
	}
	for k := 0; k <= i; k++ {
		dc.rx[k].raw = nil
	}
}

// end reports how the connection ended (zero time while open).
func (dc *devConn) end() (time.Time, error) {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	return dc.endAt, dc.endErr
}

// renew sends a RenewRequest (a fresh request nonce signed with the
// device key) and waits for the response; on success the device holds
// the new chain and expects the next Device version.
func (dc *devConn) renew(ctx context.Context) (time.Time, *devproto.Message, error) {
	nonce := make([]byte, devproto.RequestNonceBytes)
	_, _ = rand.Read(nonce[:devproto.RequestNonceBytes-8])
	binary.BigEndian.PutUint64(nonce[devproto.RequestNonceBytes-8:], uint64(time.Now().UnixMilli()))
	id := dc.nextID.Add(1)
	ch := make(chan *devproto.Message, 1)
	dc.mu.Lock()
	dc.pending[id] = ch
	dc.mu.Unlock()
	defer func() {
		dc.mu.Lock()
		delete(dc.pending, id)
		dc.mu.Unlock()
	}()
	b, err := devproto.Encode(&devproto.Message{Type: devproto.RenewRequest, ID: id, Nonce: nonce,
		Sig: ed25519.Sign(dc.dev.key, devcert.RenewalMessage(dc.f.tenant, dc.dev.id, nonce))})
	if err != nil {
		return time.Time{}, nil, err
	}
	sent := time.Now()
	if err := dc.c.Write(ctx, websocket.MessageBinary, b); err != nil {
		return sent, nil, err
	}
	select {
	case m := <-ch:
		if m.Error != "" {
			return sent, m, fmt.Errorf("renew refused: %s", m.Error)
		}
		return sent, m, nil
	case <-dc.done:
		return sent, nil, errors.New("connection ended during the renewal")
	case <-time.After(10 * time.Second):
		return sent, nil, errors.New("no renew response within 10 s")
	case <-ctx.Done():
		return sent, nil, ctx.Err()
	}
}

// waitDelta waits until delta i has arrived on the connection.
func (dc *devConn) waitDelta(ctx context.Context, i int, limit time.Duration) (rxFrame, error) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		if fr, ok := dc.deltaAt(i); ok {
			return fr, nil
		}
		select {
		case <-dc.notify:
		case <-dc.done:
			if fr, ok := dc.deltaAt(i); ok {
				return fr, nil
			}
			return rxFrame{}, errors.New("connection ended before the delta")
		case <-deadline.C:
			return rxFrame{}, fmt.Errorf("no delta within %s", limit)
		case <-ctx.Done():
			return rxFrame{}, ctx.Err()
		}
	}
}

// closeAll closes every open connection normally (in parallel), waits
// for the readers and ends the fleet.
func (f *devFleet) closeAll() error {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(f.conns) {
					return
				}
				if dc := f.conns[i]; dc != nil {
					_ = dc.c.Close(websocket.StatusNormalClosure, "bench phase done")
					<-dc.done
				}
			}
		})
	}
	wg.Wait()
	f.cancel()
	f.hc.CloseIdleConnections()
	return nil
}

// checkedDelta is a delta checked against what the device expects.
type checkedDelta struct {
	typ     string
	payload devproto.DevicePayload
}

// checkDelta verifies a received delta as a device does (signature with
// the tenant's delta keys, tenant) and decodes its Device payload.
func checkDelta(raw []byte, keys *syncproto.Keyring, tenant string) (checkedDelta, error) {
	env, err := syncproto.VerifyStandalone(raw, keys, tenant)
	if err != nil {
		return checkedDelta{}, err
	}
	out := checkedDelta{typ: env.Type}
	if err := syncproto.DecodeData(env.Data, &out.payload); err != nil {
		return out, fmt.Errorf("payload of %s: %w", env.Type, err)
	}
	return out, nil
}

// checkFrames checks that the frame of every connection is a delta of
// type typ (a prefix of the type) of its own device at version want(i),
// and returns the connections whose delta is fine, with the number and a
// sample of the others.
func checkFrames(frames []rxInfo, devs []*benchDevice, keys *syncproto.Keyring, tenant, typ string, want func(i int) int64) (ok []bool, bad int, sample string) {
	ok = make([]bool, len(frames))
	for i, fr := range frames {
		var err error
		switch {
		case !fr.Got:
			err = errors.New("no delta received")
		default:
			var d checkedDelta
			if d, err = checkDelta(fr.Raw, keys, tenant); err == nil {
				switch {
				case !strings.HasPrefix(d.typ, typ):
					err = fmt.Errorf("got %s, want %s", d.typ, typ)
				case d.payload.ID != devs[i].id:
					err = fmt.Errorf("delta of device %s on the connection of %s", d.payload.ID, devs[i].id)
				case d.payload.Version != want(i):
					err = fmt.Errorf("version %d, want %d", d.payload.Version, want(i))
				}
			}
		}
		if err != nil {
			bad++
			if sample == "" {
				sample = err.Error()
			}
			continue
		}
		ok[i] = true
	}
	return ok, bad, sample
}
