package relay_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// BenchmarkCommitToPublished measures, one write at a time, the time from
// a store transaction's commit (InTenantSlug returning) to the delta being
// delivered by the hub to a subscriber of the stream's subjects: LISTEN/
// NOTIFY wake-up, fetch, sign, publish with ack, mark. Reports p50/p99.
func BenchmarkCommitToPublished(b *testing.B) {
	e := newEnv(b)
	e.createTenant("bench")
	e.startRelay(e.config())
	e.waitAllPublished(10 * time.Second)
	ch := make(chan *nats.Msg, 1024)
	sub, err := e.hub.Conn().ChanSubscribe("melmastoon.iam.>", ch)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		if err := e.createAccounts("bench", i, 1); err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		select {
		case <-ch:
			lat = append(lat, time.Since(committed))
		case <-time.After(10 * time.Second):
			b.Fatal("delta not published within 10 s")
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

// BenchmarkDrainRate measures how fast the relay drains a backlog: rows
// are inserted with the relay stopped (4 tenants, one transaction per
// tenant), then the relay publishes them all. Reports deltas per second
// for several batch sizes.
func BenchmarkDrainRate(b *testing.B) {
	for _, batch := range []int{1, 32, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			const perTenant = 2500
			e := newEnv(b)
			slugs := []string{"d-one", "d-two", "d-three", "d-four"}
			for _, s := range slugs {
				e.createTenant(s)
			}
			var total time.Duration
			rows := 0
			for range b.N {
				for _, s := range slugs {
					e.bulkOutbox(s, perTenant)
				}
				cfg := e.config()
				cfg.BatchSize = batch
				start := time.Now()
				r := e.startRelay(cfg)
				e.waitAllPublished(120 * time.Second)
				total += time.Since(start)
				rows += len(slugs) * perTenant
				r.stop(b)
			}
			b.ReportMetric(float64(rows)/total.Seconds(), "deltas/s")
		})
	}
}

// bulkOutbox inserts n outbox rows for the tenant in one transaction.
func (e *env) bulkOutbox(slug string, n int) {
	e.t.Helper()
	ctx := context.Background()
	tx, err := e.store.Pool().Begin(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, `SELECT set_config('iam.tenant_id', id::text, true) FROM tenants WHERE slug = $1`, slug)
	if err != nil {
		e.t.Fatal(err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO outbox (tenant_id, event_id, type, subject, data)
		SELECT iam_current_tenant(), gen_random_uuid(), 'melmastoon.iam.account.updated.v1', g::text,
		       jsonb_build_object('id', gen_random_uuid()::text, 'status', 'active', 'version', g)
		  FROM generate_series(1, $1) g`, n)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		e.t.Fatal(err)
	}
}
