package leaf

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// orderedInactive lets the hub drop a FetchRange's ephemeral consumer soon
// after the call ends.
const orderedInactive = 30 * time.Second

// GetMsg reads the delta at stream sequence seq from the hub with a direct
// get. It returns ErrMsgNotFound when the hub does not hold seq.
func (l *Leaf) GetMsg(ctx context.Context, seq uint64) (*jetstream.RawStreamMsg, error) {
	stream, err := l.hubStream(ctx)
	if err != nil {
		return nil, err
	}
	msg, err := stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, fmt.Errorf("%w: sequence %d", ErrMsgNotFound, seq)
	}
	if err != nil {
		return nil, fmt.Errorf("leaf: get message %d: %w", seq, err)
	}
	return msg, nil
}

// FetchRange re-reads the deltas with stream sequences fromSeq..toSeq
// (inclusive) from the hub, in order, for gap repair. It reads them through
// an ordered (ephemeral, unacknowledged) consumer, so it does not move any
// durable consumer. It returns ErrInvalidRange for an empty or oversized
// range (more than MaxFetchRange) and ErrRangeUnavailable when the hub no
// longer (or not yet) holds the whole range.
func (l *Leaf) FetchRange(ctx context.Context, fromSeq, toSeq uint64) ([]*jetstream.RawStreamMsg, error) {
	if fromSeq == 0 || toSeq < fromSeq || toSeq-fromSeq >= MaxFetchRange {
		return nil, fmt.Errorf("%w: %d..%d", ErrInvalidRange, fromSeq, toSeq)
	}
	stream, err := l.hubStream(ctx)
	if err != nil {
		return nil, err
	}
	st := stream.CachedInfo().State
	if fromSeq < st.FirstSeq || toSeq > st.LastSeq {
		return nil, fmt.Errorf("%w: %d..%d, hub holds %d..%d", ErrRangeUnavailable, fromSeq, toSeq, st.FirstSeq, st.LastSeq)
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: fromSeq, InactiveThreshold: orderedInactive,
	})
	if err != nil {
		return nil, fmt.Errorf("leaf: fetch range: %w", err)
	}
	return collectRange(ctx, cons, fromSeq, toSeq)
}

// collectRange fetches from cons until it has toSeq.
func collectRange(ctx context.Context, cons jetstream.Consumer, fromSeq, toSeq uint64) ([]*jetstream.RawStreamMsg, error) {
	out := make([]*jetstream.RawStreamMsg, 0, toSeq-fromSeq+1)
	next := fromSeq
	for next <= toSeq {
		batch := min(int(toSeq-next+1), fetchBatch)
		msgs, err := cons.Fetch(batch, fetchWait(ctx))
		if err != nil {
			return nil, fmt.Errorf("leaf: fetch range: %w", err)
		}
		for m := range msgs.Messages() {
			raw, err := rawMsg(m)
			if err != nil {
				return nil, err
			}
			if raw.Sequence != next {
				return nil, fmt.Errorf("%w: got sequence %d, want %d", ErrRangeUnavailable, raw.Sequence, next)
			}
			out = append(out, raw)
			next++
			if next > toSeq {
				break
			}
		}
		if err := msgs.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, fmt.Errorf("leaf: fetch range: %w", err)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("leaf: fetch range: %w", ctx.Err())
		}
	}
	return out, nil
}

func rawMsg(m jetstream.Msg) (*jetstream.RawStreamMsg, error) {
	md, err := m.Metadata()
	if err != nil {
		return nil, fmt.Errorf("leaf: fetch range metadata: %w", err)
	}
	return &jetstream.RawStreamMsg{
		Subject: m.Subject(), Sequence: md.Sequence.Stream, Header: m.Headers(), Data: m.Data(), Time: md.Timestamp,
	}, nil
}

// fetchWait bounds one Fetch by the time left in ctx (at most 5 s).
func fetchWait(ctx context.Context) jetstream.FetchOpt {
	wait := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, max(time.Until(dl), 10*time.Millisecond))
	}
	return jetstream.FetchMaxWait(wait)
}

func (l *Leaf) hubStream(ctx context.Context) (jetstream.Stream, error) {
	js, err := l.hub()
	if err != nil {
		return nil, err
	}
	var stream jetstream.Stream
	err = retryUnreachable(ctx, func(ctx context.Context) error {
		stream, err = js.Stream(ctx, StreamName)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("leaf: hub stream %s: %w", StreamName, err)
	}
	return stream, nil
}
