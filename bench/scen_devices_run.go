package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/melmastoon/iam/core/ca"
	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/edge/devsync"
	"github.com/melmastoon/iam/syncproto/devproto"
)

// devFanOutValidity is the validity of the fan-out's certificates: half
// the production validity, inside the renewal window.
const devFanOutValidity = ca.DefaultDeviceValidity / 2

// devStall bounds how long a wait for deltas or closes may go without
// progress before the phase reports what it has.
const devStall = 15 * time.Second

// runDeviceSync runs one phase per connection count (see the README).
func runDeviceSync(ctx context.Context, env *Env, res *Result) error {
	o := env.Opts.Device
	mode, limits, err := devClientMode(o)
	if err != nil {
		return err
	}
	rig, err := startDevRig(ctx, env, o)
	if err != nil {
		return err
	}
	defer rig.Close()
	cursor := "the Device version − 1: every handshake includes a catch-up of exactly one stored delta (the device's newest), read from the replica"
	if o.UpToDate {
		cursor = "the Device version: no catch-up delta after Ready"
	}
	where := "in THIS process (client and edge share the heap, goroutines and descriptors: the memory facts split them by pprof label and allocation stack)"
	if mode == "process" {
		where = "in a CHILD process (this bench binary re-executed, driven over a pipe; one per phase): the bench process holds core, the edge and only the edge's end of each connection, so its heap, goroutines and descriptors per connection are the edge's; the client process's own figures are listed apart"
	}
	res.Params = append(res.Params,
		Param{"topology", "core in-process (store pool 16, embedded NATS hub, outbox relay) → leaf link (loopback) → ONE edge in-process (SQLite replica, device sync server on 127.0.0.1: GET /api/v1/sync, subprotocol " + devproto.Subprotocol + "); device clients, edge, core and PostgreSQL share the 2 cores"},
		Param{"devices", fmt.Sprintf("%d enrolled through core's devices service in-process (Ed25519 key, enrollment nonce, proof of possession, certificate from the tenant CA — production validity %s, edge clock skew %s — device.enrolled delta), %d per account; the edge applied them from the stream before the first phase", len(rig.devs), ca.DefaultDeviceValidity, devsync.DefaultClockSkew, o.PerAccount)},
		Param{"clients", "run " + where + "; " + limits},
		Param{"client", fmt.Sprintf("minimal protocol client per connection (coder/websocket + devproto + devcert, no SQLite, one reader goroutine); %d dialers in parallel, each: dial (TCP + HTTP upgrade) → Hello → Auth (chain, signature over devcert.HandshakeMessage) → Ready; cursor = %s. Received deltas are stamped as Read returns and verified afterwards (syncproto.VerifyStandalone with the tenant's delta keys, type, device, version), off the clock", o.Dialers, cursor)},
		Param{"phases", fmt.Sprintf("for N in %v: connect N devices (devices 0..N−1), memory after GC, ONE core transaction renewing all N devices (fan-out), %d renewals over the sync protocol one at a time, then %s", o.Conns, o.Renewals, revokeText(o))},
		Param{"fan-out", fmt.Sprintf("one transaction at core renews every connected device, as core's renewal does it per device (a new certificate from the tenant CA, Tx.RenewDevice: devices row, audit row, device.renewed outbox row), with certificates of HALF the production validity (%s), which puts every device in its renewal window for the protocol renewals that follow (core answers too_early while more than two thirds of the validity is left); commit = time.Now() after the transaction returns; each connection then receives ITS device's delta: per connection commit → delta received, and the time until the last connection has it. Split with the edge's OnApplied hook (runs after the SQLite commit and after the sync server queued the delta to the connection)", devFanOutValidity)},
		Param{"renewal", "RenewRequest on the device's connection (fresh request nonce signed with the device key) → edge → NATS iam.device.renew → core (signature, nonce, certificate, commit) → RenewResponse; then the device.renewed delta through relay, hub, replica and sync server to the same connection; one at a time, on distinct devices"},
	)
	res.Facts = append(res.Facts, rig.setupFacts...)
	prevRate := runtime.MemProfileRate
	runtime.MemProfileRate = devMemProfileRate
	defer func() { runtime.MemProfileRate = prevRate }()
	stop := startProfile(env, res) // -cpuprofile: the phases, not the setup
	defer stop()
	for i, n := range o.Conns {
		if err := devPhase(ctx, env, res, rig, mode, n, o.Revoke && i == len(o.Conns)-1); err != nil {
			return err
		}
	}
	res.Notes = append(res.Notes, devNotes(mode)...)
	return nil
}

// devClientMode decides where the clients run and raises RLIMIT_NOFILE
// for it; it describes the limits.
func devClientMode(o DeviceOptions) (mode, limits string, err error) {
	inproc := uint64(2*o.maxConns() + 4096)
	child := uint64(o.maxConns() + 4096)
	mode = o.Clients
	var before, after syscall.Rlimit
	switch mode {
	case "inproc":
		before, after, err = raiseFDLimit(inproc)
	case "process":
		before, after, err = raiseFDLimit(child)
	default:
		if before, after, err = raiseFDLimit(inproc); err == nil {
			mode = "inproc"
		} else {
			mode = "process"
			_, after, err = raiseFDLimit(child)
		}
	}
	limits = fmt.Sprintf("RLIMIT_NOFILE soft/hard %d/%d at start → %d/%d (-devices-clients %s: %d descriptors wanted for %d connections in one process, %d with a client process)",
		before.Cur, before.Max, after.Cur, after.Max, o.Clients, inproc, o.maxConns(), child)
	return mode, limits, err
}

// newClientFleet starts the clients of devs.
func newClientFleet(mode string, rig *devRig, devs []*benchDevice, upToDate bool) (clientFleet, error) {
	if mode == "process" {
		return startRemoteFleet(rig.syncURL, rig.tenantID, devs, upToDate)
	}
	return newDevFleet(rig.syncURL, rig.tenantID, devs, upToDate), nil
}

func revokeText(o DeviceOptions) string {
	if o.Revoke {
		return "the connections closed normally — except in the last phase, where ONE core transaction revokes all N devices (devices service Revoke: device.revoked delta) and the edge pushes the delta and closes each connection with 4006"
	}
	return "the connections closed normally"
}

// devPhase connects n devices and measures everything the phase measures.
func devPhase(ctx context.Context, env *Env, res *Result, rig *devRig, mode string, n int, revoke bool) error {
	o := env.Opts.Device
	tag := fmt.Sprintf("×%d", n)
	if err := waitEdgeConns(ctx, rig, 0); err != nil {
		return err
	}
	rotations, err := rig.edge.Replica().KeyRotations(ctx, rig.tenantID)
	if err != nil {
		return err
	}
	keys := rig.edge.Replica().Keyring(rig.tenantID)
	devs := rig.devs[:n]
	f, err := newClientFleet(mode, rig, devs, o.UpToDate)
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			_ = f.closeAll()
		}
	}()
	m0 := sampleProcMem()
	c0, err := f.clientMem()
	if err != nil {
		return err
	}
	refusals0 := handshakeRefusals(rig)
	cpu0, gc0, cc0 := takeCPU(), takeGC(), childCPU(f)
	env.Log.InfoContext(ctx, "devices: connecting", "n", n)
	ds, err := f.dial(ctx, o.Dialers)
	cpu1, gc1, cc1 := takeCPU(), takeGC(), childCPU(f)
	hs := ds.recorder()
	res.Measurements = append(res.Measurements, Measurement{Name: "handshake " + tag + ": dial → Ready", Summary: hs.Summary()})
	if err != nil {
		return err
	}
	s := hs.Summary()
	failed := ""
	if ds.FirstFail != "" {
		failed = " (first: " + ds.FirstFail + ")"
	}
	res.Facts = append(res.Facts,
		Param{"connect " + tag, fmt.Sprintf("%d connections in %s: %.0f handshakes/s with %d dialers; %d dials, %d failed attempts%s; edge refusals %s; edge_device_connections = %d",
			n, s.Elapsed.Round(time.Millisecond), s.Throughput, o.Dialers, ds.Dials, ds.Failed, failed, refusalText(refusals0, handshakeRefusals(rig)), rig.edgeConnections())},
		cpuFactClients("connect "+tag+" CPU", cpu0, cpu1, cc0, cc1, f), gcFact("connect "+tag+" GC (bench process)", gc0, gc1))

	// Catch-up: the key rotations, then the device's newest delta.
	perConn := len(rotations)
	if !o.UpToDate {
		perConn++
	}
	if err := f.waitDeltas(int64(n * perConn)); err != nil {
		return fmt.Errorf("bench: catch-up %s: %w", tag, err)
	}
	marks := make([]int, n)
	for i := range marks {
		marks[i] = len(rotations)
	}
	frames, err := f.frames(marks)
	if err != nil {
		return err
	}
	if !o.UpToDate {
		caught := NewRecorder()
		ok, bad, sample := checkFrames(frames, devs, keys, rig.tenantID, "melmastoon.iam.device.", func(i int) int64 { _, v := devs[i].state(); return v })
		for i, fr := range frames {
			if ok[i] {
				caught.Record(fr.At.Sub(fr.Start), nil)
			}
		}
		if bad > 0 {
			caught.Record(0, fmt.Errorf("%d catch-up deltas wrong or missing, e.g. %s", bad, sample))
		}
		res.Measurements = append(res.Measurements, Measurement{Name: "catch-up " + tag + ": dial → newest delta", Summary: caught.Summary()})
	}
	frames = nil
	m1 := sampleProcMem()
	c1, err := f.clientMem()
	if err != nil {
		return err
	}
	res.Facts = append(res.Facts, memPhaseFacts(tag, n, mode, m0, m1, c0, c1)...)

	if err := devFanOut(ctx, res, rig, f, devs, tag); err != nil {
		return err
	}
	if err := devRenewals(ctx, res, rig, f, devs, o.Renewals, tag); err != nil {
		return err
	}
	if bad, msg, err := f.badFrames(); err == nil && bad > 0 {
		res.Facts = append(res.Facts, Param{"bad frames " + tag, fmt.Sprintf("%d (first: %s)", bad, msg)})
	}
	if revoke {
		err := devRevoke(ctx, res, rig, f, devs, tag)
		closed = true
		if cerr := f.closeAll(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		return waitEdgeConns(ctx, rig, 0)
	}
	closed = true
	if err := f.closeAll(); err != nil {
		return err
	}
	return waitEdgeConns(ctx, rig, 0)
}

// childCPU is the client process's CPU time so far (0 in-process).
func childCPU(f clientFleet) time.Duration {
	if pid := f.pid(); pid != 0 {
		return procCPU(pid)
	}
	return 0
}

// cpuFactClients is cpuFact plus the client process's cores.
func cpuFactClients(label string, a, b cpuSnap, c0, c1 time.Duration, f clientFleet) Param {
	p := cpuFact(label, a, b)
	if f.pid() != 0 {
		if wall := b.at.Sub(a.at).Seconds(); wall > 0 {
			p.Value += fmt.Sprintf("; of the others, the device client process %.2f cores", (c1-c0).Seconds()/wall)
		}
	}
	return p
}

// handshakeRefusals reads edge_device_handshakes_total by result.
func handshakeRefusals(rig *devRig) map[string]float64 {
	out := map[string]float64{}
	mfs, err := rig.edge.Registry().Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		if mf.GetName() != "edge_device_handshakes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" {
					out[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

func refusalText(a, b map[string]float64) string {
	var parts []string
	for k, v := range b {
		if k != "ok" && v > a[k] {
			parts = append(parts, fmt.Sprintf("%s %.0f", k, v-a[k]))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("none (%.0f ok)", b["ok"]-a["ok"])
	}
	return strings.Join(parts, ", ")
}

// waitEdgeConns waits until the edge holds want authenticated connections.
func waitEdgeConns(ctx context.Context, rig *devRig, want int) error {
	deadline := time.Now().Add(30 * time.Second)
	for rig.edgeConnections() != want {
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: the edge holds %d device connections, want %d", rig.edgeConnections(), want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// waitProgress polls get until it reaches want; it gives up after devWait,
// or after devStall without progress.
func waitProgress(ctx context.Context, get func() int64, want int64) error {
	deadline := time.Now().Add(devWait)
	last, lastAt := get(), time.Now()
	for {
		v := get()
		if v >= want {
			return nil
		}
		now := time.Now()
		if v != last {
			last, lastAt = v, now
		}
		if now.After(deadline) || now.Sub(lastAt) > devStall {
			return fmt.Errorf("reached %d of %d (no progress for %s)", v, want, now.Sub(lastAt).Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// memPhaseFacts reports the memory before and after the connections,
// per connection: the bench process (edge, and the clients in-process),
// and the client process when there is one.
func memPhaseFacts(tag string, n int, mode string, a, b procMem, ca, cb *procMem) []Param {
	per := func(x, y float64) string { return kib((y - x) / float64(n)) }
	gPer := func(x, y int) string { return fmt.Sprintf("%.2f", float64(y-x)/float64(n)) }
	who, gor := "edge + clients", fmt.Sprintf("%d → %d: %s per connection, of which edge %s, client %s (pprof label %q)",
		a.Goroutines, b.Goroutines, gPer(a.Goroutines, b.Goroutines), gPer(a.Goroutines-a.ClientGoroutines, b.Goroutines-b.ClientGoroutines),
		gPer(a.ClientGoroutines, b.ClientGoroutines), devClientLabel)
	if mode == "process" {
		who, gor = "edge", fmt.Sprintf("%d → %d: %s per connection", a.Goroutines, b.Goroutines, gPer(a.Goroutines, b.Goroutines))
	}
	pre := "memory " + tag + ", bench process (" + who + "): "
	out := []Param{
		{pre + "Go heap after GC (HeapAlloc)", perConn(a.HeapAlloc, b.HeapAlloc, n)},
		{pre + "HeapInuse after GC", perConn(a.HeapInuse, b.HeapInuse, n)},
		{pre + "live heap by allocating side (heap profile)", fmt.Sprintf("edge %s, client %s, other %s per connection (edge: devsync, net/http server conn, websocket.Accept; client: this bench's client, net/http transport; other: core, hub, relay, replica, runtime)",
			per(a.Heap.Edge, b.Heap.Edge), per(a.Heap.Client, b.Heap.Client), per(a.Heap.Other, b.Heap.Other))},
		{pre + "goroutine stacks (StackInuse)", perConn(a.StackInuse, b.StackInuse, n)},
		{pre + "goroutines", gor},
		{pre + "RSS (after GC; includes memory not yet returned to the OS)", perConn(a.RSS, b.RSS, n)},
		{pre + "open file descriptors", fmt.Sprintf("%d → %d (%s per connection)", a.FDs, b.FDs, gPer(a.FDs, b.FDs))},
	}
	if ca != nil && cb != nil {
		pre := "memory " + tag + ", device client process: "
		out = append(out,
			Param{pre + "HeapAlloc / HeapInuse / StackInuse after GC", fmt.Sprintf("%s / %s / %s per connection",
				per(float64(ca.HeapAlloc), float64(cb.HeapAlloc)), per(float64(ca.HeapInuse), float64(cb.HeapInuse)), per(float64(ca.StackInuse), float64(cb.StackInuse)))},
			Param{pre + "goroutines, descriptors, RSS", fmt.Sprintf("%s goroutines, %s descriptors per connection; RSS %s", gPer(ca.Goroutines, cb.Goroutines), gPer(ca.FDs, cb.FDs), perConn(ca.RSS, cb.RSS, n))},
		)
	}
	return out
}

// devRenewals renews count devices one at a time over the sync protocol:
// RenewRequest on the device's connection → the edge forwards it to core
// over NATS (iam.device.renew) → core issues the certificate and commits
// the renewal → RenewResponse; the device.renewed delta then comes back
// through the relay, the hub and the edge's replica to the connection.
func devRenewals(ctx context.Context, res *Result, rig *devRig, f clientFleet, devs []*benchDevice, count int, tag string) error {
	if count == 0 {
		return nil
	}
	n := len(devs)
	keys := rig.edge.Replica().Keyring(rig.tenantID)
	resp, delta, toEdge, fromEdge := NewRecorder(), NewRecorder(), NewRecorder(), NewRecorder()
	used := map[int]bool{}
	for k := range count {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		i := int(mix64(uint64(k)<<20|uint64(n)) % uint64(n))
		for used[i] && len(used) < n {
			i = (i + 1) % n
		}
		used[i] = true
		dev := devs[i]
		_, v := dev.state()
		rr, err := f.renew(i)
		if err != nil {
			return err
		}
		if rr.Err != "" {
			resp.Record(0, errors.New(rr.Err))
			continue
		}
		resp.Record(rr.RespAt.Sub(rr.Sent), nil)
		err = nil
		if rr.DeltaErr != "" {
			err = errors.New(rr.DeltaErr)
		} else {
			var d checkedDelta
			if d, err = checkDelta(rr.Raw, keys, rig.tenantID); err == nil && (d.typ != devproto.DeviceRenewedType || d.payload.Version != v+1 || d.payload.ID != dev.id) {
				err = fmt.Errorf("got %s of %s version %d, want %s version %d", d.typ, d.payload.ID, d.payload.Version, devproto.DeviceRenewedType, v+1)
			}
		}
		delta.Record(rr.DeltaAt.Sub(rr.Sent), err)
		if err != nil {
			continue
		}
		dev.set(rr.Chain, v+1)
		if at, ok := rig.appliedAt(dev.id, v+1); ok {
			toEdge.Record(max(0, at.Sub(rr.Sent)), nil)
			fromEdge.Record(max(0, rr.DeltaAt.Sub(at)), nil)
		}
	}
	res.Measurements = append(res.Measurements,
		Measurement{Name: "renew " + tag + ": request → response", Summary: resp.Summary()},
		Measurement{Name: "renew " + tag + ": request → delta at the device", Summary: delta.Summary()},
		Measurement{Name: "renew " + tag + ": request → applied at the edge", Summary: toEdge.Summary()},
		Measurement{Name: "renew " + tag + ": applied → delta at the device", Summary: fromEdge.Summary()},
	)
	return nil
}

// devFanOut renews all devices in one core transaction and measures the
// delivery of each device's delta to its connection.
func devFanOut(ctx context.Context, res *Result, rig *devRig, f clientFleet, devs []*benchDevice, tag string) error {
	n := len(devs)
	keys := rig.edge.Replica().Keyring(rig.tenantID)
	marks, err := f.marks()
	if err != nil {
		return err
	}
	base, err := f.deltaCount()
	if err != nil {
		return err
	}
	sent0, _ := gatherValue(rig.edge.Registry(), "edge_device_frames_sent_total", nil)
	drops0 := disconnectsByReason(rig)
	cpu0, gc0, cc0 := takeCPU(), takeGC(), childCPU(f)
	t0 := time.Now()
	vers, chains, err := rig.renewAll(ctx, devs)
	commit := time.Now()
	if err != nil {
		return err
	}
	waitErr := f.waitDeltas(base + int64(n))
	cpu1, gc1, cc1 := takeCPU(), takeGC(), childCPU(f)
	frames, err := f.frames(marks)
	if err != nil {
		return err
	}
	// Read after the frames: the edge counts a frame once its Write returns,
	// which can be after the client has read it.
	sent1, _ := gatherValue(rig.edge.Registry(), "edge_device_frames_sent_total", nil)
	ok, bad, sample := checkFrames(frames, devs, keys, rig.tenantID, devproto.DeviceRenewedType, func(i int) int64 { return vers[i] })
	total, toHub, hubToEdge, fromEdge := NewRecorder(), NewRecorder(), NewRecorder(), NewRecorder()
	var first, last, lastHub time.Time
	early := 0
	for i, fr := range frames {
		if !ok[i] {
			continue
		}
		total.Record(fr.At.Sub(commit), nil)
		if first.IsZero() || fr.At.Before(first) {
			first = fr.At
		}
		last = maxTime(last, fr.At)
		at, okA := rig.appliedAt(devs[i].id, vers[i])
		if okA {
			if fr.At.Before(at) {
				early++
			}
			fromEdge.Record(max(0, fr.At.Sub(at)), nil)
		}
		if h, okH := rig.hubAt(devs[i].id, vers[i]); okH {
			toHub.Record(max(0, h.Sub(commit)), nil)
			lastHub = maxTime(lastHub, h)
			if okA {
				hubToEdge.Record(max(0, at.Sub(h)), nil)
			}
		}
		devs[i].set(chains[i], vers[i])
	}
	curve := drainCurve(rig, devs, vers, commit)
	if bad > 0 {
		total.Record(0, fmt.Errorf("%d connections without their renewed delta, e.g. %s", bad, sample))
	}
	total.Start(commit)
	total.Stop(last)
	res.Measurements = append(res.Measurements,
		Measurement{Name: "fan-out " + tag + ": commit → delta at the device", Summary: total.Summary()},
		Measurement{Name: "fan-out " + tag + ": (1) commit → on the hub (relay)", Summary: toHub.Summary()},
		Measurement{Name: "fan-out " + tag + ": (2) on the hub → applied at the edge", Summary: hubToEdge.Summary()},
		Measurement{Name: "fan-out " + tag + ": (3) applied → delta at the device", Summary: fromEdge.Summary()},
	)
	v := fmt.Sprintf("transaction %s (%d renewals); after the commit: first device %s, last device %s → %.0f deliveries/s; the relay put the last delta on the hub %s after the commit (%.0f deltas/s); %d of %d connections got their delta; edge frames sent %.0f; disconnects during the fan-out: %s",
		commit.Sub(t0).Round(time.Millisecond), n, fmtDur(first.Sub(commit)), fmtDur(last.Sub(commit)),
		float64(n-bad)/last.Sub(commit).Seconds(), fmtDur(lastHub.Sub(commit)), float64(n)/lastHub.Sub(commit).Seconds(),
		n-bad, n, sent1-sent0, dropText(drops0, disconnectsByReason(rig)))
	if early > 0 {
		v += fmt.Sprintf("; %d received before the OnApplied stamp (counted as 0 in applied → device)", early)
	}
	if waitErr != nil {
		v += "; WAIT: " + waitErr.Error()
	}
	res.Facts = append(res.Facts, Param{"fan-out " + tag, v}, Param{"fan-out " + tag + ": relay drain (the k-th delta on the hub, after the commit)", curve},
		cpuFactClients("fan-out "+tag+" CPU (transaction included)", cpu0, cpu1, cc0, cc1, f), gcFact("fan-out "+tag+" GC (bench process)", gc0, gc1))
	return nil
}

// drainCurve says when the hub observer saw the k-th of the fan-out's
// deltas, at every tenth: how the relay's rate evolves while it drains
// the backlog.
func drainCurve(rig *devRig, devs []*benchDevice, vers []int64, commit time.Time) string {
	var hs []time.Time
	for i, d := range devs {
		if h, ok := rig.hubAt(d.id, vers[i]); ok {
			hs = append(hs, h)
		}
	}
	if len(hs) < 10 {
		return "-"
	}
	slices.SortFunc(hs, func(a, b time.Time) int { return a.Compare(b) })
	var parts []string
	prev := commit
	for k := 1; k <= 10; k++ {
		i := len(hs)*k/10 - 1
		step := hs[i].Sub(prev)
		parts = append(parts, fmt.Sprintf("%d: %s (+%s)", i+1, fmtDur(hs[i].Sub(commit)), fmtDur(step)))
		prev = hs[i]
	}
	return strings.Join(parts, ", ")
}

// disconnectsByReason reads edge_device_disconnects_total by reason.
func disconnectsByReason(rig *devRig) map[string]float64 {
	out := map[string]float64{}
	mfs, err := rig.edge.Registry().Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		if mf.GetName() != "edge_device_disconnects_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" {
					out[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

func dropText(a, b map[string]float64) string {
	var parts []string
	for k, v := range b {
		if v > a[k] {
			parts = append(parts, fmt.Sprintf("%s %.0f", k, v-a[k]))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// renewAll renews devs in ONE transaction as core's renewal does per
// device: a certificate from the tenant's newest active CA generation
// (devFanOutValidity) and Tx.RenewDevice (devices row, audit,
// device.renewed outbox row). It returns the new versions and chains.
func (r *devRig) renewAll(ctx context.Context, devs []*benchDevice) ([]int64, [][][]byte, error) {
	vers := make([]int64, len(devs))
	chains := make([][][]byte, len(devs))
	err := r.cf.core.Store().InTenantSlug(ctx, devSlug, func(tx *store.Tx) error {
		issuer, err := r.openIssuer(ctx, tx)
		if err != nil {
			return err
		}
		for i, d := range devs {
			id, err := store.ParseDeviceID(d.id)
			if err != nil {
				return err
			}
			pub, _ := d.key.Public().(ed25519.PublicKey)
			der, serial, notAfter, err := issuer.IssueDevice(ca.DeviceCertRequest{DeviceID: d.id, PublicKey: pub, Validity: devFanOutValidity})
			if err != nil {
				return err
			}
			dev, err := tx.RenewDevice(ctx, store.Actor{ID: "device:" + d.id}, id, serial, notAfter)
			if err != nil {
				return err
			}
			vers[i], chains[i] = dev.Version, [][]byte{der, issuer.Issuing().Raw}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("bench: renew all: %w", err)
	}
	return vers, chains, nil
}

// openIssuer opens the tenant's newest active CA generation with core's KEK.
func (r *devRig) openIssuer(ctx context.Context, tx *store.Tx) (*ca.CA, error) {
	cas, err := tx.TenantCAs(ctx)
	if err != nil {
		return nil, err
	}
	for i := len(cas) - 1; i >= 0; i-- {
		c := cas[i]
		if c.State != store.CAActive {
			continue
		}
		return ca.OpenCA(ctx, ca.CAConfig{TenantID: r.tenantID, Encrypter: r.kek}, ca.Sealed{
			RootCert: c.RootCert, RootKey: ca.SealedKey{KEKID: c.RootKEKID, Ciphertext: c.RootKeySealed},
			IssuingCert: c.IssuingCert, IssuingKey: ca.SealedKey{KEKID: c.KEKID, Ciphertext: c.IssuingKeySealed}})
	}
	return nil, errors.New("bench: the tenant has no active CA")
}

// devRevoke revokes all devices in one transaction (core's devices
// service Revoke) and measures the revoked delta and the close (4006) at
// each connection.
func devRevoke(ctx context.Context, res *Result, rig *devRig, f clientFleet, devs []*benchDevice, tag string) error {
	n := len(devs)
	keys := rig.edge.Replica().Keyring(rig.tenantID)
	marks, err := f.marks()
	if err != nil {
		return err
	}
	base, err := f.deltaCount()
	if err != nil {
		return err
	}
	cpu0, cc0 := takeCPU(), childCPU(f)
	t0 := time.Now()
	vers := make([]int64, n)
	svc := rig.cf.core.Devices()
	err = rig.cf.core.Store().InTenantSlug(ctx, devSlug, func(tx *store.Tx) error {
		for i, d := range devs {
			id, err := store.ParseDeviceID(d.id)
			if err != nil {
				return err
			}
			dev, err := svc.Revoke(ctx, tx, store.Actor{ID: "bootstrap", SourceIP: "127.0.0.1"}, id)
			if err != nil {
				return err
			}
			vers[i] = dev.Version
		}
		return nil
	})
	commit := time.Now()
	if err != nil {
		return fmt.Errorf("bench: revoke all: %w", err)
	}
	waitErr := errors.Join(f.waitDeltas(base+int64(n)), f.waitEnded(int64(n)))
	cpu1, cc1 := takeCPU(), childCPU(f)
	frames, err := f.frames(marks)
	if err != nil {
		return err
	}
	ends, err := f.ends()
	if err != nil {
		return err
	}
	ok, bad, sample := checkFrames(frames, devs, keys, rig.tenantID, devproto.DeviceRevokedType, func(i int) int64 { return vers[i] })
	toDelta, toClose, appliedToClose := NewRecorder(), NewRecorder(), NewRecorder()
	codes := map[int]int{}
	var last time.Time
	for i, fr := range frames {
		if ok[i] {
			toDelta.Record(fr.At.Sub(commit), nil)
		}
		e := ends[i]
		if e.At.IsZero() {
			toClose.Record(0, errors.New("connection still open"))
			continue
		}
		codes[e.Code]++
		if e.Code != int(devproto.CloseRevoked) {
			toClose.Record(0, fmt.Errorf("closed with %d, want %d", e.Code, devproto.CloseRevoked))
			continue
		}
		toClose.Record(e.At.Sub(commit), nil)
		last = maxTime(last, e.At)
		if at, okA := rig.appliedAt(devs[i].id, vers[i]); okA {
			appliedToClose.Record(max(0, e.At.Sub(at)), nil)
		}
	}
	if bad > 0 {
		toDelta.Record(0, fmt.Errorf("%d connections without their revoked delta, e.g. %s", bad, sample))
	}
	res.Measurements = append(res.Measurements,
		Measurement{Name: "revoke " + tag + ": commit → revoked delta at the device", Summary: toDelta.Summary()},
		Measurement{Name: "revoke " + tag + ": commit → close 4006 at the device", Summary: toClose.Summary()},
		Measurement{Name: "revoke " + tag + ": applied at the edge → close 4006", Summary: appliedToClose.Summary(),
			Goals: []Goal{{On: "p99", Limit: devsync.RevokeCloseDelay}}},
	)
	v := fmt.Sprintf("transaction %s (%d revocations); last connection closed %s after the commit; close codes %v",
		commit.Sub(t0).Round(time.Millisecond), n, fmtDur(last.Sub(commit)), codes)
	if waitErr != nil {
		v += "; WAIT: " + waitErr.Error()
	}
	res.Facts = append(res.Facts, Param{"revoke " + tag, v}, cpuFactClients("revoke "+tag+" CPU (transaction included)", cpu0, cpu1, cc0, cc1, f))
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func devNotes(mode string) []string {
	notes := []string{
		"Goal column: docs/devices.md, 'a revocation closes the device's connections within about a second' (devsync.RevokeCloseDelay), from the edge applying the revocation.",
		"Fan-out: commit → delta at the device = (1) the relay draining the transaction's outbox rows (passes of up to 256 rows, each delta signed and published to JetStream with its acknowledgement awaited before the next; see the drain curve) + (2) JetStream → leaf link → the edge's fetch, verify and SQLite commit + (3) the sync server's per-connection queue and WebSocket write, and the client's read. (3) is what the edge's fan-out to the sockets costs; the time until the last device is set by the slower of (1) and (2), i.e. by the delta pipeline's throughput (deltas/s), not by the number of connections.",
		"Handshakes: per connection the edge parses and verifies the chain (x509, Ed25519 signatures of the leaf and of the issuing certificate), the proof of possession (Ed25519), reads the tenant CA, the Device (twice), the key rotations and (cursor one behind) the newest delta from SQLite, and starts four goroutines; the client dials a fresh TCP connection, upgrades and signs once. With the dialers in parallel the two cores are busy (CPU facts): handshakes/s is what client and edge together get from this machine, not the edge alone.",
		fmt.Sprintf("Memory: 'after GC' figures are runtime.MemStats after two forced GCs; per connection = (after − before) / N. The heap profile is sampled at %d KiB during the scenario (runtime.MemProfileRate), which costs a few per cent of CPU.", devMemProfileRate>>10),
	}
	if mode == "process" {
		notes = append(notes, "The device clients ran in a child process, so the bench process's memory, goroutines and descriptors per connection are the edge's side (plus core, whose share does not grow with connections); -cpuprofile profiles the bench process (core and edge) only.")
	} else {
		notes = append(notes, "The device clients ran in this process: the heap split by allocation stack and the goroutine split by pprof label separate them from the edge; -cpuprofile profiles clients, core and edge together.")
	}
	return notes
}
