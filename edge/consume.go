package edge

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/melmastoon/iam/edge/replica"
	"github.com/melmastoon/iam/syncproto"
)

// consume applies the delta stream in order until ctx ends, reconnecting to
// the hub's consumer whenever the link drops.
func (e *Edge) consume(ctx context.Context) {
	for ctx.Err() == nil {
		if err := e.leaf.WaitConnected(ctx); err != nil {
			return
		}
		if err := e.bootstrap(ctx); err != nil && !errors.Is(err, errNoSnapshots) {
			if ctx.Err() != nil {
				return
			}
			e.log.WarnContext(ctx, "snapshot bootstrap failed; retrying", "error", err)
			sleep(ctx, time.Second)
			continue
		} else if err != nil {
			e.log.WarnContext(ctx, "no snapshot responder; consuming the stream from the cursor")
		}
		e.setConnected(true)
		cons, err := e.leaf.Consumer(ctx, "edge-"+e.cfg.Name, e.replica.StreamCursor()+1)
		if err != nil {
			e.log.WarnContext(ctx, "delta consumer unavailable", "error", err)
			e.setConnected(false)
			sleep(ctx, time.Second)
			continue
		}
		e.drain(ctx, cons)
		e.setConnected(false)
	}
}

// drain fetches and applies batches until an error or ctx ends.
func (e *Edge) drain(ctx context.Context, cons jetstream.Consumer) {
	for ctx.Err() == nil {
		batch, err := cons.Fetch(fetchBatch, jetstream.FetchMaxWait(fetchWait))
		if err != nil {
			e.log.WarnContext(ctx, "delta fetch failed", "error", err)
			return
		}
		for msg := range batch.Messages() {
			if !e.handle(ctx, msg) {
				return
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && ctx.Err() == nil {
			e.log.WarnContext(ctx, "delta batch ended", "error", err)
			if !errors.Is(err, context.DeadlineExceeded) {
				return
			}
		}
	}
}

// handle applies one message; false means: stop and re-create the consumer.
func (e *Edge) handle(ctx context.Context, msg jetstream.Msg) bool {
	meta, err := msg.Metadata()
	if err != nil {
		_ = msg.Term()
		return true
	}
	seq := meta.Sequence.Stream
	if seq <= e.replica.StreamCursor() {
		_ = msg.Ack()
		return true
	}
	if seq > e.replica.StreamCursor()+1 && !e.repair(ctx, e.replica.StreamCursor()+1, seq-1) {
		return false
	}
	err = e.apply(ctx, seq, msg.Subject(), msg.Data(), msg.Headers())
	if err != nil && ctx.Err() != nil {
		return false
	}
	_ = msg.Ack()
	return true
}

// apply verifies and applies one stream message. A rejected message is
// counted and logged by the replica and skipped here: it never changes the
// replica, and the chain rejects whatever would depend on it.
func (e *Edge) apply(ctx context.Context, seq uint64, subject string, data []byte, h map[string][]string) error {
	headers := make(map[string]string, len(h))
	for k, v := range h {
		if len(v) > 0 {
			headers[k] = v[0]
		}
	}
	res, err := e.replica.Apply(ctx, replica.Message{StreamSeq: seq, Subject: subject, Data: data, Headers: headers})
	if err == nil {
		if !res.Duplicate {
			e.counters.lastApplied.Set(float64(e.cfg.Now().UnixMilli()) / 1000)
		}
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	e.log.WarnContext(ctx, "delta rejected and skipped", "stream_seq", seq, "subject", subject,
		"reason", replica.Reason(err), "error", err)
	if serr := e.replica.Skip(ctx, seq); serr != nil {
		e.log.ErrorContext(ctx, "skip failed", "stream_seq", seq, "error", serr)
		return serr
	}
	return nil
}

// repair re-fetches stream messages [from, to] that the consumer did not
// deliver (a consumer created after a gap, messages acked elsewhere) and
// applies them in order.
func (e *Edge) repair(ctx context.Context, from, to uint64) bool {
	msgs, err := e.leaf.FetchRange(ctx, from, to)
	if err != nil {
		e.log.WarnContext(ctx, "gap repair failed", "from", from, "to", to, "error", err)
		e.counters.gapRepairs.WithLabelValues("failed").Inc()
		return !errors.Is(err, context.Canceled) && e.skipRange(ctx, from, to)
	}
	for _, m := range msgs {
		if err := e.apply(ctx, m.Sequence, m.Subject, m.Data, m.Header); err != nil {
			return false
		}
	}
	e.counters.gapRepairs.WithLabelValues("fetched").Inc()
	return true
}

// skipRange advances past stream messages that no longer exist (discarded
// by the stream's limits); the tenants concerned will need a snapshot,
// which their chains signal with ErrGap on the next delta.
func (e *Edge) skipRange(ctx context.Context, from, to uint64) bool {
	e.log.ErrorContext(ctx, "stream range unavailable; skipping", "from", from, "to", to)
	for s := from; s <= to; s++ {
		if err := e.replica.Skip(ctx, s); err != nil {
			return false
		}
	}
	return true
}

// watchCheckpoints feeds signed checkpoints to the replica (freshness).
func (e *Edge) watchCheckpoints(ctx context.Context) {
	sub, err := e.leaf.Conn().Subscribe("iam.checkpoint.*", func(m *nats.Msg) {
		tenant := m.Subject[len("iam.checkpoint."):]
		if err := e.replica.AcceptCheckpoint(ctx, tenant, m.Data); err != nil && !errors.Is(err, syncproto.ErrDuplicate) {
			e.counters.checkpointRejects.WithLabelValues(syncproto.Reason(err)).Inc()
			e.log.DebugContext(ctx, "checkpoint not accepted", "tenant", tenant, "reason", syncproto.Reason(err))
		}
	})
	if err != nil {
		e.log.ErrorContext(ctx, "checkpoint subscription failed", "error", err)
		return
	}
	<-ctx.Done()
	_ = sub.Unsubscribe()
}

func (e *Edge) setConnected(v bool) {
	e.mu.Lock()
	e.connected = v
	e.mu.Unlock()
}

func (e *Edge) isConnected() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.connected
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
