package devstack

import (
	"context"
	"errors"
	"fmt"

	"github.com/melmastoon/iam/core"
	"github.com/melmastoon/iam/core/store"
)

// DemoTenant is the slug of the seeded tenant.
const DemoTenant = "demo"

// DemoPasswords are the sign-in passwords of the demo accounts (development only).
var DemoPasswords = map[string]string{"alice": "alice-demo-pass-2026", "bob": "bob-demo-pass-2026"}

// Seed creates the demo tenant once: a county with two municipalities of two
// districts each, roles editor and reviewer, and two accounts bound to them.
// It does nothing when the tenant already exists.
func Seed(ctx context.Context, c *core.Core) error {
	s := c.Store()
	actor := store.Actor{ID: "seed"}
	hashes := map[string]string{}
	for user, pw := range DemoPasswords {
		h, err := c.Auth().HashNewPassword(ctx, pw)
		if err != nil {
			return err
		}
		hashes[user] = h
	}
	err := s.Global(ctx, func(tx *store.Tx) error {
		_, err := tx.GetTenant(ctx, DemoTenant)
		if err == nil {
			return errSeeded
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		t, err := c.Auth().CreateTenant(ctx, tx, actor, DemoTenant, "Demo County")
		if err != nil || c.Devices() == nil {
			return err
		}
		// The demo tenant is ready for device enrollment at once.
		return tx.AsTenant(ctx, t.ID, func() error {
			_, err := c.Devices().BootstrapCA(ctx, tx, actor)
			return err
		})
	})
	if errors.Is(err, errSeeded) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("devstack: seed tenant: %w", err)
	}
	return s.InTenantSlug(ctx, DemoTenant, func(tx *store.Tx) error { return seedTenant(ctx, tx, actor, hashes) })
}

var errSeeded = errors.New("devstack: already seeded")

func seedTenant(ctx context.Context, tx *store.Tx, actor store.Actor, hashes map[string]string) error {
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
	for _, a := range []store.Account{alice, bob} {
		if err := tx.SetPasswordHash(ctx, actor, a.ID, hashes[a.Username], ""); err != nil {
			return err
		}
	}
	if _, err := tx.CreateBinding(ctx, actor, alice.ID, editor.ID, firstDistrict); err != nil {
		return err
	}
	_, err = tx.CreateBinding(ctx, actor, bob.ID, reviewer.ID, county.ID)
	return err
}
