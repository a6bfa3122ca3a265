package devstack

import (
	"context"
	"errors"
	"fmt"

	"github.com/melmastoon/iam/core/store"
)

// DemoTenant is the slug of the seeded tenant.
const DemoTenant = "demo"

// Seed creates the demo tenant once: a county with two municipalities of two
// districts each, roles editor and reviewer, and two accounts bound to them.
// It does nothing when the tenant already exists.
func Seed(ctx context.Context, s *store.Store) error {
	actor := store.Actor{ID: "seed"}
	err := s.Global(ctx, func(tx *store.Tx) error {
		_, err := tx.GetTenant(ctx, DemoTenant)
		if err == nil {
			return errSeeded
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		_, err = tx.CreateTenant(ctx, actor, DemoTenant, "Demo County")
		return err
	})
	if errors.Is(err, errSeeded) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("devstack: seed tenant: %w", err)
	}
	return s.InTenantSlug(ctx, DemoTenant, func(tx *store.Tx) error { return seedTenant(ctx, tx, actor) })
}

var errSeeded = errors.New("devstack: already seeded")

func seedTenant(ctx context.Context, tx *store.Tx, actor store.Actor) error {
	county, err := tx.CreateOrganization(ctx, actor, "Demo County", nil)
	if err != nil {
		return err
	}
	var firstDistrict store.OrgID
	for _, m := range []string{"Northtown", "Southvale"} {
		mun, err := tx.CreateOrganization(ctx, actor, m, &county.ID)
		if err != nil {
			return err
		}
		for _, d := range []string{"Old Quarter", "Harbour"} {
			dist, err := tx.CreateOrganization(ctx, actor, m+" "+d, &mun.ID)
			if err != nil {
				return err
			}
			if firstDistrict == (store.OrgID{}) {
				firstDistrict = dist.ID
			}
		}
	}
	editor, err := tx.CreateRole(ctx, actor, "editor", []string{"news.create", "news.edit"})
	if err != nil {
		return err
	}
	reviewer, err := tx.CreateRole(ctx, actor, "reviewer", []string{"news.publish", "news.approve"})
	if err != nil {
		return err
	}
	alice, err := tx.CreateAccount(ctx, actor, "alice", "alice@demo.example", "Alice Editor")
	if err != nil {
		return err
	}
	bob, err := tx.CreateAccount(ctx, actor, "bob", "bob@demo.example", "Bob Reviewer")
	if err != nil {
		return err
	}
	if _, err := tx.CreateBinding(ctx, actor, alice.ID, editor.ID, firstDistrict); err != nil {
		return err
	}
	_, err = tx.CreateBinding(ctx, actor, bob.ID, reviewer.ID, county.ID)
	return err
}
