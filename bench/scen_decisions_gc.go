package main

import (
	"fmt"
	"math"
	"runtime"
	"runtime/metrics"
	"strings"
	"time"
)

// gcSnap is the Go runtime's GC activity at one moment (runtime/metrics).
type gcSnap struct {
	cycles        uint64
	gcCPU, allCPU float64 // seconds
	pauses        float64 // estimated total stop-the-world GC pause, seconds
}

var gcSamples = []string{"/gc/cycles/total:gc-cycles", "/cpu/classes/gc/total:cpu-seconds", "/cpu/classes/total:cpu-seconds", "/sched/pauses/total/gc:seconds"}

func takeGC() gcSnap {
	s := make([]metrics.Sample, len(gcSamples))
	for i, n := range gcSamples {
		s[i].Name = n
	}
	metrics.Read(s)
	var g gcSnap
	if s[0].Value.Kind() == metrics.KindUint64 {
		g.cycles = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindFloat64 {
		g.gcCPU = s[1].Value.Float64()
	}
	if s[2].Value.Kind() == metrics.KindFloat64 {
		g.allCPU = s[2].Value.Float64()
	}
	if s[3].Value.Kind() == metrics.KindFloat64Histogram {
		h := s[3].Value.Float64Histogram()
		for i, c := range h.Counts {
			if c == 0 {
				continue
			}
			// Bucket midpoint (the outer bounds may be infinite).
			lo, hi := h.Buckets[i], h.Buckets[i+1]
			if math.IsInf(lo, 0) {
				lo = hi
			}
			if math.IsInf(hi, 0) {
				hi = lo
			}
			g.pauses += float64(c) * (lo + hi) / 2
		}
	}
	return g
}

// gcFact says how much the Go GC ran between a and b: cycles, the cores
// its marking took (runtime/metrics estimate, dedicated workers and
// assists), and the stop-the-world pauses.
func gcFact(label string, a, b gcSnap) Param {
	wall := (b.allCPU - a.allCPU) / float64(runtime.GOMAXPROCS(0)) // /cpu/classes/total is GOMAXPROCS × wall time
	cores := 0.0
	if wall > 0 {
		cores = (b.gcCPU - a.gcCPU) / wall
	}
	return Param{label, fmt.Sprintf("%d Go GC cycles, GC work %.2f cores on average (runtime/metrics estimate, marking incl. assists), stop-the-world pauses ≈ %s in all",
		b.cycles-a.cycles, cores, fmtDurSeconds(b.pauses-a.pauses))}
}

func fmtDurSeconds(s float64) string { return fmtDur(time.Duration(s * float64(time.Second))) }

// othersCores is how many cores processes other than this one used between
// a and b (0 when /proc/stat is unavailable).
func othersCores(a, b cpuSnap) float64 {
	wall := b.at.Sub(a.at).Seconds()
	if wall <= 0 || !a.haveSystem || b.all <= a.all {
		return 0
	}
	busy := float64(runtime.NumCPU()) * float64(b.busy-a.busy) / float64(b.all-a.all)
	return max(0, busy-(b.self-a.self).Seconds()/wall)
}

// contention collects the measurements during which other processes took
// a noticeable share of the machine, for a note in the report.
type contention struct {
	points []string
	worst  float64
}

const contentionLimit = 0.3 // cores

func (c *contention) add(label string, a, b cpuSnap) {
	if o := othersCores(a, b); o > contentionLimit {
		c.points = append(c.points, fmt.Sprintf("%s %.2f", label, o))
		c.worst = max(c.worst, o)
	}
}

// note appends a warning to res when any measurement was contended.
func (c *contention) note(res *Result, of int) {
	if len(c.points) == 0 {
		return
	}
	res.Notes = append(res.Notes, fmt.Sprintf("CONTENDED: during %d of %d measurements, processes other than this bench (other jobs on the shared machine, and PostgreSQL, which the decision-only phases give nothing to do) used more than %.1f of the %d cores, up to %.2f (cores: %s). Those figures understate what the edge does on a machine of its own; see the CPU facts.",
		len(c.points), of, contentionLimit, runtime.NumCPU(), c.worst, strings.Join(c.points, "; ")))
}
