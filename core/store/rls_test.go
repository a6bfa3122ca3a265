package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/test/pgtest"
)

type matrixTenant struct {
	id       store.TenantID
	slug     string
	accounts []store.AccountID
	org      store.OrgID
	role     store.RoleID
}

// seedMatrix creates 3 tenants with 3 accounts each (and an org, a role,
// bindings and an iam_authorization_enabled flag at 10, 20, 30 %) through
// the service role.
func seedMatrix(t *testing.T, s *store.Store) []matrixTenant {
	t.Helper()
	ctx := context.Background()
	actor := store.Actor{ID: "test"}
	out := make([]matrixTenant, 3)
	for i := range out {
		mt := &out[i]
		mt.slug = fmt.Sprintf("tenant-%d", i)
		err := s.Global(ctx, func(tx *store.Tx) error {
			tn, err := tx.CreateTenant(ctx, actor, mt.slug, mt.slug)
			mt.id = tn.ID
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		err = s.InTenantSlug(ctx, mt.slug, func(tx *store.Tx) error {
			o, err := tx.CreateOrganization(ctx, actor, "root", nil)
			if err != nil {
				return err
			}
			mt.org = o.ID
			r, err := tx.CreateRole(ctx, actor, "editor", []string{"news.edit"})
			if err != nil {
				return err
			}
			mt.role = r.ID
			if _, err := tx.SetFlag(ctx, actor, store.FlagAuthorization, true, 10*(i+1), nil); err != nil {
				return err
			}
			for j := range 3 {
				a, err := tx.CreateAccount(ctx, actor, fmt.Sprintf("user%d", j), fmt.Sprintf("u%d@t%d.example", j, i), "")
				if err != nil {
					return err
				}
				mt.accounts = append(mt.accounts, a.ID)
				if _, err := tx.CreateBinding(ctx, actor, a.ID, r.ID, o.ID); err != nil {
					return err
				}
				if err := seedDevice(ctx, tx, actor, a.ID, i*3+j); err != nil {
					return err
				}
			}
			return seedTenantCA(ctx, tx, actor)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// asServiceRole runs fn in a raw transaction of the service role, scoped to tenant.
func asServiceRole(t *testing.T, s *store.Store, tenant store.TenantID, fn func(pgx.Tx) error) error {
	t.Helper()
	ctx := context.Background()
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SELECT set_config('iam.tenant_id', $1, true)", tenant.String()); err != nil {
		t.Fatal(err)
	}
	return fn(tx)
}

var tenantTables = []string{"outbox_order", "organizations", "accounts", "permissions", "roles", "role_permissions", "recovery_codes", "mfa_tickets", "refresh_tokens", "signing_keys",
	"role_bindings", "sessions", "devices", "idempotency_keys", "outbox", "audit_events", "feature_flags",
	"tenant_cas", "device_nonces"}

func TestRLSMatrixNoCrossTenantReadOrWrite(t *testing.T) {
	db := pgtest.New(t)
	s := db.Open(t)
	m := seedMatrix(t, s)
	admin := db.AdminConn(t)
	ctx := context.Background()
	for _, viewer := range m {
		for _, owner := range m {
			t.Run(viewer.slug+" reads "+owner.slug, func(t *testing.T) {
				for _, table := range tenantTables {
					var visible, actual int
					err := asServiceRole(t, s, viewer.id, func(tx pgx.Tx) error {
						return tx.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE tenant_id = $1`, owner.id.UUID).Scan(&visible)
					})
					if err != nil {
						t.Fatal(err)
					}
					if err := admin.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE tenant_id = $1`, owner.id.UUID).Scan(&actual); err != nil {
						t.Fatal(err)
					}
					want := 0
					if viewer.id == owner.id {
						want = actual
					}
					if visible != want {
						t.Errorf("%s: %s sees %d rows of %s, want %d (of %d)", table, viewer.slug, visible, owner.slug, want, actual)
					}
				}
				for _, acc := range owner.accounts {
					err := s.InTenantSlug(ctx, viewer.slug, func(tx *store.Tx) error {
						_, err := tx.GetAccount(ctx, acc)
						return err
					})
					if viewer.id == owner.id && err != nil {
						t.Errorf("own account %s: %v", acc, err)
					}
					if viewer.id != owner.id && !errors.Is(err, store.ErrNotFound) {
						t.Errorf("foreign account %s visible: err=%v", acc, err)
					}
				}
			})
			if viewer.id == owner.id {
				continue
			}
			t.Run(viewer.slug+" writes "+owner.slug, func(t *testing.T) {
				assertCrossTenantWritesFail(t, s, viewer, owner)
			})
		}
	}
	// Nothing changed in any tenant.
	for _, mt := range m {
		var n int
		_ = admin.QueryRow(ctx, `SELECT count(*) FROM accounts WHERE tenant_id = $1 AND status = 'active'`, mt.id.UUID).Scan(&n)
		if n != 3 {
			t.Errorf("tenant %s has %d active accounts after the matrix, want 3", mt.slug, n)
		}
	}
}

func assertCrossTenantWritesFail(t *testing.T, s *store.Store, viewer, owner matrixTenant) {
	ctx := context.Background()
	// INSERT with the other tenant's id violates the policy's WITH CHECK.
	err := asServiceRole(t, s, viewer.id, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO accounts (tenant_id, id, username, email) VALUES ($1, gen_random_uuid(), 'intruder', 'i@x.org')`, owner.id.UUID)
		return err
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("cross-tenant insert: err=%v, want RLS violation 42501", err)
	}
	// UPDATE and DELETE of the other tenant's rows touch nothing.
	for _, sql := range []string{
		`UPDATE accounts SET status = 'disabled' WHERE id = $1`,
		`DELETE FROM role_bindings WHERE account_id = $1`,
		`DELETE FROM accounts WHERE id = $1`,
	} {
		err := asServiceRole(t, s, viewer.id, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, sql, owner.accounts[0].UUID)
			if err == nil && tag.RowsAffected() != 0 {
				return fmt.Errorf("affected %d rows", tag.RowsAffected())
			}
			if err == nil {
				return tx.Commit(ctx)
			}
			return err
		})
		if err != nil {
			t.Errorf("%s across tenants: %v", sql, err)
		}
	}
	// Binding another tenant's role through the store fails with a typed error.
	err = s.InTenantSlug(ctx, viewer.slug, func(tx *store.Tx) error {
		_, err := tx.CreateBinding(ctx, store.Actor{ID: "test"}, viewer.accounts[0], owner.role, viewer.org)
		return err
	})
	if !errors.Is(err, store.ErrBindingRole) {
		t.Errorf("binding a foreign role: err=%v, want ErrBindingRole", err)
	}
}

func TestNoTenantSetSeesNothing(t *testing.T) {
	db := pgtest.New(t)
	s := db.Open(t)
	seedMatrix(t, s)
	ctx := context.Background()
	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, table := range tenantTables {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s: %d rows visible without a tenant", table, n)
		}
	}
}

func TestAuditEventsAreAppendOnly(t *testing.T) {
	db := pgtest.New(t)
	s := db.Open(t)
	m := seedMatrix(t, s)
	ctx := context.Background()
	attempts := []string{
		`UPDATE audit_events SET action = 'tampered.event'`,
		`DELETE FROM audit_events`,
		`TRUNCATE audit_events`,
	}
	for _, sql := range attempts {
		t.Run("service role: "+sql, func(t *testing.T) {
			err := asServiceRole(t, s, m[0].id, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, sql)
				return err
			})
			if err == nil {
				t.Fatal("succeeded; audit_events must be append-only")
			}
		})
		t.Run("table owner: "+sql, func(t *testing.T) {
			conn := db.AdminConn(t)
			if _, err := conn.Exec(ctx, sql); err == nil {
				t.Fatal("succeeded even for the owner; the trigger must refuse")
			}
		})
	}
	// Partitions cannot be reached directly by the service role either.
	conn := db.AdminConn(t)
	var part string
	if err := conn.QueryRow(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'audit_events'::regclass ORDER BY c.relname LIMIT 1`).Scan(&part); err != nil {
		t.Fatal(err)
	}
	err := asServiceRole(t, s, m[0].id, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM `+part)
		return err
	})
	if err == nil {
		t.Fatalf("service role deleted from partition %s", part)
	}
	var n int
	_ = conn.QueryRow(ctx, `SELECT count(*) FROM audit_events`).Scan(&n)
	if n == 0 {
		t.Fatal("audit rows vanished")
	}
}

// seedDevice enrolls a device (placeholder key and serial) for account
// and stores an enrollment nonce and a renewal nonce.
func seedDevice(ctx context.Context, tx *store.Tx, actor store.Actor, account store.AccountID, n int) error {
	key := bytes.Repeat([]byte{byte(n + 1)}, 32)
	d, err := tx.CreateDevice(ctx, actor, store.NewDevice{ID: store.NewDeviceID(), Account: account, Name: "phone",
		PublicKey: key, CertSerial: fmt.Sprintf("%032x", n+1), NotAfter: time.Now().Add(time.Hour)})
	if err != nil {
		return err
	}
	if err := tx.CreateEnrollNonce(ctx, account, key, time.Now().Add(time.Minute)); err != nil {
		return err
	}
	return tx.UseRequestNonce(ctx, d.ID, store.NonceRenew, append(key, 1), time.Now().Add(time.Minute))
}

// seedTenantCA stores a placeholder CA generation (the store does not
// parse certificates).
func seedTenantCA(ctx context.Context, tx *store.Tx, actor store.Actor) error {
	if err := tx.LockTenantCA(ctx); err != nil {
		return err
	}
	_, err := tx.AddTenantCA(ctx, actor, "tenant_ca.create", store.TenantCA{RootCert: []byte("root"), RootKeySealed: []byte("k"),
		RootKEKID: "kek", IssuingCert: []byte("issuing"), IssuingKeySealed: []byte("k"), KEKID: "kek", NotAfter: time.Now().Add(time.Hour)})
	return err
}
