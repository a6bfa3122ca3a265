package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// runClosedLoop runs `clients` workers that each call op back to back until
// d has passed or maxOps operations have started, and records every call.
// Throughput is completed successes over the wall time from the first start
// to the last completion (in-flight calls at the deadline are waited for).
func runClosedLoop(ctx context.Context, clients int, d time.Duration, maxOps int, op func(ctx context.Context, worker, seq int) error) *Recorder {
	rec := NewRecorder()
	var started atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	rec.Start(time.Now())
	for w := range clients {
		wg.Go(func() {
			for seq := 0; ctx.Err() == nil && time.Now().Before(deadline); seq++ {
				if started.Add(1) > int64(maxOps) {
					return
				}
				t0 := time.Now()
				err := op(ctx, w, seq)
				rec.Record(time.Since(t0), err)
			}
		})
	}
	wg.Wait()
	rec.Stop(time.Now())
	return rec
}
