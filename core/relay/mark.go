package relay

import (
	"context"
	"fmt"

	"time"

	"github.com/jackc/pgx/v5"
)

// markPublished records published deltas in one transaction: per tenant
// (RLS scope switched in between) it marks the outbox rows and advances
// delta_chains to the tenant's last delta. All statements go in one
// pipelined batch. Rows already marked (by a previous leader) and chains
// already further are left alone.
func (r *Relay) markPublished(ctx context.Context, done []publishedDelta) error {
	if len(done) == 0 {
		return nil
	}
	now := r.cfg.Now()
	b := &pgx.Batch{}
	for _, group := range groupByTenant(done) {
		queueTenantMarks(b, group, now)
	}
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("relay: mark published: %w", err)
	}
	return nil
}

// groupByTenant splits done by tenant, keeping each tenant's order.
func groupByTenant(done []publishedDelta) [][]publishedDelta {
	index := map[string]int{}
	var groups [][]publishedDelta
	for _, d := range done {
		i, ok := index[d.tenant]
		if !ok {
			i = len(groups)
			index[d.tenant] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], d)
	}
	return groups
}

func queueTenantMarks(b *pgx.Batch, group []publishedDelta, now time.Time) {
	tenant := group[0].tenant
	var ids, seqs, streamSeqs []int64
	var hashes [][]byte
	for _, d := range group {
		if d.outboxID == 0 {
			continue
		}
		ids = append(ids, d.outboxID)
		seqs = append(seqs, int64(d.seq))
		hashes = append(hashes, d.hash[:])
		streamSeqs = append(streamSeqs, int64(d.streamSeq))
	}
	last := group[len(group)-1]
	b.Queue(setTenantSQL, tenant)
	if len(ids) > 0 {
		b.Queue(`UPDATE outbox o SET published_at = $2, delta_seq = u.seq, chain_hash = u.hash, stream_seq = u.sseq
			FROM unnest($3::bigint[], $4::bigint[], $5::bytea[], $6::bigint[]) AS u(id, seq, hash, sseq)
			WHERE o.tenant_id = $1 AND o.id = u.id AND o.published_at IS NULL`,
			tenant, now, ids, seqs, hashes, streamSeqs)
	}
	b.Queue(`INSERT INTO delta_chains (tenant_id, seq, head, stream_seq, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (tenant_id) DO UPDATE SET seq = EXCLUDED.seq, head = EXCLUDED.head,
		  stream_seq = EXCLUDED.stream_seq, updated_at = EXCLUDED.updated_at
		WHERE delta_chains.seq < EXCLUDED.seq`,
		tenant, int64(last.seq), last.hash[:], int64(last.streamSeq), now)
}
