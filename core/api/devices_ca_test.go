package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/melmastoon/iam/core/ca"
	"github.com/melmastoon/iam/core/devices"
)

// The issuing certificate is rotated by core's maintenance before it
// expires, under the same root, and the remaining lifetime is exported.
func TestIssuingCertificateRotatesBeforeItExpires(t *testing.T) {
	f := newDevices(t)
	ctx := context.Background()
	svc := f.c.Core.Devices()
	if _, err := svc.EnsureCAs(ctx); err != nil {
		t.Fatal(err)
	}
	// The clock jumps two years: audit partitions must exist that far out.
	if _, err := f.c.DB.AdminConn(t).Exec(ctx, `SELECT iam_ensure_audit_partitions(30)`); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, f.c, `SELECT count(*) FROM tenant_cas WHERE state = 'active'`); n != 1 {
		t.Fatalf("active generations = %d", n)
	}
	// Just outside the renewal window: nothing happens.
	f.clock.Set(ca.DefaultIssuingValidity - devices.IssuingRenewBefore - 24*time.Hour)
	if _, err := svc.EnsureCAs(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, f.c, `SELECT count(*) FROM tenant_cas`); n != 1 {
		t.Fatalf("rotated too early: %d generations", n)
	}
	// Inside it: a new issuing generation under the same root, published.
	f.clock.Set(ca.DefaultIssuingValidity - devices.IssuingRenewBefore + 24*time.Hour)
	if _, err := svc.EnsureCAs(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, f.c, `SELECT count(*) FROM tenant_cas WHERE state = 'active'`); n != 2 {
		t.Fatalf("active generations after the automatic rotation = %d, want 2", n)
	}
	if n := countRows(t, f.c, `SELECT count(DISTINCT root_cert) FROM tenant_cas`); n != 1 {
		t.Fatalf("the automatic rotation changed the root (%d roots)", n)
	}
	if n := countRows(t, f.c, `SELECT count(*) FROM audit_events WHERE action = 'tenant_ca.rotate'`); n != 1 {
		t.Fatalf("tenant_ca.rotate audit rows = %d", n)
	}
	metrics := f.c.Get("/metrics")
	if !strings.Contains(string(metrics.Body), `tenant_ca_remaining_seconds{kind="issuing"}`) {
		t.Fatal("no tenant_ca_remaining_seconds gauge")
	}
}
