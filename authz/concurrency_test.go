package authz

import (
	"sync"
	"sync/atomic"
	"testing"
)

// flipBatch moves the model between two states. In state 0 (odd versions)
// the binding "flip" of x sits on org A, w's binding reaches M because M is
// under A, y is active and z is locked; state 1 (even versions) is the
// mirror image. Any half of a batch breaks one of the invariants that
// checkFlipInvariants tests.
func flipBatch(state int) []Change {
	on, off, mParent := OrgID("A"), OrgID("B"), OrgID("A")
	yStatus, zStatus := StatusActive, StatusLocked
	if state == 1 {
		on, off, mParent = "B", "A", "B"
		yStatus, zStatus = StatusLocked, StatusActive
	}
	return []Change{
		DeleteBinding{Tenant: t1, Binding: BindingID("flip-" + off)},
		UpsertAccount{Tenant: t1, Account: "y", Status: yStatus},
		UpsertOrg{Tenant: t1, Org: "M", Parent: mParent},
		UpsertBinding{Tenant: t1, Binding: BindingID("flip-" + on), Account: "x", Role: "editor", Org: on},
		UpsertAccount{Tenant: t1, Account: "z", Status: zStatus},
	}
}

func flipEngine(t *testing.T) *Engine {
	t.Helper()
	e := New()
	cs := []Change{
		UpsertTenant{Tenant: t1},
		UpsertOrg{Tenant: t1, Org: "root"},
		UpsertOrg{Tenant: t1, Org: "A", Parent: "root"},
		UpsertOrg{Tenant: t1, Org: "B", Parent: "root"},
		UpsertRole{Tenant: t1, Role: "editor", Permissions: []string{publish}},
		UpsertAccount{Tenant: t1, Account: "x", Status: StatusActive},
		UpsertAccount{Tenant: t1, Account: "w", Status: StatusActive},
		UpsertBinding{Tenant: t1, Binding: "w-on-A", Account: "w", Role: "editor", Org: "A"},
	}
	if v := mustApply(t, e, append(cs, flipBatch(0)...)...); v != 1 {
		t.Fatalf("setup at version %d", v)
	}
	return e
}

var flipQueries = []Query{
	{t1, "x", "A", publish}, {t1, "x", "B", publish}, {t1, "w", "M", publish},
	{t1, "y", "root", publish}, {t1, "z", "root", publish},
}

// checkFlipInvariants returns "" when ds (answers to flipQueries, all from
// one snapshot) show a whole state, else what is wrong.
func checkFlipInvariants(ds []Decision) string {
	state0 := ds[0].Version%2 == 1
	switch {
	case ds[0].Allowed == ds[1].Allowed:
		return "x granted on both or neither of A and B"
	case ds[0].Allowed != state0:
		return "x's grant does not match the version"
	case ds[2].Allowed != state0:
		return "M is not under the org the version says"
	case (ds[3].Reason == ReasonNoGrant) != state0:
		return "y's status does not match the version"
	case (ds[4].Reason == ReasonNoGrant) == state0:
		return "z's status does not match the version"
	}
	for _, d := range ds[1:] {
		if d.Version != ds[0].Version {
			return "decisions of one batch come from two versions"
		}
	}
	return ""
}

func TestReadersNeverSeeHalfABatch(t *testing.T) {
	const batches = 3000
	e := flipEngine(t)
	var done atomic.Bool
	var wg sync.WaitGroup
	seen := make([]uint64, 4)
	for r := range len(seen) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen[r] = readFlips(t, e, r%2 == 0, &done)
		}()
	}
	for i := range batches {
		if _, err := e.Apply(flipBatch((i + 1) % 2)...); err != nil {
			t.Errorf("batch %d: %v", i, err)
			break
		}
	}
	done.Store(true)
	wg.Wait()
	if e.Version() != batches+1 {
		t.Fatalf("final version %d, want %d", e.Version(), batches+1)
	}
	t.Logf("distinct versions observed per reader: %v", seen)
}

// readFlips checks invariants until done and returns how many distinct
// versions it saw. viaSnapshot selects Snapshot.Check over Engine.CheckBatch.
func readFlips(t *testing.T, e *Engine, viaSnapshot bool, done *atomic.Bool) uint64 {
	ds := make([]Decision, 0, len(flipQueries))
	var last, distinct uint64
	for !done.Load() {
		ds = ds[:0]
		if viaSnapshot {
			s := e.Snapshot()
			for _, q := range flipQueries {
				ds = append(ds, s.Check(q.Tenant, q.Account, q.Org, q.Permission))
			}
		} else {
			ds = e.CheckBatch(ds, flipQueries)
		}
		if msg := checkFlipInvariants(ds); msg != "" {
			t.Errorf("version %d: %s: %+v", ds[0].Version, msg, ds)
			return distinct
		}
		if v := ds[0].Version; v < last {
			t.Errorf("version went back from %d to %d", last, v)
			return distinct
		} else if v > last {
			last, distinct = v, distinct+1
		}
	}
	return distinct
}

// TestFlipInvariantsDetectHalfBatches proves the concurrency test can fail:
// every proper prefix of a flip batch, applied alone, breaks an invariant.
func TestFlipInvariantsDetectHalfBatches(t *testing.T) {
	for n := 1; n < len(flipBatch(1)); n++ {
		e := flipEngine(t)
		mustApply(t, e, flipBatch(1)[:n]...) // version 2 claims state 1
		ds := e.CheckBatch(nil, flipQueries)
		if checkFlipInvariants(ds) == "" {
			t.Errorf("prefix of %d changes is not detected: %+v", n, ds)
		}
	}
}
