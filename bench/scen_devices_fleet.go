package main

import (
	"context"
	"crypto/ed25519"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// The device clients of a phase run either in this process (devFleet
// itself) or in a child process: this bench binary re-executed with
// devClientEnv set, driven over its stdin and stdout with gob (one request,
// one answer). A child process is the only way to hold 10,000 connections
// when RLIMIT_NOFILE cannot go past 2 descriptors per connection (both
// ends in one process), and it leaves the bench process with the edge's
// side only: its heap, goroutines and descriptors are the edge's. The
// child stamps times with its own clock; both read the same system wall
// clock, and times cross the pipe as wall-clock times (gob drops the
// monotonic reading), so differences across the two processes are exact
// to the clock's resolution, not to NTP.

// clientFleet is what a phase does with its device clients.
type clientFleet interface {
	// dial connects every device with dialers in parallel.
	dial(ctx context.Context, dialers int) (dialStats, error)
	// deltaCount is the number of Delta frames received so far.
	deltaCount() (int64, error)
	// waitDeltas and waitEnded wait until the number of Delta frames, or
	// of connections that ended, reaches want (waitProgress).
	waitDeltas(want int64) error
	waitEnded(want int64) error
	// marks returns each connection's number of received deltas.
	marks() ([]int, error)
	// frames returns delta marks[i] of each connection and frees the
	// bytes of that delta and of the ones before it.
	frames(marks []int) ([]rxInfo, error)
	// renew renews device i over its connection and waits for its delta.
	renew(i int) (renewResult, error)
	// ends reports how each connection ended.
	ends() ([]endInfo, error)
	// badFrames counts frames that did not decode or were unexpected.
	badFrames() (int64, string, error)
	// clientMem samples the client process (nil: the clients run in
	// this process).
	clientMem() (*procMem, error)
	// closeAll closes the open connections normally and ends the fleet.
	closeAll() error
	// pid is the client process (0: this one).
	pid() int
}

// dialStats is the outcome of dial.
type dialStats struct {
	Lat         []time.Duration // dial → Ready of each connection
	Errors      int
	ErrSample   []string
	Start, Stop time.Time
	Dials       int64
	Failed      int64
	FirstFail   string
}

// recorder turns the stats into a Recorder (throughput over the dial window).
func (d dialStats) recorder() *Recorder {
	rec := NewRecorder()
	rec.Start(d.Start)
	rec.Stop(d.Stop)
	for _, l := range d.Lat {
		rec.Record(l, nil)
	}
	for i := range d.Errors {
		msg := "connection failed"
		if i < len(d.ErrSample) {
			msg = d.ErrSample[i]
		}
		rec.Record(0, errors.New(msg))
	}
	return rec
}

// rxInfo is one connection's delta at a mark.
type rxInfo struct {
	Start time.Time // the connection's dial start
	At    time.Time // received
	Raw   []byte
	Got   bool
}

// renewResult is one renewal over the protocol.
type renewResult struct {
	Sent, RespAt time.Time
	Chain        [][]byte
	Err          string
	DeltaAt      time.Time
	Raw          []byte
	DeltaErr     string
}

// endInfo is how a connection ended.
type endInfo struct {
	At   time.Time // zero while open
	Code int       // close code, -1 without one
}

// ---------------------------------------------------------------- in-process

func (f *devFleet) dial(ctx context.Context, dialers int) (dialStats, error) {
	rec := NewRecorder()
	err := f.dialAll(ctx, dialers, rec)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	d := dialStats{Lat: append([]time.Duration(nil), rec.samples...), Errors: rec.errors, ErrSample: rec.errSample,
		Start: rec.start, Stop: rec.stop, Dials: f.dials.Load(), Failed: f.failed.Load()}
	d.FirstFail, _ = f.fail1.Load().(string)
	return d, err
}

func (f *devFleet) deltaCount() (int64, error) { return f.deltas.Load(), nil }

func (f *devFleet) waitDeltas(want int64) error {
	return waitProgress(context.Background(), f.deltas.Load, want)
}

func (f *devFleet) waitEnded(want int64) error {
	return waitProgress(context.Background(), f.ended.Load, want)
}

func (f *devFleet) marks() ([]int, error) {
	out := make([]int, len(f.conns))
	for i, dc := range f.conns {
		if dc != nil {
			out[i] = dc.mark()
		}
	}
	return out, nil
}

func (f *devFleet) frames(marks []int) ([]rxInfo, error) {
	out := make([]rxInfo, len(f.conns))
	for i, dc := range f.conns {
		if dc == nil || i >= len(marks) {
			continue
		}
		fr, ok := dc.deltaAt(marks[i])
		out[i] = rxInfo{Start: dc.start, At: fr.at, Raw: fr.raw, Got: ok && fr.raw != nil}
		dc.release(marks[i])
	}
	return out, nil
}

func (f *devFleet) renew(i int) (renewResult, error) {
	if i < 0 || i >= len(f.conns) || f.conns[i] == nil {
		return renewResult{}, fmt.Errorf("bench: no connection %d", i)
	}
	ctx := context.Background()
	dc := f.conns[i]
	mark := dc.mark()
	sent, m, err := dc.renew(ctx)
	res := renewResult{Sent: sent, RespAt: time.Now()}
	if err != nil {
		res.Err = err.Error()
		return res, nil
	}
	res.Chain = m.Chain
	fr, err := dc.waitDelta(ctx, mark, 10*time.Second)
	if err != nil {
		res.DeltaErr = err.Error()
	}
	res.DeltaAt, res.Raw = fr.at, fr.raw
	dc.release(mark)
	return res, nil
}

func (f *devFleet) ends() ([]endInfo, error) {
	out := make([]endInfo, len(f.conns))
	for i, dc := range f.conns {
		if dc == nil {
			continue
		}
		at, err := dc.end()
		out[i] = endInfo{At: at, Code: int(websocket.CloseStatus(err))}
	}
	return out, nil
}

func (f *devFleet) badFrames() (int64, string, error) {
	msg, _ := f.badMsg.Load().(string)
	return f.bad.Load(), msg, nil
}

func (f *devFleet) clientMem() (*procMem, error) { return nil, nil }

func (f *devFleet) pid() int { return 0 }

// ---------------------------------------------------------------- child process

// devClientEnv, set in the environment, makes this binary a device client
// process (runDeviceClientProcess) instead of the bench.
const devClientEnv = "IAM_BENCH_DEVICE_CLIENT"

// devInit is what a client process needs: the edge, and per device what
// a device holds (id, key seed, chain, Device version).
type devInit struct {
	URL, Tenant string
	UpToDate    bool
	Devices     []devCred
}

type devCred struct {
	ID      string
	Seed    []byte
	Chain   [][]byte
	Version int64
}

// devReq is one request to a client process; devResp its answer.
type devReq struct {
	Op      string
	Init    *devInit
	Dialers int
	Want    int64
	Marks   []int
	I       int
}

type devResp struct {
	Err    string
	Dial   dialStats
	Count  int64
	Marks  []int
	Frames []rxInfo
	Renew  renewResult
	Ends   []endInfo
	Msg    string
	Mem    *procMem
}

// remoteFleet drives a client process.
type remoteFleet struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	enc   *gob.Encoder
	dec   *gob.Decoder
	mu    sync.Mutex
	done  bool
}

// startRemoteFleet starts a client process for devs.
func startRemoteFleet(url, tenant string, devs []*benchDevice, upToDate bool) (*remoteFleet, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: client process: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), devClientEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: client process: %w", err)
	}
	r := &remoteFleet{cmd: cmd, stdin: stdin, enc: gob.NewEncoder(stdin), dec: gob.NewDecoder(stdout)}
	in := &devInit{URL: url, Tenant: tenant, UpToDate: upToDate, Devices: make([]devCred, len(devs))}
	for i, d := range devs {
		chain, v := d.state()
		in.Devices[i] = devCred{ID: d.id, Seed: d.key.Seed(), Chain: chain, Version: v}
	}
	if _, err := r.call(devReq{Op: "init", Init: in}); err != nil {
		_ = r.closeAll()
		return nil, err
	}
	return r, nil
}

func (r *remoteFleet) call(req devReq) (devResp, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var resp devResp
	if r.done {
		return resp, errors.New("bench: client process ended")
	}
	if err := r.enc.Encode(&req); err != nil {
		return resp, fmt.Errorf("bench: client process %s: %w", req.Op, err)
	}
	if err := r.dec.Decode(&resp); err != nil {
		return resp, fmt.Errorf("bench: client process %s: %w", req.Op, err)
	}
	if resp.Err != "" {
		return resp, fmt.Errorf("bench: client process %s: %s", req.Op, resp.Err)
	}
	return resp, nil
}

func (r *remoteFleet) dial(_ context.Context, dialers int) (dialStats, error) {
	resp, err := r.call(devReq{Op: "dial", Dialers: dialers})
	return resp.Dial, err
}

func (r *remoteFleet) deltaCount() (int64, error) {
	resp, err := r.call(devReq{Op: "count"})
	return resp.Count, err
}

func (r *remoteFleet) waitDeltas(want int64) error {
	_, err := r.call(devReq{Op: "wait-deltas", Want: want})
	return err
}

func (r *remoteFleet) waitEnded(want int64) error {
	_, err := r.call(devReq{Op: "wait-ended", Want: want})
	return err
}

func (r *remoteFleet) marks() ([]int, error) {
	resp, err := r.call(devReq{Op: "marks"})
	return resp.Marks, err
}

func (r *remoteFleet) frames(marks []int) ([]rxInfo, error) {
	resp, err := r.call(devReq{Op: "frames", Marks: marks})
	return resp.Frames, err
}

func (r *remoteFleet) renew(i int) (renewResult, error) {
	resp, err := r.call(devReq{Op: "renew", I: i})
	return resp.Renew, err
}

func (r *remoteFleet) ends() ([]endInfo, error) {
	resp, err := r.call(devReq{Op: "ends"})
	return resp.Ends, err
}

func (r *remoteFleet) badFrames() (int64, string, error) {
	resp, err := r.call(devReq{Op: "bad"})
	return resp.Count, resp.Msg, err
}

func (r *remoteFleet) clientMem() (*procMem, error) {
	resp, err := r.call(devReq{Op: "mem"})
	return resp.Mem, err
}

func (r *remoteFleet) pid() int { return r.cmd.Process.Pid }

// closeAll closes the connections, ends the process and waits for it.
func (r *remoteFleet) closeAll() error {
	_, err := r.call(devReq{Op: "close"})
	r.mu.Lock()
	r.done = true
	r.mu.Unlock()
	_ = r.stdin.Close()
	wait := make(chan error, 1)
	go func() { wait <- r.cmd.Wait() }()
	select {
	case werr := <-wait:
		if err == nil && werr != nil {
			err = fmt.Errorf("bench: client process: %w", werr)
		}
	case <-time.After(30 * time.Second):
		_ = r.cmd.Process.Kill()
		werr := <-wait // the kill's exit status says nothing new
		err = errors.Join(err, fmt.Errorf("bench: client process did not exit, killed: %w", werr))
	}
	return err
}

// runDeviceClientProcess serves a remoteFleet on stdin and stdout until
// stdin closes; it returns the exit code.
func runDeviceClientProcess() int {
	dec, enc := gob.NewDecoder(os.Stdin), gob.NewEncoder(os.Stdout)
	var f *devFleet
	for {
		var req devReq
		if err := dec.Decode(&req); err != nil {
			if f != nil {
				_ = f.closeAll()
			}
			if errors.Is(err, io.EOF) {
				return 0
			}
			fmt.Fprintln(os.Stderr, "bench client process:", err)
			return 1
		}
		resp := serveClientRequest(&f, req)
		if err := enc.Encode(&resp); err != nil {
			fmt.Fprintln(os.Stderr, "bench client process:", err)
			return 1
		}
		if req.Op == "close" {
			return 0
		}
	}
}

func serveClientRequest(fp **devFleet, req devReq) devResp {
	var resp devResp
	f := *fp
	if f == nil && req.Op != "init" {
		return devResp{Err: "not initialised"}
	}
	var err error
	switch req.Op {
	case "init":
		in := req.Init
		devs := make([]*benchDevice, len(in.Devices))
		for i, c := range in.Devices {
			devs[i] = &benchDevice{id: c.ID, key: ed25519.NewKeyFromSeed(c.Seed), chain: c.Chain, version: c.Version}
		}
		*fp = newDevFleet(in.URL, in.Tenant, devs, in.UpToDate)
	case "dial":
		resp.Dial, err = f.dial(context.Background(), req.Dialers)
	case "count":
		resp.Count, _ = f.deltaCount()
	case "wait-deltas":
		err = f.waitDeltas(req.Want)
	case "wait-ended":
		err = f.waitEnded(req.Want)
	case "marks":
		resp.Marks, _ = f.marks()
	case "frames":
		resp.Frames, _ = f.frames(req.Marks)
	case "renew":
		resp.Renew, err = f.renew(req.I)
	case "ends":
		resp.Ends, _ = f.ends()
	case "bad":
		resp.Count, resp.Msg, _ = f.badFrames()
	case "mem":
		m := sampleProcMem()
		resp.Mem = &m
	case "close":
		err = f.closeAll()
	default:
		err = fmt.Errorf("unknown op %q", req.Op)
	}
	if err != nil {
		resp.Err = err.Error()
	}
	return resp
}

// procCPU is the CPU time (user + system) process pid has used, from
// /proc/<pid>/stat (clock ticks of 10 ms, the Linux USER_HZ).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
