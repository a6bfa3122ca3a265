package password

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLimiterDefaults(t *testing.T) {
	l := NewLimiter(LimiterConfig{})
	if l.cfg.MaxConcurrent < 1 || l.cfg.MaxWait != DefaultMaxWait || l.cfg.MaxQueue != DefaultQueuePerSlot*l.cfg.MaxConcurrent {
		t.Fatalf("defaults not applied: %+v", l.cfg)
	}
	if got := l.RetryAfter(); got != MinRetryAfter {
		t.Fatalf("idle RetryAfter = %v, want %v", got, MinRetryAfter)
	}
}

// TestLimiterStorm: 50 goroutines against 2 slots with a short wait bound.
// Some must be refused, at most 2 may ever hold a slot, and a refused
// caller must not have waited far past the bound (generous ratio, not a
// tight wall-clock limit).
func TestLimiterStorm(t *testing.T) {
	const (
		workers = 50
		slots   = 2
		bound   = 50 * time.Millisecond
		hold    = 20 * time.Millisecond
	)
	l := NewLimiter(LimiterConfig{MaxConcurrent: slots, MaxWait: bound, MaxQueue: workers})
	var inFlight, peak, admitted, refused atomic.Int64
	var worstWait atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			start := time.Now()
			release, err := l.Acquire(context.Background())
			if err != nil {
				if !errors.Is(err, ErrOverloaded) {
					t.Errorf("unexpected error %v", err)
				}
				refused.Add(1)
				storeMax(&worstWait, int64(time.Since(start)))
				return
			}
			defer release()
			admitted.Add(1)
			storeMax(&peak, inFlight.Add(1))
			time.Sleep(hold) // simulated hash
			inFlight.Add(-1)
		})
	}
	wg.Wait()
	if peak.Load() > slots {
		t.Fatalf("peak concurrency %d > %d", peak.Load(), slots)
	}
	if refused.Load() == 0 || admitted.Load() == 0 {
		t.Fatalf("admitted %d, refused %d: want both > 0", admitted.Load(), refused.Load())
	}
	if w := time.Duration(worstWait.Load()); w > 20*bound {
		t.Fatalf("a refused caller waited %v, bound %v", w, bound)
	}
	if l.QueueDepth() != 0 || l.InFlight() != 0 {
		t.Fatalf("leftover depth %d in flight %d", l.QueueDepth(), l.InFlight())
	}
}

func storeMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// fakeAfter hands out deadline channels the test fires by hand.
type fakeAfter struct {
	mu    sync.Mutex
	chans []chan time.Time
}

func (f *fakeAfter) after(time.Duration) (<-chan time.Time, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := make(chan time.Time, 1)
	f.chans = append(f.chans, c)
	return c, func() {}
}

func (f *fakeAfter) fireAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.chans {
		c <- time.Time{}
	}
	f.chans = nil
}

func TestLimiterQueueDeadlineInjected(t *testing.T) {
	fa := &fakeAfter{}
	l := NewLimiter(LimiterConfig{MaxConcurrent: 1, MaxQueue: 1, After: fa.after})
	release, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := l.Acquire(context.Background())
		done <- err
	}()
	waitFor(t, func() bool { return l.QueueDepth() == 1 })
	// The queue is full: a third caller is refused at once.
	if _, err := l.Acquire(context.Background()); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("over-depth Acquire = %v, want ErrOverloaded", err)
	}
	fa.fireAll()
	if err := <-done; !errors.Is(err, ErrOverloaded) {
		t.Fatalf("deadline Acquire = %v, want ErrOverloaded", err)
	}
	if l.RetryAfter() < MinRetryAfter {
		t.Fatal("RetryAfter below minimum")
	}
	release()
	release() // idempotent
	r2, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	r2()
}

func TestLimiterContextCancel(t *testing.T) {
	l := NewLimiter(LimiterConfig{MaxConcurrent: 1, MaxWait: time.Hour})
	release, _ := l.Acquire(context.Background())
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := l.Acquire(ctx)
		done <- err
	}()
	waitFor(t, func() bool { return l.QueueDepth() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestRetryAfterGrowsWithQueue(t *testing.T) {
	now := time.Unix(0, 0)
	l := NewLimiter(LimiterConfig{MaxConcurrent: 1, Now: func() time.Time { return now }})
	for range 10 { // teach the average a 2 s hold
		r, _ := l.Acquire(context.Background())
		now = now.Add(2 * time.Second)
		r()
	}
	l.waiting.Store(10)
	if got := l.RetryAfter(); got < 10*time.Second || got > MaxRetryAfter {
		t.Fatalf("RetryAfter = %v, want between 10s and %v", got, MaxRetryAfter)
	}
	l.waiting.Store(0)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
