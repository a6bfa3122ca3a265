package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/melmastoon/iam/core"
	"github.com/melmastoon/iam/core/devices"
	"github.com/melmastoon/iam/core/hub"
	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/edge"
	"github.com/melmastoon/iam/edge/replica"
	"github.com/melmastoon/iam/syncproto/devcert"
)

// Device sync scenario (device-sync; alias devices): core in-process with
// its embedded NATS hub and relay, ONE edge in-process (leaf node, SQLite
// replica, the WebSocket sync server on loopback), and device clients in
// this process that speak the protocol directly (scen_devices_client.go).
// The devices are enrolled through core's devices service (nonce +
// proof of possession + certificate from the tenant CA + device.enrolled
// delta), many per transaction; the edge applies them from the stream
// before any device connects. scen_devices_run.go holds the phases.

// DeviceOptions are the flags of the device sync scenario.
type DeviceOptions struct {
	Conns      []int
	Dialers    int
	Renewals   int
	Revoke     bool
	UpToDate   bool
	PerAccount int
	Batch      int
	Clients    string

	connsList string
}

func registerDeviceFlags(fs *flag.FlagSet, o *DeviceOptions) {
	fs.StringVar(&o.connsList, "devices-conns", "", "device-sync: connection counts held by the edge, one phase each (default 1000,10000; -quick 200,1000)")
	fs.IntVar(&o.Dialers, "devices-dialers", 32, "device-sync: connections dialed in parallel")
	fs.IntVar(&o.Renewals, "devices-renewals", 0, "device-sync: renewals over the sync protocol per phase, one at a time (default 20; -quick 5)")
	fs.BoolVar(&o.Revoke, "devices-revoke", true, "device-sync: revoke every device of the last phase in one transaction at its end (revocation fan-out and close)")
	fs.BoolVar(&o.UpToDate, "devices-uptodate", false, "device-sync: connect with cursor = the Device version (no catch-up delta) instead of cursor 0")
	fs.IntVar(&o.PerAccount, "devices-per-account", 10, "device-sync: devices enrolled per account")
	fs.IntVar(&o.Batch, "devices-batch", 500, "device-sync: devices enrolled per core transaction")
	fs.StringVar(&o.Clients, "devices-clients", "auto", "device-sync: where the device clients run: inproc (this process), process (a child process), auto (inproc when RLIMIT_NOFILE allows 2 descriptors per connection, else process)")
}

func (o *DeviceOptions) setDefaults(quick bool) error {
	var err error
	if o.Conns, err = intList(o.connsList, quick, "1000,10000", "200,1000"); err != nil {
		return fmt.Errorf("-devices-conns: %w", err)
	}
	if o.Renewals == 0 {
		o.Renewals = pick(quick, 5, 20)
	}
	for _, n := range o.Conns {
		if n > devMaxConns {
			return fmt.Errorf("-devices-conns: at most %d connections (loopback ports, 2 descriptors each in this process)", devMaxConns)
		}
	}
	switch {
	case o.Dialers < 1 || o.Dialers > 1024:
		return errors.New("-devices-dialers must be in 1..1024")
	case o.Renewals < 0 || o.Renewals > 10_000:
		return errors.New("-devices-renewals must be in 0..10000")
	case o.PerAccount < 1 || o.PerAccount > 1000:
		return errors.New("-devices-per-account must be in 1..1000")
	case o.Batch < 1 || o.Batch > 10_000:
		return errors.New("-devices-batch must be in 1..10000")
	case o.Clients != "auto" && o.Clients != "inproc" && o.Clients != "process":
		return errors.New("-devices-clients must be auto, inproc or process")
	}
	return nil
}

// maxConns is the largest phase.
func (o DeviceOptions) maxConns() int {
	m := 0
	for _, n := range o.Conns {
		m = max(m, n)
	}
	return m
}

const (
	devSlug      = "bench-devices"
	devLeafUser  = "bench-devices-edge"
	devHubUser   = "bench-devices-observer"
	devMaxConns  = 25_000
	devReady     = 3 * time.Minute // the edge applying every enrolled device
	devWait      = 3 * time.Minute // a fan-out reaching every connection
	devHandshake = 30 * time.Second
)

// benchDevice is one enrolled device: what a device holds after
// enrollment (id, key, certificate chain) and the Device version core has.
type benchDevice struct {
	id  string
	key ed25519.PrivateKey

	mu      sync.Mutex
	chain   [][]byte
	version int64
}

func (d *benchDevice) state() ([][]byte, int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.chain, d.version
}

func (d *benchDevice) set(chain [][]byte, version int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if version > d.version {
		d.chain, d.version = chain, version
	}
}

// devKey names one version of one Device entity.
type devKey struct {
	id      string
	version int64
}

// devRig is core (hub + relay), one edge and the enrolled devices.
type devRig struct {
	cf       *CoreFixture
	kek      keys.KeyEncrypter
	edge     *edge.Edge
	edgeStop context.CancelFunc
	edgeDone chan error
	obs      *nats.Conn // observes every delta as the hub receives it
	dir      string
	tenantID string
	syncURL  string
	devs     []*benchDevice

	mu          sync.Mutex
	applied     map[devKey]time.Time // Device version → committed at the edge (OnApplied)
	eventOf     map[devKey]string    // Device version → outbox event id (= Nats-Msg-Id)
	onHub       map[string]time.Time // event id → received by the hub observer
	seenDevices map[string]bool

	setupFacts []Param
}

// startDevRig starts core with an embedded hub and the edge, creates the
// tenant (which creates its CA) and enrolls o.maxConns() devices, and
// returns once the edge has applied all of them.
func startDevRig(ctx context.Context, env *Env, o DeviceOptions) (*devRig, error) {
	step := func(name string, t0 time.Time) {
		d := time.Since(t0).Round(time.Millisecond)
		env.Log.InfoContext(ctx, "devices fixture", "step", name, "took", d)
	}
	pg, err := env.Postgres(ctx)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	dbURL, err := pg.NewDatabase(ctx, "bench_devices")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "iam-bench-devices-*")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	r := &devRig{dir: dir, applied: map[devKey]time.Time{}, eventOf: map[devKey]string{}, onHub: map[string]time.Time{},
		seenDevices: map[string]bool{}}
	ok := false
	defer func() {
		if !ok {
			r.Close()
		}
	}()
	r.setupFacts = append(r.setupFacts, pg.Settings(ctx)...)
	if err := r.startCoreAndEdge(ctx, env, dbURL); err != nil {
		return nil, err
	}
	var tenant struct {
		ID string `json:"id"`
	}
	if err := r.cf.Call(ctx, "POST", "/api/v1/tenants", map[string]string{"slug": devSlug, "name": "Devices"}, http.StatusCreated, &tenant); err != nil {
		return nil, fmt.Errorf("bench: create tenant: %w", err)
	}
	r.mu.Lock()
	r.tenantID = tenant.ID
	r.mu.Unlock()
	step("database, core, hub, edge, tenant", t0)
	r.setupFacts = append(r.setupFacts, Param{"setup: database + core + hub + edge + tenant (REST: creates the tenant CA)", time.Since(t0).Round(time.Millisecond).String()})

	t0 = time.Now()
	n := o.maxConns()
	if err := r.enroll(ctx, n, o.PerAccount, o.Batch); err != nil {
		return nil, err
	}
	step("enroll", t0)
	r.setupFacts = append(r.setupFacts, Param{fmt.Sprintf("setup: enroll %d devices (%d accounts) through core's devices service, %d per transaction, 2 transactions at a time", n, (n+o.PerAccount-1)/o.PerAccount, o.Batch), time.Since(t0).Round(time.Millisecond).String()})
	t0 = time.Now()
	if err := r.waitEdgeDevices(ctx, n); err != nil {
		return nil, err
	}
	step("edge applied", t0)
	r.setupFacts = append(r.setupFacts, Param{"setup: edge applied every device (after the last enrollment commit)", time.Since(t0).Round(time.Millisecond).String()})
	ok = true
	return r, nil
}

func (r *devRig) startCoreAndEdge(ctx context.Context, env *Env, dbURL string) error {
	leafPass, obsPass := randomSecret(), randomSecret()
	raw := make([]byte, keys.KEKSize)
	_, _ = rand.Read(raw)
	kek, err := keys.NewLocalKEK(raw)
	if err != nil {
		return fmt.Errorf("bench: key-encryption key: %w", err)
	}
	r.kek = kek
	quiet := slog.New(slog.DiscardHandler)
	clog, elog := quiet, quiet
	if env.Opts.Verbose {
		clog, elog = env.Log.With("component", "core"), env.Log.With("component", "edge")
	}
	// Production defaults: device certificate validity (7 days), clock
	// skews (5 minutes at core and at the edge).
	cfg := core.Config{DatabaseURL: dbURL, HTTPAddr: "127.0.0.1:0", BootstrapToken: benchToken, KEK: kek, Logger: clog,
		Hub: &hub.Config{DataDir: filepath.Join(r.dir, "hub"), ClientListen: "127.0.0.1:-1", LeafListen: "127.0.0.1:-1",
			LeafUsers:   []hub.LeafCredential{{User: devLeafUser, Password: leafPass}},
			ClientUsers: []hub.LeafCredential{{User: devHubUser, Password: obsPass}}}}
	c, err := core.New(ctx, cfg)
	if err != nil {
		return fmt.Errorf("bench: start core: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cf = &CoreFixture{core: c, cancel: cancel, done: make(chan error, 1), URL: "http://" + c.Addr(),
		Client: &http.Client{Timeout: time.Minute}}
	go func() { r.cf.done <- c.Run(runCtx) }()
	anchor, err := c.SystemAnchor(ctx)
	if err != nil {
		return err
	}
	if err := r.observeHub(c.Hub().ClientURL(), obsPass); err != nil {
		return err
	}
	e, err := edge.New(ctx, edge.Config{Name: "bench-devices", DataDir: filepath.Join(r.dir, "edge"),
		HubLeafURL: c.Hub().LeafURL(), User: devLeafUser, Password: leafPass, TrustAnchor: anchor,
		IssuerBase: c.PublicURL(), HTTPAddr: "127.0.0.1:0", Logger: elog, OnApplied: r.onApplied})
	if err != nil {
		return fmt.Errorf("bench: start edge: %w", err)
	}
	r.edge, r.syncURL = e, "ws://"+e.Addr()+"/api/v1/sync"
	ectx, ecancel := context.WithCancel(context.WithoutCancel(ctx))
	r.edgeStop, r.edgeDone = ecancel, make(chan error, 1)
	go func() { r.edgeDone <- e.Run(ectx) }()
	return nil
}

// observeHub subscribes to every delta on the hub's client listener and
// stamps each of the tenant as the hub receives it from the relay (keyed
// by Nats-Msg-Id, the outbox event id, which is also Applied.ID).
func (r *devRig) observeHub(url, pass string) error {
	var err error
	r.obs, err = nats.Connect(url, nats.UserInfo(devHubUser, pass), nats.Name("bench-devices-observer"))
	if err != nil {
		return fmt.Errorf("bench: hub observer: %w", err)
	}
	sub, err := r.obs.Subscribe(hub.StreamSubjects, func(m *nats.Msg) {
		now := time.Now()
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.tenantID != "" && m.Header.Get("Iam-Tenant") == r.tenantID {
			r.onHub[m.Header.Get(nats.MsgIdHdr)] = now
		}
	})
	if err != nil {
		return fmt.Errorf("bench: hub observer: %w", err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	return r.obs.Flush()
}

// hubAt returns when the hub observer saw version v of device id.
func (r *devRig) hubAt(id string, v int64) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.onHub[r.eventOf[devKey{id, v}]]
	return t, ok
}

// onApplied runs on the edge's consumer goroutine after each commit (and
// after the sync server has queued the delta to the device's connections).
func (r *devRig) onApplied(a replica.Applied) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if a.Tenant != r.tenantID {
		return
	}
	for _, ch := range a.Changes {
		if d, ok := ch.(replica.Device); ok {
			r.applied[devKey{d.ID, d.Version}] = now
			r.eventOf[devKey{d.ID, d.Version}] = a.ID
			r.seenDevices[d.ID] = true
		}
	}
}

// appliedAt returns when the edge committed version v of device id.
func (r *devRig) appliedAt(id string, v int64) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.applied[devKey{id, v}]
	return t, ok
}

// enroll enrolls n devices as a device would, but through core's devices
// service in-process instead of REST (which would add a login and two
// HTTP calls per device): per device a fresh Ed25519 key,
// Service.NewEnrollNonce, a proof of possession over
// devcert.EnrollmentMessage and Service.Enroll (certificate from the
// tenant CA, devices row, audit and device.enrolled outbox row), batch
// devices per transaction (whole accounts), two transactions at a time.
func (r *devRig) enroll(ctx context.Context, n, perAccount, batch int) error {
	svc := r.cf.core.Devices()
	r.devs = make([]*benchDevice, n)
	// Batches start on an account boundary.
	step := max(batch/perAccount, 1) * perAccount
	next := make(chan int)
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for from := range next {
				if err := r.enrollBatch(ctx, svc, from, min(from+step, n), perAccount); err != nil {
					select {
					case errc <- err:
					default:
					}
				}
			}
		})
	}
	for from := 0; from < n; from += step {
		next <- from
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	return nil
}

func (r *devRig) enrollBatch(ctx context.Context, svc *devices.Service, from, to, perAccount int) error {
	actor := store.Actor{ID: "bootstrap", SourceIP: "127.0.0.1"}
	out := make([]*benchDevice, to-from)
	err := r.cf.core.Store().InTenantSlug(ctx, devSlug, func(tx *store.Tx) error {
		var account store.AccountID
		for i := from; i < to; i++ {
			if i == from || i%perAccount == 0 {
				u := fmt.Sprintf("dev%07d", i/perAccount)
				a, err := tx.CreateAccount(ctx, actor, u, u+"@bench.example", "Device Owner")
				if err != nil {
					return err
				}
				account = a.ID
			}
			pub, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return err
			}
			nonce, err := svc.NewEnrollNonce(ctx, tx, account)
			if err != nil {
				return err
			}
			sig := ed25519.Sign(priv, devcert.EnrollmentMessage(r.tenantID, nonce.Nonce, pub))
			e, err := svc.Enroll(ctx, tx, store.Actor{ID: account.String(), SourceIP: "127.0.0.1"}, devices.EnrollRequest{
				Account: account, Name: fmt.Sprintf("bench device %d", i), Platform: "bench",
				PublicKey: pub, Nonce: nonce.Nonce, Signature: sig})
			if err != nil {
				return fmt.Errorf("enroll device %d: %w", i, err)
			}
			out[i-from] = &benchDevice{id: e.Device.ID.String(), key: priv, chain: e.Chain, version: e.Device.Version}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bench: enroll: %w", err)
	}
	copy(r.devs[from:to], out)
	return nil
}

// waitEdgeDevices waits until the edge has applied every enrolled device
// and the tenant CA, and has caught up with the hub's stream head.
func (r *devRig) waitEdgeDevices(ctx context.Context, n int) error {
	deadline := time.Now().Add(devReady)
	for {
		r.mu.Lock()
		seen := len(r.seenDevices)
		r.mu.Unlock()
		if seen >= n {
			_, caErr := r.edge.Replica().TenantCA(ctx, r.tenantID)
			head, err := r.cf.core.Hub().LastSequence(ctx)
			if caErr == nil && err == nil && r.edge.Replica().StreamCursor() >= head {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: the edge applied %d of %d devices within %s", seen, n, devReady)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Close stops the edge and core and removes the data directory.
func (r *devRig) Close() {
	if r.edge != nil {
		r.edgeStop()
		if err := <-r.edgeDone; err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "bench: edge stopped:", err)
		}
		_ = r.edge.Close()
	}
	if r.obs != nil {
		r.obs.Close()
	}
	if r.cf != nil {
		_ = r.cf.Close()
	}
	_ = os.RemoveAll(r.dir)
}

// edgeConnections is the edge's edge_device_connections gauge.
func (r *devRig) edgeConnections() int {
	v, _ := gatherValue(r.edge.Registry(), "edge_device_connections", nil)
	return int(v)
}
