package decide

import (
	"bytes"

	"github.com/melmastoon/iam/authz"
	"github.com/melmastoon/iam/edge/replica"
)

// invalidation is what a delta makes stale in the token cache.
type invalidation struct {
	sessions []string
	accounts []string
	tenant   bool // every token of the tenant
}

// Apply follows one committed delta; pass it as the replica's OnApplied.
// It maps the changes onto the engine in one atomic batch, updates the
// revoked sessions and JWT keys, and drops the cached tokens the delta
// makes stale. It does no I/O except for a snapshot, or a batch the engine
// refuses (never expected), which reload the tenant from the replica.
func (d *Decider) Apply(a replica.Applied) {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	if a.Snapshot {
		d.reload(a.Tenant)
		return
	}
	if len(a.Changes) == 0 {
		return
	}
	tid := authz.TenantID(a.Tenant)
	old := d.tenant(a.Tenant)
	var (
		batch   []authz.Change
		inv     invalidation
		ts      *tenantState // the new tenant state, if changed
		revoked []string
		dropRev bool
	)
	state := func() *tenantState {
		if ts == nil {
			ts = old.clone(a.Tenant)
		}
		return ts
	}
	for _, c := range a.Changes {
		switch c := c.(type) {
		case replica.Tenant:
			batch = append(batch, authz.UpsertTenant{Tenant: tid})
			s := state()
			if s.present && (s.slug != c.Slug || s.status != c.Status) {
				inv.tenant = true
			}
			s.present, s.slug, s.status = true, c.Slug, c.Status
		case replica.TenantDeleted:
			batch = append(batch, authz.DeleteTenant{Tenant: tid})
			ts = &tenantState{id: a.Tenant, keys: map[string]jwtKey{}}
			inv.tenant, dropRev, revoked = true, true, nil
		case replica.Organization:
			batch = append(batch, authz.UpsertOrg{Tenant: tid, Org: authz.OrgID(c.ID), Parent: authz.OrgID(c.ParentID)})
		case replica.Account:
			st := accountStatus(c.Status)
			batch = append(batch, authz.UpsertAccount{Tenant: tid, Account: authz.AccountID(c.ID), Status: st})
			if st != authz.StatusActive {
				inv.accounts = append(inv.accounts, c.ID)
			}
		case replica.AccountErased:
			batch = append(batch, authz.DeleteAccount{Tenant: tid, Account: authz.AccountID(c.ID)})
			inv.accounts = append(inv.accounts, c.ID)
		case replica.Role:
			batch = append(batch, authz.UpsertRole{Tenant: tid, Role: authz.RoleID(c.ID), Permissions: c.Permissions})
		case replica.RoleDeleted:
			batch = append(batch, authz.DeleteRole{Tenant: tid, Role: authz.RoleID(c.ID)})
		case replica.RoleBinding:
			batch = append(batch, authz.UpsertBinding{Tenant: tid, Binding: authz.BindingID(c.ID),
				Account: authz.AccountID(c.AccountID), Role: authz.RoleID(c.RoleID), Org: authz.OrgID(c.OrganizationID)})
		case replica.RoleBindingDeleted:
			batch = append(batch, authz.DeleteBinding{Tenant: tid, Binding: authz.BindingID(c.ID)})
		case replica.SessionRevoked:
			revoked = append(revoked, c.ID)
			inv.sessions = append(inv.sessions, c.ID)
		case replica.JWTKey:
			s := state()
			k := jwtKey{pub: bytes.Clone(c.PublicKey), alg: c.Alg, state: c.State}
			if prev, ok := s.keys[c.Kid]; ok && prev.usable() &&
				(!k.usable() || !bytes.Equal(prev.pub, k.pub)) {
				inv.tenant = true
			}
			s.keys[c.Kid] = k
		case replica.FeatureFlag:
			s := state()
			if s.flags == nil {
				s.flags = map[string]flagRule{}
			}
			s.flags[c.Name] = flagRule{enabled: c.Enabled, rollout: c.RolloutPercent}
		case replica.Device:
			// A device's access tokens carry sid = the device id: a revoked
			// device is a revoked session.
			if c.Status != replica.DeviceActive {
				revoked = append(revoked, c.ID)
				inv.sessions = append(inv.sessions, c.ID)
			}
		case replica.TenantCA:
			// The device CA is edge/devsync's; no decision reads it.
		default:
			d.log.Warn("decide: unknown replica change, reloading tenant", "tenant", a.Tenant, "type", a.Type)
			d.reload(a.Tenant)
			return
		}
	}
	if len(batch) > 0 {
		if _, err := d.engine.Apply(batch...); err != nil {
			d.log.Error("decide: engine refused a delta, reloading tenant", "tenant", a.Tenant,
				"type", a.Type, "seq", a.Seq, "error", err)
			d.reload(a.Tenant)
			return
		}
	}
	if ts != nil {
		d.setTenant(a.Tenant, d.finish(ts))
	}
	if dropRev || len(revoked) > 0 {
		d.revMu.Lock()
		set := d.revoked[a.Tenant]
		if dropRev || set == nil {
			set = map[string]struct{}{}
			d.revoked[a.Tenant] = set
		}
		for _, sid := range revoked {
			set[sid] = struct{}{}
		}
		d.revMu.Unlock()
	}
	d.invalidate(a.Tenant, inv)
}

// invalidate drops stale cached tokens. The epoch moves first, so a verify
// that read the old state cannot cache its result afterwards.
func (d *Decider) invalidate(tenant string, inv invalidation) {
	if !inv.tenant && len(inv.sessions) == 0 && len(inv.accounts) == 0 {
		return
	}
	d.epoch.Add(1)
	if d.cache == nil {
		return
	}
	if inv.tenant {
		d.cache.dropTenant(tenant)
		return
	}
	for _, sid := range inv.sessions {
		d.cache.drop(indexKey(tenant, sid), true)
	}
	for _, acc := range inv.accounts {
		d.cache.drop(indexKey(tenant, acc), false)
	}
}

func (d *Decider) isRevoked(tenant, sid string) bool {
	d.revMu.RLock()
	_, ok := d.revoked[tenant][sid]
	d.revMu.RUnlock()
	return ok
}
