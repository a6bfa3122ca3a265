package leaf_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/melmastoon/iam/edge/leaf"
)

// reportLatency adds p50 and p99 of lat (in µs) to the benchmark's output.
func reportLatency(b *testing.B, lat []time.Duration) {
	b.Helper()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// BenchmarkJetStreamHubToLeafLatency: one delta in flight, from before
// PublishDelta on the hub to its arrival at the leaf's durable consumer
// through the domain; each delivery is acked. Compare LIMITS.md: a plain
// NATS hop hub→leaf has p50 69 µs, p99 217 µs.
func BenchmarkJetStreamHubToLeafLatency(b *testing.B) {
	h, l := connectedPair(b)
	ctx := testCtx(b)
	cons, err := l.Consumer(ctx, "bench-latency", 0)
	if err != nil {
		b.Fatal(err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(64))
	if err != nil {
		b.Fatal(err)
	}
	defer it.Stop()
	data := make([]byte, 300)
	lat := make([]time.Duration, 0, b.N)
	last := uint64(0)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		seq, err := h.PublishDelta(ctx, testSubject, data, fmt.Sprintf("lat-%d", i), last, nil)
		if err != nil {
			b.Fatal(err)
		}
		m, err := it.Next()
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		if md, _ := m.Metadata(); md.Sequence.Stream != seq {
			b.Fatalf("got sequence %d, want %d", md.Sequence.Stream, seq)
		}
		if err := m.Ack(); err != nil {
			b.Fatal(err)
		}
		last = seq
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// BenchmarkJetStreamHubToLeafThroughput: b.N deltas already stored on the
// hub are consumed by the leaf's durable consumer with explicit acks.
// Compare LIMITS.md: 62k msgs/s.
func BenchmarkJetStreamHubToLeafThroughput(b *testing.B) {
	for _, pending := range []int{leaf.DefaultMaxAckPending, 8 * leaf.DefaultMaxAckPending} {
		b.Run(fmt.Sprintf("max-ack-pending-%d", pending), func(b *testing.B) { benchThroughput(b, pending) })
	}
}

func benchThroughput(b *testing.B, maxAckPending int) {
	h := startHub(b, hubConfig(b, b.TempDir(), nil, nil))
	cfg := leafConfig(b, h.LeafURL(), leafPassword, nil)
	cfg.MaxAckPending = maxAckPending
	l := startLeaf(b, cfg)
	ctx := testCtx(b)
	if err := l.WaitConnected(ctx); err != nil {
		b.Fatal(err)
	}
	preload(b, ctx, h.JetStream(), b.N)
	cons, err := l.Consumer(ctx, "bench-throughput", 0)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	got := 0
	b.ResetTimer()
	start := time.Now()
	cc, err := cons.Consume(func(m jetstream.Msg) {
		_ = m.Ack()
		if got++; got == b.N {
			close(done)
		}
	}, jetstream.PullMaxMessages(1000))
	if err != nil {
		b.Fatal(err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		b.Fatalf("consumed %d of %d", got, b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cc.Stop()
	<-cc.Closed()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}

// preload stores n 300-byte deltas with async publishes (not part of the
// measurement).
func preload(b *testing.B, ctx context.Context, js jetstream.JetStream, n int) {
	b.Helper()
	data := make([]byte, 300)
	for i := range n {
		if _, err := js.PublishAsync(testSubject, data, jetstream.WithMsgID(fmt.Sprintf("tp-%d", i))); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		b.Fatal("preload did not complete")
	}
}

// BenchmarkCoreNATSHubToLeafLatency is the plain NATS hop over the same
// link, for comparison with the JetStream path.
func BenchmarkCoreNATSHubToLeafLatency(b *testing.B) {
	h, l := connectedPair(b)
	sub, err := l.Conn().SubscribeSync("bench.hop")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	waitInterest(b, h.Conn(), l.Conn(), sub)
	data := make([]byte, 300)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if err := h.Conn().Publish("bench.hop", data); err != nil {
			b.Fatal(err)
		}
		if _, err := sub.NextMsg(5 * time.Second); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// waitInterest publishes probes until the leaf's subscription is known at
// the hub, then drains them.
func waitInterest(b *testing.B, pub, subConn *nats.Conn, sub *nats.Subscription) {
	b.Helper()
	if err := subConn.Flush(); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := pub.Publish("bench.hop", nil); err != nil {
			b.Fatal(err)
		}
		if _, err := sub.NextMsg(20 * time.Millisecond); err == nil {
			for {
				if _, err := sub.NextMsg(50 * time.Millisecond); err != nil {
					return
				}
			}
		}
	}
	b.Fatal("leaf subscription never reached the hub")
}
