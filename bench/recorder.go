package main

import (
	"math"
	"slices"
	"sync"
	"time"
)

// maxErrorSamples bounds how many distinct error messages a Recorder keeps.
const maxErrorSamples = 3

// Recorder collects the latency of every successful operation and counts the
// failed ones. It keeps every sample, so percentiles are exact (nearest-rank),
// not estimated; memory is 8 bytes per operation, which bounds the scenarios
// that use it to a few million operations. It is safe for concurrent use.
type Recorder struct {
	mu        sync.Mutex
	samples   []time.Duration
	errors    int
	errSample []string
	start     time.Time
	stop      time.Time
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{} }

// Start marks the beginning of the measured window (for throughput).
func (r *Recorder) Start(t time.Time) {
	r.mu.Lock()
	r.start = t
	r.mu.Unlock()
}

// Stop marks the end of the measured window (for throughput).
func (r *Recorder) Stop(t time.Time) {
	r.mu.Lock()
	r.stop = t
	r.mu.Unlock()
}

// Record adds one operation: its latency when err is nil, else one error.
func (r *Recorder) Record(d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errors++
		if msg := err.Error(); len(r.errSample) < maxErrorSamples && !slices.Contains(r.errSample, msg) {
			r.errSample = append(r.errSample, msg)
		}
		return
	}
	r.samples = append(r.samples, d)
}

// Summary is what a Recorder reports. Durations are exact order statistics of
// the successful operations; Throughput is successes per second of the
// measured window (zero when no window was marked).
type Summary struct {
	Count      int           `json:"count"`
	Errors     int           `json:"errors"`
	Min        time.Duration `json:"min_ns"`
	Mean       time.Duration `json:"mean_ns"`
	P50        time.Duration `json:"p50_ns"`
	P95        time.Duration `json:"p95_ns"`
	P99        time.Duration `json:"p99_ns"`
	Max        time.Duration `json:"max_ns"`
	Elapsed    time.Duration `json:"elapsed_ns,omitempty"`
	Throughput float64       `json:"throughput_per_s,omitempty"`
	ErrSample  []string      `json:"error_sample,omitempty"`
}

// Summary computes the percentiles of everything recorded so far.
func (r *Recorder) Summary() Summary {
	r.mu.Lock()
	sorted := slices.Clone(r.samples)
	s := Summary{Count: len(sorted), Errors: r.errors, ErrSample: slices.Clone(r.errSample)}
	if !r.start.IsZero() && r.stop.After(r.start) {
		s.Elapsed = r.stop.Sub(r.start)
	}
	r.mu.Unlock()
	if s.Elapsed > 0 {
		s.Throughput = float64(s.Count) / s.Elapsed.Seconds()
	}
	if len(sorted) == 0 {
		return s
	}
	slices.Sort(sorted)
	var total time.Duration
	for _, d := range sorted {
		total += d
	}
	s.Min, s.Max = sorted[0], sorted[len(sorted)-1]
	s.Mean = total / time.Duration(len(sorted))
	s.P50 = Percentile(sorted, 50)
	s.P95 = Percentile(sorted, 95)
	s.P99 = Percentile(sorted, 99)
	return s
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest sample with at least p % of the samples
// at or below it. It returns 0 for an empty slice.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}
