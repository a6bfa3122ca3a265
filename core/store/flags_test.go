package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/test/pgtest"
)

func setFlag(t *testing.T, s *store.Store, tenant store.TenantID, name string, enabled bool, pct int, ifMatch *int64) (store.Flag, error) {
	t.Helper()
	var f store.Flag
	err := s.InTenant(context.Background(), tenant, func(tx *store.Tx) (err error) {
		f, err = tx.SetFlag(context.Background(), store.Actor{ID: "admin-1", TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
			name, enabled, pct, ifMatch)
		return err
	})
	return f, err
}

func TestSetFlagVersionsAuditsAndEmitsOnce(t *testing.T) {
	db := pgtest.New(t)
	s := db.Open(t)
	m := seedMatrix(t, s)
	ctx := context.Background()
	admin := db.AdminConn(t)
	tenant := m[0].id
	counts := func() (audits, outbox int) {
		t.Helper()
		if err := admin.QueryRow(ctx, `SELECT (SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND action = 'feature_flag.set'),
			(SELECT count(*) FROM outbox WHERE tenant_id = $1 AND type = 'melmastoon.iam.feature_flag.set.v1')`, tenant.UUID).Scan(&audits, &outbox); err != nil {
			t.Fatal(err)
		}
		return audits, outbox
	}
	a0, o0 := counts()

	// Unset: the default rule, version 0.
	var got store.Flag
	if err := s.InTenant(ctx, tenant, func(tx *store.Tx) (err error) {
		got, err = tx.GetFlag(ctx, store.FlagAuthentication)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got != store.DefaultFlag(store.FlagAuthentication) || got.IsSet() || !got.Enabled || got.RolloutPercent != 100 {
		t.Fatalf("unset flag = %+v, want the default rule", got)
	}

	f1, err := setFlag(t, s, tenant, store.FlagAuthentication, true, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f1.Version != 1 || !f1.Enabled || f1.RolloutPercent != 0 || f1.UpdatedBy != "admin-1" || f1.UpdatedAt == nil {
		t.Fatalf("first set = %+v", f1)
	}
	f2, err := setFlag(t, s, tenant, store.FlagAuthentication, false, 50, &f1.Version)
	if err != nil {
		t.Fatal(err)
	}
	if f2.Version != 2 || f2.Enabled || f2.RolloutPercent != 50 {
		t.Fatalf("second set = %+v", f2)
	}
	if a, o := counts(); a != a0+2 || o != o0+2 {
		t.Fatalf("audit rows +%d, outbox rows +%d; want +2, +2", a-a0, o-o0)
	}

	// The latest audit row names the old and the new rule; the outbox row
	// carries the replicated payload with the flag name as subject.
	var details, data []byte
	var actor, target, subject, tp string
	if err := admin.QueryRow(ctx, `SELECT details::text, actor, target_id, traceparent FROM audit_events
		WHERE tenant_id = $1 AND action = 'feature_flag.set' ORDER BY occurred_at DESC, id LIMIT 1`, tenant.UUID).Scan(&details, &actor, &target, &tp); err != nil {
		t.Fatal(err)
	}
	var d struct{ Old, New map[string]any }
	if err := json.Unmarshal(details, &d); err != nil {
		t.Fatal(err)
	}
	if actor != "admin-1" || target != store.FlagAuthentication || tp == "" ||
		d.Old["enabled"] != true || d.Old["rollout_percent"] != float64(0) || d.Old["version"] != float64(1) ||
		d.New["enabled"] != false || d.New["rollout_percent"] != float64(50) || d.New["version"] != float64(2) {
		t.Fatalf("audit row: actor %q target %q details %s", actor, target, details)
	}
	if err := admin.QueryRow(ctx, `SELECT subject, data::text FROM outbox WHERE tenant_id = $1 AND type = 'melmastoon.iam.feature_flag.set.v1'
		ORDER BY id DESC LIMIT 1`, tenant.UUID).Scan(&subject, &data); err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	if subject != store.FlagAuthentication || ev["name"] != store.FlagAuthentication || ev["enabled"] != false ||
		ev["rollout_percent"] != float64(50) || ev["version"] != float64(2) || ev["updated_at"] == nil {
		t.Fatalf("outbox row: subject %q data %s", subject, data)
	}
	// The first set's audit row records the default it replaced.
	var firstOld []byte
	if err := admin.QueryRow(ctx, `SELECT details->'old' FROM audit_events WHERE tenant_id = $1 AND action = 'feature_flag.set'
		ORDER BY occurred_at, id LIMIT 1`, tenant.UUID).Scan(&firstOld); err != nil {
		t.Fatal(err)
	}
	if string(firstOld) != `{"set": false, "enabled": true, "version": 0, "rollout_percent": 100}` {
		t.Fatalf("first audit old = %s", firstOld)
	}

	// A rolled-back transaction leaves neither the row nor audit nor outbox.
	boom := errors.New("boom")
	err = s.InTenant(ctx, tenant, func(tx *store.Tx) error {
		if _, err := tx.SetFlag(ctx, store.Actor{ID: "x"}, store.FlagAuthorization, false, 0, nil); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if a, o := counts(); a != a0+2 || o != o0+2 {
		t.Fatalf("rolled back set left audit +%d, outbox +%d", a-a0, o-o0)
	}

	// Preconditions and validation change nothing.
	stale := int64(1)
	zero := int64(0)
	for name, tc := range map[string]struct {
		flag    string
		pct     int
		ifMatch *int64
		want    error
	}{
		"stale if-match":  {store.FlagAuthentication, 10, &stale, store.ErrVersionMismatch},
		"already set":     {store.FlagAuthentication, 10, &zero, store.ErrVersionMismatch},
		"unknown flag":    {"iam_everything_enabled", 10, nil, store.ErrFlagUnknown},
		"percent too big": {store.FlagAuthorization, 101, nil, nil},
		"negative":        {store.FlagAuthorization, -1, nil, nil},
	} {
		_, err := setFlag(t, s, tenant, tc.flag, true, tc.pct, tc.ifMatch)
		var fe *store.FieldError
		switch {
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		case tc.want == nil && (!errors.As(err, &fe) || fe.Field != "rollout_percent"):
			t.Errorf("%s: err = %v, want a FieldError on rollout_percent", name, err)
		}
	}
	if !errors.Is(store.ErrFlagUnknown, store.ErrNotFound) {
		t.Error("ErrFlagUnknown is not an ErrNotFound")
	}
	if a, o := counts(); a != a0+2 || o != o0+2 {
		t.Fatalf("refused sets wrote audit +%d, outbox +%d", a-a0, o-o0)
	}
	// If-Match "0" works while unset.
	if f, err := setFlag(t, s, tenant, store.FlagPermissionCaching, false, 100, &zero); err != nil || f.Version != 1 {
		t.Fatalf("set with if-match 0 while unset = %+v, %v", f, err)
	}

	var list []store.Flag
	if err := s.InTenant(ctx, tenant, func(tx *store.Tx) (err error) { list, err = tx.ListFlags(ctx); return err }); err != nil {
		t.Fatal(err)
	}
	// seedMatrix set iam_authorization_enabled; the failed set above did not.
	if len(list) != 3 || list[0].Name != store.FlagAuthentication || list[1].Name != store.FlagAuthorization ||
		list[1].Version != 1 || list[2].Name != store.FlagPermissionCaching {
		t.Fatalf("ListFlags = %+v", list)
	}
}

// Concurrent sets of one flag are serialised: versions 1..n, each audit row
// names the version it replaced.
func TestSetFlagConcurrentIsSerialised(t *testing.T) {
	db := pgtest.New(t)
	s := db.Open(t)
	m := seedMatrix(t, s)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = setFlag(t, s, m[1].id, store.FlagAuthentication, true, i*10, nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("set %d: %v", i, err)
		}
	}
	ctx := context.Background()
	var versions, distinctOld int
	if err := db.AdminConn(t).QueryRow(ctx, `SELECT (SELECT version FROM feature_flags WHERE tenant_id = $1 AND name = $2),
		(SELECT count(DISTINCT details->'old'->>'version') FROM audit_events WHERE tenant_id = $1 AND target_id = $2)`,
		m[1].id.UUID, store.FlagAuthentication).Scan(&versions, &distinctOld); err != nil {
		t.Fatal(err)
	}
	if versions != n || distinctOld != n {
		t.Fatalf("version %d, distinct old versions in audit %d; want %d, %d", versions, distinctOld, n, n)
	}
}

func TestFlagsAreTenantIsolated(t *testing.T) {
	db := pgtest.New(t)
	s := db.Open(t)
	m := seedMatrix(t, s) // seeds a flag per tenant
	ctx := context.Background()
	if _, err := setFlag(t, s, m[0].id, store.FlagPermissionCaching, false, 0, nil); err != nil {
		t.Fatal(err)
	}
	// Another tenant sees only its own rows, through the store and raw SQL.
	var list []store.Flag
	if err := s.InTenant(ctx, m[1].id, func(tx *store.Tx) (err error) { list, err = tx.ListFlags(ctx); return err }); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != store.FlagAuthorization || list[0].RolloutPercent != 20 {
		t.Fatalf("tenant 1 lists %+v", list)
	}
	var n int
	if err := asServiceRole(t, s, m[1].id, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM feature_flags WHERE tenant_id = $1`, m[0].id.UUID).Scan(&n)
	}); err != nil || n != 0 {
		t.Fatalf("tenant 1 sees %d flag rows of tenant 0 (err %v)", n, err)
	}
	// Writing another tenant's flag fails (insert) or touches nothing (update).
	err := asServiceRole(t, s, m[1].id, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO feature_flags (tenant_id, name, enabled, rollout_percent) VALUES ($1, $2, false, 0)`,
			m[0].id.UUID, store.FlagAuthentication)
		return err
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Fatalf("cross-tenant flag insert: err=%v, want RLS violation 42501", err)
	}
	err = asServiceRole(t, s, m[1].id, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE feature_flags SET enabled = true, rollout_percent = 100 WHERE tenant_id = $1`, m[0].id.UUID)
		if err == nil && tag.RowsAffected() != 0 {
			t.Errorf("cross-tenant update touched %d rows", tag.RowsAffected())
		}
		if err == nil {
			err = tx.Commit(ctx)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The service role cannot delete flags at all (no grant).
	err = asServiceRole(t, s, m[0].id, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM feature_flags`)
		return err
	})
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Fatalf("delete from feature_flags: err=%v, want permission denied", err)
	}
	var f store.Flag
	if err := s.InTenant(ctx, m[0].id, func(tx *store.Tx) (err error) { f, err = tx.GetFlag(ctx, store.FlagPermissionCaching); return err }); err != nil {
		t.Fatal(err)
	}
	if f.Enabled || f.RolloutPercent != 0 || f.Version != 1 {
		t.Fatalf("tenant 0 flag after foreign writes = %+v", f)
	}
}
