package store_test

import (
	"context"
	"testing"

	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/test/pgtest"
)

// T1 starts first (it has a transaction id before T2) but commits after
// T2; both update the same account. The relay's order must be commit
// order, so the edge ends on T1's version — not the transaction-id order
// that would put T2's older version last.
func TestOutboxOrderIsCommitOrderNotStartOrder(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	s := db.Open(t)
	actor := store.Actor{ID: "test"}
	var acc store.AccountID
	var tenant store.TenantID
	if err := s.Global(ctx, func(tx *store.Tx) error {
		tn, err := tx.CreateTenant(ctx, actor, "acme", "Acme")
		tenant = tn.ID
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.InTenant(ctx, tenant, func(tx *store.Tx) error {
		a, err := tx.CreateAccount(ctx, actor, "x", "x@acme.example", "")
		acc = a.ID
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t1Started, t2Done, t1Done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		t1Done <- s.InTenant(ctx, tenant, func(tx *store.Tx) error {
			// A first write gives T1 its transaction id before T2 starts.
			if err := tx.Audit(ctx, actor, store.AuditEvent{Action: "test.begin", TargetType: "t", TargetID: "1"}); err != nil {
				return err
			}
			close(t1Started)
			<-t2Done
			disabled := store.AccountDisabled
			_, err := tx.UpdateAccount(ctx, actor, acc, store.AccountChanges{Status: &disabled}, 0)
			return err
		})
	}()
	<-t1Started
	locked := store.AccountLocked
	if err := s.InTenant(ctx, tenant, func(tx *store.Tx) error {
		_, err := tx.UpdateAccount(ctx, actor, acc, store.AccountChanges{Status: &locked}, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	close(t2Done)
	if err := <-t1Done; err != nil {
		t.Fatal(err)
	}
	rows, err := db.AdminConn(t).Query(ctx, `SELECT data::jsonb->>'status' FROM iam_relay_pending(100)
		WHERE type = 'melmastoon.iam.account.updated.v1'`)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for rows.Next() {
		var st string
		if err := rows.Scan(&st); err != nil {
			t.Fatal(err)
		}
		order = append(order, st)
	}
	if len(order) != 2 || order[0] != "locked" || order[1] != "disabled" {
		t.Fatalf("relay order of the two updates = %v; want [locked disabled] (commit order)", order)
	}
}
