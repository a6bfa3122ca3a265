package main

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = ms(i + 1)
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"single p50", []time.Duration{ms(7)}, 50, ms(7)},
		{"single p99", []time.Duration{ms(7)}, 99, ms(7)},
		{"1..100 p50", hundred, 50, ms(50)},
		{"1..100 p95", hundred, 95, ms(95)},
		{"1..100 p99", hundred, 99, ms(99)},
		{"1..100 p100", hundred, 100, ms(100)},
		{"ten p50", hundred[:10], 50, ms(5)},
		{"ten p95 rounds up", hundred[:10], 95, ms(10)},
		{"ten p99 is max", hundred[:10], 99, ms(10)},
		{"four p50", hundred[:4], 50, ms(2)},
		{"four p51", hundred[:4], 51, ms(3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(%d samples, %v) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
			}
		})
	}
}

func TestRecorderSummaryExact(t *testing.T) {
	r := NewRecorder()
	// 1..1000 µs recorded in random order from several goroutines, plus errors.
	vals := rand.Perm(1000)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(vals); i += 4 {
				r.Record(time.Duration(vals[i]+1)*time.Microsecond, nil)
			}
		})
	}
	wg.Wait()
	for range 5 {
		r.Record(time.Second, errors.New("boom"))
	}
	r.Record(0, errors.New("other"))
	start := time.Unix(100, 0)
	r.Start(start)
	r.Stop(start.Add(2 * time.Second))

	s := r.Summary()
	us := func(n int) time.Duration { return time.Duration(n) * time.Microsecond }
	checks := []struct {
		name      string
		got, want time.Duration
	}{
		{"min", s.Min, us(1)}, {"p50", s.P50, us(500)}, {"p95", s.P95, us(950)},
		{"p99", s.P99, us(990)}, {"max", s.Max, us(1000)}, {"mean", s.Mean, 500500 * time.Nanosecond},
		{"elapsed", s.Elapsed, 2 * time.Second},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if s.Count != 1000 || s.Errors != 6 {
		t.Errorf("count, errors = %d, %d; want 1000, 6", s.Count, s.Errors)
	}
	if s.Throughput != 500 {
		t.Errorf("throughput = %v, want 500", s.Throughput)
	}
	if len(s.ErrSample) != 2 {
		t.Errorf("error sample = %q, want the two distinct messages", s.ErrSample)
	}
}

func TestRecorderEmpty(t *testing.T) {
	s := NewRecorder().Summary()
	if s.Count != 0 || s.P99 != 0 || s.Max != 0 || s.Throughput != 0 {
		t.Errorf("empty summary = %+v, want zeros", s)
	}
}
