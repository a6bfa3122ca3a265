package replica

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkApply measures verified deltas applied per second, one per
// SQLite transaction (synchronous=NORMAL). Signing happens before the timer.
func BenchmarkApply(b *testing.B) {
	w := newWorld(b)
	e := openEnv(b, w, "")
	p := w.tenant(b, tenantA)
	e.mustApply(b, p.rotate(b), p.delta(b, TypeTenantCreated, tenantData(tenantA, "A")))
	msgs := make([]Message, b.N)
	for i := range msgs {
		msgs[i] = p.delta(b, TypeAccountCreated, accountData(uid("bench"+itoa(i)), "active"))
	}
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for _, m := range msgs {
		if _, err := e.Apply(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deltas/s")
}

// BenchmarkSnapshotLoad bulk-loads a generated tenant: 100,000 accounts
// with 10 bindings each (1.1 M records); with REPLICA_BENCH_1M=1 also
// 1,000,000 accounts (11 M records). Run with -benchtime=1x.
func BenchmarkSnapshotLoad(b *testing.B) {
	sizes := []int{100_000}
	if os.Getenv("REPLICA_BENCH_1M") != "" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		b.Run("accounts="+itoa(n), func(b *testing.B) { benchSnapshot(b, n) })
	}
}

func benchSnapshot(b *testing.B, accounts int) {
	w := newWorld(b)
	p := w.tenant(b, tenantA)
	p.rotate(b)
	genStart := time.Now()
	records, _ := generatedTenant(b, tenantA, accounts, 10)
	chunks := p.snapshotChunks(b, records, 10_000)
	b.Logf("generated %d records in %d chunks in %v", len(records), len(chunks), time.Since(genStart))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		e := openEnv(b, w, filepath.Join(dir, "replica.db"))
		b.StartTimer()
		start := time.Now()
		if err := e.LoadSnapshot(context.Background(), chunks, p.cert, 1); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		e.Close()
		size := fileSize(b, filepath.Join(dir, "replica.db")) + fileSize(b, filepath.Join(dir, "replica.db-wal"))
		b.ReportMetric(elapsed.Seconds(), "s/load")
		b.ReportMetric(float64(len(records))/elapsed.Seconds(), "records/s")
		b.ReportMetric(float64(size)/(1<<20), "MiB")
		b.StartTimer()
	}
}

func fileSize(b *testing.B, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
