package password

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Limiter defaults.
const (
	// DefaultMaxWait is how long Acquire waits for a slot before giving up.
	DefaultMaxWait = time.Second
	// DefaultQueuePerSlot sets the default queue depth to this many waiters
	// per concurrent slot.
	DefaultQueuePerSlot = 32
	// MinRetryAfter and MaxRetryAfter clamp the RetryAfter hint.
	MinRetryAfter = time.Second
	MaxRetryAfter = 30 * time.Second
	// initialHoldEstimate seeds the moving average of slot hold time
	// (LIMITS.md: ~24 ms per default hash).
	initialHoldEstimate = 25 * time.Millisecond
)

// LimiterConfig configures a Limiter. Zero fields get defaults from
// CheckAndSetDefaults.
type LimiterConfig struct {
	// MaxConcurrent is the number of hashes allowed in flight
	// (default runtime.NumCPU()). Memory in flight is MaxConcurrent times
	// Params.MemoryKiB.
	MaxConcurrent int
	// MaxQueue is the number of callers allowed to wait for a slot
	// (default DefaultQueuePerSlot × MaxConcurrent).
	MaxQueue int
	// MaxWait bounds how long one caller waits for a slot (default
	// DefaultMaxWait).
	MaxWait time.Duration
	// Now is the clock used to measure hold times (default time.Now).
	Now func() time.Time
	// After returns a channel that fires after d (default time.After via a
	// stoppable timer); tests inject a fake to control the queue deadline.
	After func(d time.Duration) (<-chan time.Time, func())
}

// CheckAndSetDefaults fills zero fields with defaults.
func (c *LimiterConfig) CheckAndSetDefaults() {
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = runtime.NumCPU()
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = DefaultQueuePerSlot * c.MaxConcurrent
	}
	if c.MaxWait <= 0 {
		c.MaxWait = DefaultMaxWait
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.After == nil {
		c.After = realAfter
	}
}

func realAfter(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// Limiter is admission control for password hashing: at most MaxConcurrent
// holders at once, at most MaxQueue waiters, each waiting at most MaxWait.
// It is safe for concurrent use and starts no goroutines.
type Limiter struct {
	cfg     LimiterConfig
	slots   chan struct{}
	waiting atomic.Int64
	holdNs  atomic.Int64 // moving average of hold time, nanoseconds
}

// NewLimiter returns a Limiter for cfg (defaults applied to a copy).
func NewLimiter(cfg LimiterConfig) *Limiter {
	cfg.CheckAndSetDefaults()
	l := &Limiter{cfg: cfg, slots: make(chan struct{}, cfg.MaxConcurrent)}
	l.holdNs.Store(int64(initialHoldEstimate))
	return l
}

// Acquire takes a hashing slot. It returns a release function that must be
// called exactly once when the hash is done (extra calls are no-ops), or
// ErrOverloaded when MaxQueue callers are already waiting or no slot freed up
// within MaxWait, or ctx.Err() when ctx ends first. It never blocks longer
// than MaxWait.
func (l *Limiter) Acquire(ctx context.Context) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case l.slots <- struct{}{}:
		return l.releaser(), nil
	default:
	}
	return l.wait(ctx)
}

func (l *Limiter) wait(ctx context.Context) (func(), error) {
	defer l.waiting.Add(-1)
	if l.waiting.Add(1) > int64(l.cfg.MaxQueue) {
		return nil, ErrOverloaded
	}
	deadline, stop := l.cfg.After(l.cfg.MaxWait)
	defer stop()
	select {
	case l.slots <- struct{}{}:
		return l.releaser(), nil
	case <-deadline:
		return nil, ErrOverloaded
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *Limiter) releaser() func() {
	start := l.cfg.Now()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.observeHold(l.cfg.Now().Sub(start))
			<-l.slots
		})
	}
}

// observeHold updates the moving average (weight 1/8) of hold time.
func (l *Limiter) observeHold(d time.Duration) {
	if d < 0 {
		return
	}
	for {
		old := l.holdNs.Load()
		if l.holdNs.CompareAndSwap(old, old+(int64(d)-old)/8) {
			return
		}
	}
}

// QueueDepth returns the number of callers waiting for a slot, for the
// password_hash_queue_depth gauge.
func (l *Limiter) QueueDepth() int { return int(l.waiting.Load()) }

// InFlight returns the number of slots currently held.
func (l *Limiter) InFlight() int { return len(l.slots) }

// RetryAfter estimates when a rejected caller should try again: the time
// to drain the current queue at the observed hold time, clamped to
// [MinRetryAfter, MaxRetryAfter] and rounded up to whole seconds (the
// Retry-After header's unit).
func (l *Limiter) RetryAfter() time.Duration {
	perSlot := (l.QueueDepth() + 1 + l.cfg.MaxConcurrent - 1) / l.cfg.MaxConcurrent
	d := time.Duration(perSlot) * time.Duration(l.holdNs.Load())
	d = min(max(d, MinRetryAfter), MaxRetryAfter)
	return (d + time.Second - 1).Truncate(time.Second)
}
