package relay

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/iam/syncproto"
)

// CheckpointSubjectPrefix is the plain NATS subject prefix of checkpoints;
// the tenant id follows (docs/deltas.md).
const CheckpointSubjectPrefix = "iam.checkpoint."

// publishCheckpoints signs and publishes one checkpoint per tenant with a
// chain. A tenant that fails is logged and skipped; the others still go.
func (l *leader) publishCheckpoints(ctx context.Context) error {
	nc := l.r.cfg.Hub.Conn()
	if nc == nil {
		return fmt.Errorf("relay: checkpoints: hub not running")
	}
	rows, err := l.r.pool.Query(ctx, `SELECT t FROM iam_relay_chain_tenants() AS t`)
	if err != nil {
		return fmt.Errorf("relay: checkpoint tenants: %w", err)
	}
	tenants, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("relay: checkpoint tenants: %w", err)
	}
	for _, tenant := range tenants {
		if err := l.checkpoint(ctx, tenant); err != nil {
			l.r.cfg.Logger.ErrorContext(ctx, "relay checkpoint failed", slog.String("tenant", tenant), slog.String("error", err.Error()))
		}
	}
	return nil
}

func (l *leader) checkpoint(ctx context.Context, tenant string) error {
	tc, err := l.chainFor(ctx, tenant, false)
	if err != nil {
		return err
	}
	msg, err := tc.chain.Checkpoint(syncproto.Envelope{ID: uuid.NewString(), Source: Source, Subject: tenant}, l.r.cfg.Now())
	if err != nil {
		return err
	}
	if err := l.r.cfg.Hub.Conn().Publish(CheckpointSubjectPrefix+tenant, msg); err != nil {
		return err
	}
	l.r.m.checkpoints.Inc()
	return nil
}
