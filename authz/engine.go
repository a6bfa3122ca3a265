package authz

import (
	"sync"
	"sync/atomic"
)

// Engine holds the current Snapshot and applies batches of changes to it.
// Its zero value is an empty engine, like New's. All methods are safe for
// concurrent use: reads are lock-free, Apply calls are serialized.
type Engine struct {
	mu  sync.Mutex // serializes writers
	cur atomic.Pointer[Snapshot]
}

// New returns an empty Engine at Version 0: every check is denied.
func New() *Engine { return &Engine{} }

// emptySnapshot is the Version 0 state of every Engine; it is never written.
var emptySnapshot = &Snapshot{perms: &permTable{ids: map[string]uint32{}}}

// Snapshot returns the current snapshot. Use it to make several reads that
// must agree with each other.
func (e *Engine) Snapshot() *Snapshot {
	if s := e.cur.Load(); s != nil {
		return s
	}
	return emptySnapshot
}

// Version returns the version of the current snapshot.
func (e *Engine) Version() uint64 { return e.Snapshot().version }

// Apply applies changes in order as one atomic batch and publishes the
// result as a new Snapshot with the next Version, which it returns. If any
// change is invalid it returns a *ChangeError naming it, publishes nothing
// and returns the unchanged current Version. An empty batch publishes
// nothing. The cost is proportional to what the batch touches, not to the
// size of the model.
func (e *Engine) Apply(changes ...Change) (uint64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	base := e.Snapshot()
	if len(changes) == 0 {
		return base.version, nil
	}
	tx := newTxn(base)
	for i, c := range changes {
		if err := applyOne(tx, c); err != nil {
			return base.version, &ChangeError{Index: i, Change: c, Err: err}
		}
	}
	next := tx.commit()
	e.cur.Store(next)
	return next.version, nil
}

func applyOne(tx *txn, c Change) error {
	if c == nil {
		return ErrNilChange
	}
	return c.apply(tx)
}

// Check decides on the current snapshot; see Snapshot.Check.
func (e *Engine) Check(tenant TenantID, account AccountID, org OrgID, permission string) Decision {
	return e.Snapshot().Check(tenant, account, org, permission)
}

// CheckBatch decides every query on one snapshot; see Snapshot.CheckBatch.
func (e *Engine) CheckBatch(dst []Decision, queries []Query) []Decision {
	return e.Snapshot().CheckBatch(dst, queries)
}

// Explain decides and explains on the current snapshot; see
// Snapshot.Explain.
func (e *Engine) Explain(tenant TenantID, account AccountID, org OrgID, permission string) Explanation {
	return e.Snapshot().Explain(tenant, account, org, permission)
}

// EffectivePermissions lists on the current snapshot; see
// Snapshot.EffectivePermissions.
func (e *Engine) EffectivePermissions(tenant TenantID, account AccountID, org OrgID) ([]EffectivePermission, Reason) {
	return e.Snapshot().EffectivePermissions(tenant, account, org)
}
