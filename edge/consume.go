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
	err = e.applyOrResync(ctx, seq, msg.Subject(), msg.Data(), msg.Headers())
	if errors.Is(err, errResyncLater) || (err != nil && ctx.Err() != nil) {
		return false // not acked: the consumer redelivers it
	}
	_ = msg.Ack()
	return true
}

// errResyncLater means a tenant's chain needs a snapshot that could not be
// had now (core unreachable): the message stays unacknowledged and the
// replica unchanged, and the consumer retries.
var errResyncLater = errors.New("edge: tenant resync pending")

// applyOrResync applies one message from the consumer. A delta that does
// not continue its tenant's chain (a gap or a broken chain: something was
// missed) never gets skipped: the tenant is resynchronised from a signed
// snapshot first, so revocations after the hole still arrive (invariant 2).
func (e *Edge) applyOrResync(ctx context.Context, seq uint64, subject string, data []byte, h map[string][]string) error {
	err := e.tryApply(ctx, seq, subject, data, h)
	tenant, broken := chainHole(err)
	if !broken {
		if err != nil {
			return e.skipRejected(ctx, seq, subject, err)
		}
		return nil
	}
	e.log.WarnContext(ctx, "tenant chain has a hole; resynchronising from a snapshot", "tenant", tenant,
		"stream_seq", seq, "reason", replica.Reason(err))
	if rerr := e.resyncTenant(ctx, tenant); rerr != nil {
		e.counters.resyncs.WithLabelValues("failed").Inc()
		e.log.WarnContext(ctx, "tenant resync failed; will retry", "tenant", tenant, "error", rerr)
		sleep(ctx, time.Second)
		return errResyncLater
	}
	e.counters.resyncs.WithLabelValues("ok").Inc()
	// The snapshot normally covers this message; if not, apply it now.
	if err := e.tryApply(ctx, seq, subject, data, h); err != nil {
		if _, still := chainHole(err); still {
			return errResyncLater
		}
		return e.skipRejected(ctx, seq, subject, err)
	}
	return nil
}

// chainHole reports the tenant whose chain err says is missing deltas.
func chainHole(err error) (string, bool) {
	var re *replica.RejectError
	if err == nil || !errors.As(err, &re) || re.Tenant == "" {
		return "", false
	}
	return re.Tenant, errors.Is(err, syncproto.ErrGap) || errors.Is(err, syncproto.ErrChainBroken)
}

// resyncTenant loads a fresh signed snapshot of tenant. Other tenants'
// messages up to the snapshot's stream position are applied first, so
// moving the cursor there loses nothing.
func (e *Edge) resyncTenant(ctx context.Context, tenant string) error {
	snap, err := requestSnapshot(ctx, e.leaf.Conn(), tenant)
	if err != nil {
		return err
	}
	if snap.streamSeq > e.replica.StreamCursor() {
		if err := e.replayBetween(ctx, snap.streamSeq, map[string]bool{tenant: true}); err != nil {
			return err
		}
	}
	return e.replica.LoadSnapshot(ctx, snap.chunks, snap.anchor, snap.streamSeq)
}

// apply verifies and applies one stream message (replays and repairs). A
// rejected message is counted and logged by the replica and skipped here:
// it never changes the replica.
func (e *Edge) apply(ctx context.Context, seq uint64, subject string, data []byte, h map[string][]string) error {
	if err := e.tryApply(ctx, seq, subject, data, h); err != nil {
		return e.skipRejected(ctx, seq, subject, err)
	}
	return nil
}

// tryApply hands one message to the replica; it skips nothing.
func (e *Edge) tryApply(ctx context.Context, seq uint64, subject string, data []byte, h map[string][]string) error {
	headers := make(map[string]string, len(h))
	for k, v := range h {
		if len(v) > 0 {
			headers[k] = v[0]
		}
	}
	res, err := e.replica.Apply(ctx, replica.Message{StreamSeq: seq, Subject: subject, Data: data, Headers: headers})
	if err == nil && !res.Duplicate {
		e.counters.lastApplied.Set(float64(e.cfg.Now().UnixMilli()) / 1000)
	}
	return err
}

// skipRejected moves the cursor past a message the replica refused.
func (e *Edge) skipRejected(ctx context.Context, seq uint64, subject string, err error) error {
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
// whose chains then report a gap on their next delta and resynchronise from a snapshot (applyOrResync).
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
