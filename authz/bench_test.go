package authz

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// The large dataset: one tenant, a 6-level tree with fan-out 4 (1,365
// organizations), 300 permissions, 50 roles of 20 permissions, 100,000
// accounts with 10 bindings each on organizations of random depth.
const (
	largeAccounts = 100_000
	largeBindings = 10
	largeFanout   = 4
	largeLevels   = 6
	largeRoles    = 50
	largePerms    = 300
	largeRolePerm = 20
)

type largeSet struct {
	e        *Engine
	orgs     []OrgID           // breadth-first, so orgs[0] is the root
	children map[OrgID][]OrgID // for picking descendants
	roles    [][]string        // permissions of role i
	bindings [][]largeBinding  // per account
	build    time.Duration
}

type largeBinding struct {
	role int
	org  OrgID
}

var (
	largeOnce sync.Once
	large     *largeSet
)

func sharedLarge(b *testing.B) *largeSet {
	b.Helper()
	largeOnce.Do(func() { large = buildLarge(b, 42) })
	return large
}

func acct(i int) AccountID { return AccountID(fmt.Sprintf("acct-%06d", i)) }

func buildLarge(tb testing.TB, seed uint64) *largeSet {
	tb.Helper()
	start := time.Now()
	r := rand.New(rand.NewPCG(seed, seed))
	ls := &largeSet{e: New(), children: map[OrgID][]OrgID{}}
	ls.apply(tb, ls.treeAndRoles(r))
	for lo := 0; lo < largeAccounts; lo += 10_000 {
		ls.apply(tb, ls.accounts(r, lo, min(lo+10_000, largeAccounts)))
	}
	ls.build = time.Since(start)
	return ls
}

func (ls *largeSet) apply(tb testing.TB, cs []Change) {
	tb.Helper()
	if _, err := ls.e.Apply(cs...); err != nil {
		tb.Fatal(err)
	}
}

func (ls *largeSet) treeAndRoles(r *rand.Rand) []Change {
	cs := []Change{UpsertTenant{Tenant: t1}, UpsertOrg{Tenant: t1, Org: "org-0"}}
	ls.orgs = []OrgID{"org-0"}
	for level, first := 1, 0; level < largeLevels; level++ {
		last := len(ls.orgs)
		for _, parent := range ls.orgs[first:last] {
			for range largeFanout {
				o := OrgID(fmt.Sprintf("org-%d", len(ls.orgs)))
				ls.orgs = append(ls.orgs, o)
				ls.children[parent] = append(ls.children[parent], o)
				cs = append(cs, UpsertOrg{Tenant: t1, Org: o, Parent: parent})
			}
		}
		first = last
	}
	for i := range largeRoles {
		perms := make([]string, largeRolePerm)
		for j := range perms {
			perms[j] = fmt.Sprintf("svc%d.action%d", j%10, r.IntN(largePerms))
		}
		ls.roles = append(ls.roles, perms)
		cs = append(cs, UpsertRole{Tenant: t1, Role: RoleID(fmt.Sprintf("role-%d", i)), Permissions: perms})
	}
	return cs
}

func (ls *largeSet) accounts(r *rand.Rand, lo, hi int) []Change {
	cs := make([]Change, 0, (hi-lo)*(1+largeBindings))
	for i := lo; i < hi; i++ {
		a := acct(i)
		cs = append(cs, UpsertAccount{Tenant: t1, Account: a, Status: StatusActive})
		var bs []largeBinding
		for j := range largeBindings {
			lb := largeBinding{role: r.IntN(largeRoles), org: ls.orgs[r.IntN(len(ls.orgs))]}
			bs = append(bs, lb)
			cs = append(cs, UpsertBinding{Tenant: t1, Binding: BindingID(fmt.Sprintf("%s-b%d", a, j)),
				Account: a, Role: RoleID(fmt.Sprintf("role-%d", lb.role)), Org: lb.org})
		}
		ls.bindings = append(ls.bindings, bs)
	}
	return cs
}

// leafUnder follows random children down to a leaf.
func (ls *largeSet) leafUnder(r *rand.Rand, o OrgID) OrgID {
	for len(ls.children[o]) > 0 {
		kids := ls.children[o]
		o = kids[r.IntN(len(kids))]
	}
	return o
}

// queries returns n queries that the engine answers with want: allowed ones
// use a permission of a bound role on a leaf below the binding; denied ones
// ask for a permission on a random leaf and keep it only if it is denied.
func (ls *largeSet) queries(n int, allowed bool) []Query {
	r := rand.New(rand.NewPCG(7, 7))
	s := ls.e.Snapshot()
	qs := make([]Query, 0, n)
	for len(qs) < n {
		i := r.IntN(largeAccounts)
		q := Query{Tenant: t1, Account: acct(i)}
		if allowed {
			lb := ls.bindings[i][r.IntN(largeBindings)]
			q.Org, q.Permission = ls.leafUnder(r, lb.org), ls.roles[lb.role][r.IntN(largeRolePerm)]
		} else {
			q.Org = ls.leafUnder(r, ls.orgs[0])
			q.Permission = ls.roles[r.IntN(largeRoles)][r.IntN(largeRolePerm)]
		}
		if s.Check(q.Tenant, q.Account, q.Org, q.Permission).Allowed == allowed {
			qs = append(qs, q)
		}
	}
	return qs
}

func BenchmarkCheck(b *testing.B) {
	ls := sharedLarge(b)
	for _, allowed := range []bool{true, false} {
		name := map[bool]string{true: "allowed", false: "denied"}[allowed]
		qs := ls.queries(4096, allowed)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i, cpu := 0, startCPU()
			for b.Loop() {
				q := &qs[i&4095]
				if ls.e.Check(q.Tenant, q.Account, q.Org, q.Permission).Allowed != allowed {
					b.Fatal("wrong decision")
				}
				i++
			}
			cpu.report(b, i)
		})
	}
}

func BenchmarkCheckParallel(b *testing.B) {
	ls := sharedLarge(b)
	qs := append(ls.queries(2048, true), ls.queries(2048, false)...)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	defer func() { cpu.report(b, b.N) }()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			q := &qs[i&4095]
			ls.e.Check(q.Tenant, q.Account, q.Org, q.Permission)
			i++
		}
	})
}

func BenchmarkCheckBatch100(b *testing.B) {
	ls := sharedLarge(b)
	qs := append(ls.queries(50, true), ls.queries(50, false)...)
	dst := make([]Decision, 0, len(qs))
	b.ReportAllocs()
	n, cpu := 0, startCPU()
	for b.Loop() {
		dst = ls.e.CheckBatch(dst[:0], qs)
		n++
	}
	cpu.report(b, n)
}

func BenchmarkExplain(b *testing.B) {
	ls := sharedLarge(b)
	qs := ls.queries(1024, true)
	b.ReportAllocs()
	i, cpu := 0, startCPU()
	for b.Loop() {
		q := &qs[i&1023]
		ls.e.Explain(q.Tenant, q.Account, q.Org, q.Permission)
		i++
	}
	cpu.report(b, i)
}

func BenchmarkEffectivePermissions(b *testing.B) {
	ls := sharedLarge(b)
	qs := ls.queries(1024, true)
	b.ReportAllocs()
	i, cpu := 0, startCPU()
	for b.Loop() {
		q := &qs[i&1023]
		ls.e.EffectivePermissions(q.Tenant, q.Account, q.Org)
		i++
	}
	cpu.report(b, i)
}

// BenchmarkApplySingleBinding applies one-change batches on the large
// dataset, alternately adding and deleting a binding of a random account.
func BenchmarkApplySingleBinding(b *testing.B) {
	ls := sharedLarge(b)
	r := rand.New(rand.NewPCG(9, 9))
	b.ReportAllocs()
	i, cpu := 0, startCPU()
	for b.Loop() {
		id := BindingID(fmt.Sprintf("extra-%d", i/2))
		var c Change = DeleteBinding{Tenant: t1, Binding: id}
		if i%2 == 0 {
			c = UpsertBinding{Tenant: t1, Binding: id, Account: acct(r.IntN(largeAccounts)), Role: "role-1", Org: ls.orgs[r.IntN(len(ls.orgs))]}
		}
		if _, err := ls.e.Apply(c); err != nil {
			b.Fatal(err)
		}
		i++
	}
	cpu.report(b, i)
}

// BenchmarkApplyMoveSubtree moves a level-1 organization (a quarter of the
// tree) back and forth between two roots' worth of parents.
func BenchmarkApplyMoveSubtree(b *testing.B) {
	ls := sharedLarge(b)
	sub, parents := ls.children[ls.orgs[0]][0], ls.children[ls.orgs[0]][1:3]
	b.ReportAllocs()
	i, cpu := 0, startCPU()
	for b.Loop() {
		if _, err := ls.e.Apply(UpsertOrg{Tenant: t1, Org: sub, Parent: parents[i%2]}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	cpu.report(b, i)
	ls.apply(b, []Change{UpsertOrg{Tenant: t1, Org: sub, Parent: ls.orgs[0]}})
}

// BenchmarkLargeDatasetMemory builds the large dataset once and reports the
// heap it keeps alive per 100,000 accounts, as live bytes (HeapAlloc) and as
// in-use spans (HeapInuse, which also counts fragmentation and varies with
// what ran before: run this benchmark alone for a stable figure), and how
// long building took.
func BenchmarkLargeDatasetMemory(b *testing.B) {
	before := heapStats()
	ls := buildLarge(b, 43)
	ls.bindings, ls.children, ls.orgs, ls.roles = nil, nil, nil, nil // keep only the engine
	after := heapStats()
	runtime.KeepAlive(ls.e)
	for b.Loop() {
		ls.e.Version()
	}
	per100k := func(x, y uint64) float64 { return float64(int64(y)-int64(x)) / (1 << 20) * 100_000 / largeAccounts }
	b.ReportMetric(per100k(before.HeapAlloc, after.HeapAlloc), "alloc-MiB/100k-accounts")
	b.ReportMetric(per100k(before.HeapInuse, after.HeapInuse), "inuse-MiB/100k-accounts")
	b.ReportMetric(ls.build.Seconds(), "build-s")
}

func heapStats() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// BenchmarkCheckSmall checks on the small fixture, where everything is in
// cache: the floor of a Check without memory stalls.
func BenchmarkCheckSmall(b *testing.B) {
	e := smallFixture(b)
	b.ReportAllocs()
	n, cpu := 0, startCPU()
	for b.Loop() {
		e.Check(t1, "alice", dist1a, publish)
		n++
	}
	cpu.report(b, n)
}
