package decide

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/melmastoon/iam/authz"
)

// Decider verifies tokens and checks permissions from the replica. It is
// safe for concurrent use; Apply calls are serialized.
type Decider struct {
	cfg    Config
	log    *slog.Logger
	engine *authz.Engine

	wmu     sync.Mutex                              // serializes Apply and reloads
	tenants atomic.Pointer[map[string]*tenantState] // copy on write under wmu
	slugs   atomic.Pointer[map[string]string]       // slug → id, rebuilt with tenants

	revMu   sync.RWMutex
	revoked map[string]map[string]struct{} // tenant → revoked session ids

	cache *tokenCache   // nil when disabled
	epoch atomic.Uint64 // bumped before each cache invalidation

	hits, misses atomic.Uint64 // verified-token cache
}

// Decision is the answer to a permission check. Reason is an authz reason
// label ("granted", "no_grant", "unknown_org", ...) or, from CheckToken, a
// token refusal label (see Reason).
type Decision struct {
	Allowed bool
	Reason  string
	Version uint64 // the authz snapshot that decided; 0 for a token refusal
}

// New loads the replica's state and returns a Decider following it from
// there; pass its Apply to the replica as OnApplied (deltas committed
// between this load and that wiring would be missed). A tenant whose rows
// the engine refuses is logged and denied.
func New(ctx context.Context, cfg Config) (*Decider, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	d := &Decider{cfg: cfg, log: cfg.Logger, engine: authz.New(), revoked: map[string]map[string]struct{}{}}
	if cfg.CacheSize > 0 {
		d.cache = newTokenCache(cfg.CacheSize)
	}
	empty, noSlugs := map[string]*tenantState{}, map[string]string{}
	d.tenants.Store(&empty)
	d.slugs.Store(&noSlugs)
	db := cfg.Replica.Reader()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("decide: load: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	ids, err := tenantIDs(ctx, tx)
	if err != nil {
		return nil, err
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	for _, id := range ids {
		l, err := loadTenant(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		d.install(id, l)
	}
	d.log.InfoContext(ctx, "decider loaded", "tenants", len(ids), "authz_version", d.engine.Version())
	return d, nil
}

// install publishes a loaded tenant (under wmu).
func (d *Decider) install(id string, l *tenantLoad) {
	if _, err := d.engine.Apply(l.changes...); err != nil {
		d.log.Error("decide: tenant refused by the engine, denying it", "tenant", id, "error", err)
		_, _ = d.engine.Apply(authz.DeleteTenant{Tenant: authz.TenantID(id)})
		l.state.present = false
	}
	d.setTenant(id, d.finish(l.state))
	d.revMu.Lock()
	d.revoked[id] = l.revoked
	d.revMu.Unlock()
}

// setTenant replaces (or with nil removes) one tenant state (under wmu).
func (d *Decider) setTenant(id string, t *tenantState) {
	next := maps.Clone(*d.tenants.Load())
	if t == nil {
		delete(next, id)
	} else {
		next[id] = t
	}
	slugs := make(map[string]string, len(next))
	for tid, ts := range next {
		if ts.present && ts.slug != "" {
			slugs[ts.slug] = tid
		}
	}
	d.tenants.Store(&next)
	d.slugs.Store(&slugs)
}

func (d *Decider) tenant(id string) *tenantState { return (*d.tenants.Load())[id] }

// reload replaces tenant id from the database (under wmu) and drops its
// cached tokens.
func (d *Decider) reload(id string) {
	ctx := context.Background()
	l, err := loadTenant(ctx, d.cfg.Replica.Reader(), id)
	if err != nil {
		// Fail closed: the tenant is denied until the next reload.
		d.log.Error("decide: reload failed, denying tenant", "tenant", id, "error", err)
		_, _ = d.engine.Apply(authz.DeleteTenant{Tenant: authz.TenantID(id)})
		d.setTenant(id, nil)
	} else {
		d.install(id, l)
	}
	d.epoch.Add(1)
	if d.cache != nil {
		d.cache.dropTenant(id)
	}
}

// Check decides whether account may use permission in org of tenant. It
// does not allocate and never blocks.
func (d *Decider) Check(tenant, account, permission, org string) Decision {
	if !d.tenant(tenant).live() {
		return Decision{Reason: authz.ReasonUnknownTenant.String()}
	}
	dec := d.engine.Check(authz.TenantID(tenant), authz.AccountID(account), authz.OrgID(org), permission)
	return Decision{Allowed: dec.Allowed, Reason: dec.Reason.String(), Version: dec.Version}
}

// CheckToken verifies token (see VerifyToken) and checks permission in org
// for its subject in its tenant. A refused token gives a denied Decision
// whose Reason is the token refusal label, and the error.
func (d *Decider) CheckToken(token, permission, org string) (Decision, Claims, error) {
	c, err := d.VerifyToken(token)
	if err != nil {
		return Decision{Reason: Reason(err)}, Claims{}, err
	}
	return d.Check(c.TenantID, c.Subject, permission, org), c, nil
}

// Explain decides like Check and returns the grants behind an allowed
// decision (authz.Engine.Explain).
func (d *Decider) Explain(tenant, account, permission, org string) authz.Explanation {
	if !d.tenant(tenant).live() {
		return authz.Explanation{Decision: authz.Decision{Reason: authz.ReasonUnknownTenant}}
	}
	return d.engine.Explain(authz.TenantID(tenant), authz.AccountID(account), authz.OrgID(org), permission)
}

// EffectivePermissions lists what account holds in org of tenant
// (authz.Engine.EffectivePermissions).
func (d *Decider) EffectivePermissions(tenant, account, org string) ([]authz.EffectivePermission, authz.Reason) {
	if !d.tenant(tenant).live() {
		return nil, authz.ReasonUnknownTenant
	}
	return d.engine.EffectivePermissions(authz.TenantID(tenant), authz.AccountID(account), authz.OrgID(org))
}

// Engine returns the underlying authz engine (read it, never Apply to it).
func (d *Decider) Engine() *authz.Engine { return d.engine }
