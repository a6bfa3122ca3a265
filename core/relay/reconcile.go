package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/melmastoon/iam/core/hub"
	"github.com/melmastoon/iam/syncproto"
)

// errUnknownMessage marks a stream message that matches nothing known.
var errUnknownMessage = errors.New("relay: stream message matches no known delta")

// resync forgets the leader's in-memory chains and reconciles the stream
// from the last stream sequence the database records.
func (l *leader) resync(ctx context.Context) error {
	clear(l.chains)
	var from int64
	if err := l.r.pool.QueryRow(ctx, `SELECT iam_relay_last_stream_seq()`).Scan(&from); err != nil {
		return fmt.Errorf("relay: last recorded stream seq: %w", err)
	}
	return l.reconcile(ctx, uint64(from)+1)
}

// reconcile reads the stream from sequence from to its end, records every
// message that is a delta we published but did not record, and sets the
// expected last sequence to the stream's end. Messages that match nothing
// are logged at ERROR, counted and skipped.
func (l *leader) reconcile(ctx context.Context, from uint64) error {
	end, err := l.r.cfg.Hub.LastSequence(ctx)
	if err != nil {
		return fmt.Errorf("relay: stream last sequence: %w", err)
	}
	if end+1 < from {
		l.r.cfg.Logger.WarnContext(ctx, "relay stream is behind the recorded chains",
			slog.Uint64("stream_last_seq", end), slog.Uint64("recorded_stream_seq", from-1))
	}
	if end >= from {
		if err := l.readBack(ctx, from, end); err != nil {
			return err
		}
	}
	l.lastSeq = end
	l.r.m.streamSeq.Set(float64(end))
	return nil
}

func (l *leader) readBack(ctx context.Context, from, end uint64) error {
	js := l.r.cfg.Hub.JetStream()
	if js == nil {
		return fmt.Errorf("relay: reconcile: %w", hub.ErrNotStarted)
	}
	stream, err := js.Stream(ctx, hub.StreamName)
	if err != nil {
		return fmt.Errorf("relay: reconcile: %w", err)
	}
	for seq := from; seq <= end; seq++ {
		raw, err := stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // aged out of the stream
		}
		if err != nil {
			return fmt.Errorf("relay: reconcile stream seq %d: %w", seq, err)
		}
		err = l.reconcileMessage(ctx, raw)
		if errors.Is(err, errUnknownMessage) {
			l.r.m.unknownMessages.Inc()
			l.r.cfg.Logger.ErrorContext(ctx, "relay found an unknown message in the delta stream",
				slog.Uint64("stream_seq", seq), slog.String("subject", raw.Subject),
				slog.String("msg_id", raw.Header.Get(nats.MsgIdHdr)), slog.String("error", err.Error()))
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// reconcileMessage verifies one stream message as the next delta of its
// tenant chain and records it when it is a delta we published.
func (l *leader) reconcileMessage(ctx context.Context, raw *jetstream.RawStreamMsg) error {
	tenant, msgID := raw.Header.Get(HeaderTenant), raw.Header.Get(nats.MsgIdHdr)
	if !isCanonicalUUID(tenant) || msgID == "" {
		return fmt.Errorf("%w: no tenant or message id", errUnknownMessage)
	}
	tc, err := l.chainFor(ctx, tenant, false)
	if errors.Is(err, ErrUnknownTenantKeys) {
		return fmt.Errorf("%w: tenant without delta keys", errUnknownMessage)
	}
	if err != nil {
		return err
	}
	env, err := l.verifyNext(tc, raw.Data)
	if err != nil {
		return fmt.Errorf("%w: %s", errUnknownMessage, syncproto.Reason(err))
	}
	d := publishedDelta{tenant: tenant, seq: env.Seq, hash: env.Hash(), streamSeq: raw.Sequence}
	if d.outboxID, err = l.matchDelta(ctx, tenant, msgID, env); err != nil {
		return err
	}
	if err := l.r.markPublished(ctx, []publishedDelta{d}); err != nil {
		return err
	}
	delete(l.chains, tenant) // reloaded from delta_chains on next use
	l.r.m.reconciled.Inc()
	l.r.cfg.Logger.InfoContext(ctx, "relay recorded a delta found in the stream",
		slog.String("tenant", tenant), slog.Uint64("seq", env.Seq), slog.Uint64("stream_seq", raw.Sequence))
	return nil
}

// verifyNext checks msg as the delta right after the chain's head, signed
// by the tenant's keys.
func (l *leader) verifyNext(tc *tenantChain, msg []byte) (*syncproto.Envelope, error) {
	v, err := syncproto.NewVerifier(syncproto.VerifierConfig{Anchor: tc.keys.anchor(), State: tc.verifierState()})
	if err != nil {
		return nil, err
	}
	return v.Verify(msg, l.r.cfg.Now())
}

// matchDelta returns the outbox row id a verified envelope stands for (0
// for the seq-1 key rotation), or errUnknownMessage.
func (l *leader) matchDelta(ctx context.Context, tenant, msgID string, env *syncproto.Envelope) (int64, error) {
	if env.Type == syncproto.TypeKeyRotation {
		if env.Seq == 1 && msgID == keyringMsgID(tenant) && env.ID == keyringEventID(tenant) {
			return 0, nil
		}
		return 0, fmt.Errorf("%w: key rotation %s", errUnknownMessage, msgID)
	}
	if env.ID != msgID {
		return 0, fmt.Errorf("%w: message id %s is not envelope id %s", errUnknownMessage, msgID, env.ID)
	}
	var id int64
	err := l.r.inTenant(ctx, tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM outbox WHERE tenant_id = $1 AND event_id = $2::uuid
			AND published_at IS NULL AND type = $3`, tenant, msgID, env.Type).Scan(&id)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("%w: no pending outbox row %s", errUnknownMessage, msgID)
	}
	return id, err
}
