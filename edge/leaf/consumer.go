package leaf

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// retryPause is the pause between attempts while the hub's JetStream API
// is not reachable yet (the link is down or its interest is still
// propagating).
const retryPause = 50 * time.Millisecond

// Consumer binds the durable pull consumer durableName on the hub's stream,
// creating it when it does not exist. A new consumer starts at startSeq
// (DeliverByStartSequence) when startSeq > 0, else at the first stored
// delta; an existing one keeps its own position (its acks) and startSeq is
// ignored. It acks explicitly and has at most Config.MaxAckPending deltas
// unacknowledged.
//
// While the hub is unreachable, Consumer retries until ctx ends.
func (l *Leaf) Consumer(ctx context.Context, durableName string, startSeq uint64) (jetstream.Consumer, error) {
	js, err := l.hub()
	if err != nil {
		return nil, err
	}
	var cons jetstream.Consumer
	err = retryUnreachable(ctx, func(ctx context.Context) error {
		cons, err = js.Consumer(ctx, StreamName, durableName)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			cons, err = js.CreateConsumer(ctx, StreamName, l.consumerConfig(durableName, startSeq))
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("leaf: consumer %s: %w", durableName, err)
	}
	return cons, nil
}

func (l *Leaf) consumerConfig(durable string, startSeq uint64) jetstream.ConsumerConfig {
	cfg := jetstream.ConsumerConfig{
		Durable:           durable,
		Description:       "edge delta cursor on " + l.cfg.LocalDomain,
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		AckPolicy:         jetstream.AckExplicitPolicy,
		AckWait:           l.cfg.AckWait,
		MaxAckPending:     l.cfg.MaxAckPending,
		InactiveThreshold: l.cfg.ConsumerInactiveThreshold,
	}
	if startSeq > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = startSeq
	}
	return cfg
}

// retryUnreachable runs fn until it succeeds, fails for a reason other
// than an unreachable API, or ctx ends.
func retryUnreachable(ctx context.Context, fn func(context.Context) error) error {
	for {
		err := fn(ctx)
		if err == nil || !unreachable(err) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(retryPause):
		}
	}
}

// unreachable reports an error that a working link would not produce.
// Right after the link comes up the hub's domain can answer "jetstream not
// enabled" for a moment, until the link's subject interest has settled.
func unreachable(err error) bool {
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeJetStreamNotEnabled ||
		apiErr.ErrorCode == jetstream.JSErrCodeJetStreamNotEnabledForAccount)
}
