package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"

	dto "github.com/prometheus/client_model/go"
)

// Memory and descriptor accounting of the device-sync scenario: the
// clients and the edge share this process, so besides the process totals
// (runtime.MemStats after GC, goroutines, descriptors) the scenario splits
// the figures by side: goroutines by pprof label (the client's carry
// devClientLabel), live heap by allocation stack (runtime.MemProfile,
// sampled at devMemProfileRate while the scenario runs).

// devMemProfileRate is runtime.MemProfileRate during the scenario: one
// sample per 8 KiB allocated on average (the default is 512 KiB), enough
// samples to split tens of MiB by side within a few per cent.
const devMemProfileRate = 8 << 10

// procMem is the process's memory and descriptors at one moment (after GC).
// (Exported fields: a client process sends it to the bench with gob.)
type procMem struct {
	HeapAlloc, HeapInuse, StackInuse, Sys uint64
	RSS                                   uint64
	Goroutines, ClientGoroutines          int
	FDs                                   int
	Heap                                  heapSplit
}

// sampleProcMem collects garbage twice (which also publishes the heap
// profile as of that cycle) and samples.
func sampleProcMem() procMem {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	p := procMem{HeapAlloc: ms.HeapAlloc, HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse, Sys: ms.Sys}
	p.RSS, _, _ = ProcRSS(os.Getpid())
	p.Goroutines, p.ClientGoroutines = goroutinesLabeled("bench", devClientLabel)
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		p.FDs = len(ents)
	}
	p.Heap = heapBySide()
	return p
}

// goroutinesLabeled counts this process's goroutines, and those carrying
// the pprof label key=value.
func goroutinesLabeled(key, value string) (total, labeled int) {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return runtime.NumGoroutine(), 0
	}
	return parseGoroutineProfile(buf.String(), key, value)
}

// parseGoroutineProfile reads the debug=1 text of the goroutine profile:
// records "N @ pc pc …", each optionally followed by
// "# labels: {"k":"v", …}".
func parseGoroutineProfile(text, key, value string) (total, labeled int) {
	want := strconv.Quote(key) + ":" + strconv.Quote(value)
	cur := 0
	for line := range strings.SplitSeq(text, "\n") {
		if n, _, ok := strings.Cut(line, " @ "); ok {
			if c, err := strconv.Atoi(n); err == nil {
				cur = c
				total += c
				continue
			}
		}
		if strings.HasPrefix(line, "# labels: ") && strings.Contains(line, want) {
			labeled += cur
		}
	}
	return total, labeled
}

// heapSplit is live heap (bytes, estimated from the sampled heap profile)
// by the side that allocated it.
type heapSplit struct{ Client, Edge, Other float64 }

// heapSide is who allocated an object, judged by its allocation stack.
type heapSide int

const (
	sideOther heapSide = iota
	sideClient
	sideEdge
)

// classifyFrames decides the side of one allocation stack (function
// names): the sync server, net/http's server connections and the
// WebSocket accept are the edge (checked first: the edge's goroutines
// were started by the bench, whose frame is at the root of their stacks);
// the client's own functions and net/http's client transport are the
// client; anything else (core, hub, relay, the replica, runtime) is other.
func classifyFrames(funcs []string) heapSide {
	side := sideOther
	for _, fn := range funcs {
		switch {
		case strings.Contains(fn, "/edge/devsync."), strings.HasPrefix(fn, "net/http.(*conn)."),
			strings.HasPrefix(fn, "net/http.(*Server)."), strings.HasPrefix(fn, "github.com/coder/websocket.Accept"):
			return sideEdge
		case strings.HasPrefix(fn, "main.(*devFleet)."), strings.HasPrefix(fn, "main.(*devConn)."),
			strings.HasPrefix(fn, "main.readFrame"), strings.HasPrefix(fn, "net/http.(*Transport)."),
			strings.HasPrefix(fn, "net/http.(*persistConn)."):
			side = sideClient
		}
	}
	return side
}

// heapBySide splits the heap profile's in-use bytes (as of the last GC)
// by side, scaling each record by its sampling probability as pprof does.
func heapBySide() heapSplit {
	n, _ := runtime.MemProfile(nil, true)
	var recs []runtime.MemProfileRecord
	for {
		recs = make([]runtime.MemProfileRecord, n+256)
		var ok bool
		if n, ok = runtime.MemProfile(recs, true); ok {
			recs = recs[:n]
			break
		}
	}
	rate := float64(runtime.MemProfileRate)
	var s heapSplit
	var funcs []string
	for i := range recs {
		r := &recs[i]
		inuse := r.InUseBytes()
		if inuse <= 0 || r.AllocObjects == 0 {
			continue
		}
		v := float64(inuse)
		if rate > 1 {
			avg := float64(r.AllocBytes) / float64(r.AllocObjects)
			v /= 1 - math.Exp(-avg/rate)
		}
		funcs = funcs[:0]
		frames := runtime.CallersFrames(r.Stack())
		for {
			fr, more := frames.Next()
			funcs = append(funcs, fr.Function)
			if !more {
				break
			}
		}
		switch classifyFrames(funcs) {
		case sideClient:
			s.Client += v
		case sideEdge:
			s.Edge += v
		default:
			s.Other += v
		}
	}
	return s
}

// raiseFDLimit raises the soft RLIMIT_NOFILE to want (and the hard limit
// with it when this process may: root); otherwise to the hard limit.
func raiseFDLimit(want uint64) (before, after syscall.Rlimit, err error) {
	if err = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &before); err != nil {
		return before, before, err
	}
	after = before
	if before.Cur >= want {
		return before, after, nil
	}
	lim := syscall.Rlimit{Cur: want, Max: max(before.Max, want)}
	if err = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		lim = syscall.Rlimit{Cur: before.Max, Max: before.Max}
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &after)
	if after.Cur < want {
		return before, after, fmt.Errorf("bench: need %d file descriptors, the limit is %d (hard %d): raise it (ulimit -n) or lower -devices-conns", want, after.Cur, after.Max)
	}
	return before, after, nil
}

// gatherValue sums the gauge or counter series of metric name whose
// labels include want.
func gatherValue(g interface {
	Gather() ([]*dto.MetricFamily, error)
}, name string, want map[string]string) (float64, bool) {
	mfs, err := g.Gather()
	if err != nil {
		return 0, false
	}
	var sum float64
	found := false
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue next
				}
			}
			switch {
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			default:
				continue
			}
			found = true
		}
	}
	return sum, found
}

// perConn formats a byte difference per connection.
func perConn(before, after uint64, n int) string {
	d := float64(after) - float64(before)
	return fmt.Sprintf("%s → %s: %s per connection", MiB(before), MiB(after), kib(d/float64(n)))
}

func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }
