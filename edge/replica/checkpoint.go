package replica

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/melmastoon/iam/syncproto"
)

// Never is the staleness of a tenant that has no signed time yet (or is
// unknown): infinitely stale.
const Never = time.Duration(math.MaxInt64)

// AcceptCheckpoint verifies a signed checkpoint of tenant (from the plain
// NATS subject iam.checkpoint.<tenant>) against the tenant's chain and
// records its time as last_checkpoint_at, with the verifier state, in one
// transaction. The newest checkpoint again is accepted silently. It returns
// a *RejectError (counted in checkpoint_rejected_total) for an unknown
// tenant, a bad signature, a stale or rolled-back checkpoint, a checkpoint
// ahead of the applied sequence (ErrGap: the replica is behind) or one whose
// hash contradicts the applied chain.
func (r *Replica) AcceptCheckpoint(ctx context.Context, tenant string, msg []byte) error {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	if err := r.checkOpen(); err != nil {
		return err
	}
	now := r.cfg.Now()
	ch := r.chain(tenant)
	if ch == nil {
		return r.checkpointRejected(ctx, tenant, fmt.Errorf("%w: %s", ErrUnknownTenant, tenant))
	}
	env, err := ch.verifier.Verify(msg, now)
	if errors.Is(err, syncproto.ErrDuplicate) {
		return nil
	}
	if err == nil && env.Type != syncproto.TypeCheckpoint {
		err = fmt.Errorf("%w: %s is not a checkpoint", ErrUnknownType, env.Type)
	}
	var st syncproto.VerifierState
	if err == nil {
		st, err = ch.verifier.StateAfter(env, now)
	}
	if err != nil {
		return r.checkpointRejected(ctx, tenant, err)
	}
	if err := r.inTx(ctx, func(tx *txExec) error { return saveChain(tx, tenant, ch.anchor, st, ch.deleted) }); err != nil {
		return err
	}
	if err := ch.verifier.Accept(env, now); err != nil {
		r.log.ErrorContext(ctx, "replica checkpoint accept failed after commit", "tenant", tenant, "error", err)
	}
	r.metrics.cpAccepted.Inc()
	return nil
}

func (r *Replica) checkpointRejected(ctx context.Context, tenant string, err error) error {
	re := reject(tenant, 0, err)
	r.metrics.cpRejected.WithLabelValues(re.Reason).Inc()
	r.log.WarnContext(ctx, "replica rejected checkpoint", "reason", re.Reason, "tenant", tenant, "error", err)
	return re
}

// Staleness returns how old the tenant's newest signed time is (its newest
// accepted checkpoint, or its snapshot's time): Never for an unknown tenant
// or one without any signed time, never negative.
func (r *Replica) Staleness(tenant string) time.Duration {
	ch := r.chain(tenant)
	if ch == nil {
		return Never
	}
	return r.staleness(ch, r.cfg.Now())
}

func (r *Replica) staleness(ch *tenantChain, now time.Time) time.Duration {
	cp := ch.verifier.State().CheckpointTime
	if cp == 0 {
		return Never
	}
	return max(now.Sub(time.UnixMilli(cp)), 0)
}

// MaxStaleness is the largest Staleness over the tenants the replica
// follows, leaving out deleted tenants (core stops checkpointing them);
// 0 when there are none.
func (r *Replica) MaxStaleness() time.Duration {
	r.mu.RLock()
	chains := make([]*tenantChain, 0, len(r.chains))
	for _, ch := range r.chains {
		if !ch.deleted {
			chains = append(chains, ch)
		}
	}
	r.mu.RUnlock()
	now := r.cfg.Now()
	var worst time.Duration
	for _, ch := range chains {
		worst = max(worst, r.staleness(ch, now))
	}
	return worst
}
