package authz

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// gen draws random models and changes from small id pools, so that ids
// collide across tenants and changes hit existing entities often.
type gen struct {
	r        *rand.Rand
	tenants  []TenantID
	orgs     []OrgID
	accounts []AccountID
	roles    []RoleID
	perms    []string
	nextBind int
}

func newGen(seed uint64, orgs int) *gen {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	g.tenants = []TenantID{"ta", "tb"}
	for i := range orgs {
		g.orgs = append(g.orgs, OrgID(fmt.Sprintf("o%d", i)))
	}
	for i := range 30 {
		g.accounts = append(g.accounts, AccountID(fmt.Sprintf("a%d", i)))
	}
	for i := range 10 {
		g.roles = append(g.roles, RoleID(fmt.Sprintf("r%d", i)))
	}
	// Two wildcards first (they cover svc2.* and svc3.* names, never the
	// last two, which stay unknown), then plain names.
	g.perms = append(g.perms, "svc2.*", "svc3.*")
	for i := range 14 {
		g.perms = append(g.perms, fmt.Sprintf("svc%d.act%d", i%4, i))
	}
	return g
}

func pick[T any](g *gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// initial builds one tenant: a random tree at most 8 levels deep, roles,
// accounts and bindings.
func (g *gen) initial(t TenantID) []Change {
	cs := []Change{UpsertTenant{Tenant: t}}
	depth := map[OrgID]int{}
	for i, o := range g.orgs {
		var parent OrgID
		if i > 0 {
			if p := g.orgs[g.r.IntN(i)]; depth[p] < 7 {
				parent = p
			}
		}
		if parent != "" {
			depth[o] = depth[parent] + 1
		}
		cs = append(cs, UpsertOrg{Tenant: t, Org: o, Parent: parent})
	}
	for _, r := range g.roles {
		cs = append(cs, g.role(t, r))
	}
	for _, a := range g.accounts {
		cs = append(cs, g.account(t, a))
	}
	for range 200 {
		cs = append(cs, g.binding(t))
	}
	return cs
}

func (g *gen) role(t TenantID, r RoleID) UpsertRole {
	var ps []string
	for _, p := range g.perms[:len(g.perms)-2] { // the last two are never granted
		if g.r.IntN(4) == 0 {
			ps = append(ps, p)
		}
	}
	return UpsertRole{Tenant: t, Role: r, Permissions: ps}
}

func (g *gen) account(t TenantID, a AccountID) UpsertAccount {
	st := StatusActive
	if n := g.r.IntN(10); n == 0 {
		st = StatusLocked
	} else if n == 1 {
		st = StatusDisabled
	}
	return UpsertAccount{Tenant: t, Account: a, Status: st}
}

func (g *gen) binding(t TenantID) UpsertBinding {
	g.nextBind++
	id := BindingID(fmt.Sprintf("b%d", g.nextBind))
	if g.nextBind > 10 && g.r.IntN(5) == 0 { // overwrite an existing binding
		id = BindingID(fmt.Sprintf("b%d", 1+g.r.IntN(g.nextBind)))
	}
	org := pick(g, g.orgs)
	if g.r.IntN(2) == 0 { // early orgs are near the roots: their grants reach far
		org = pick(g, g.orgs[:max(1, len(g.orgs)/8)])
	}
	return UpsertBinding{Tenant: t, Binding: id, Account: pick(g, g.accounts), Role: pick(g, g.roles), Org: org}
}

// change draws one random change, weighted towards moves and deletes.
func (g *gen) change() Change {
	t := pick(g, g.tenants)
	switch n := g.r.IntN(200) / 2; {
	case n < 20:
		return UpsertOrg{Tenant: t, Org: pick(g, g.orgs), Parent: g.maybeOrg()}
	case n < 30:
		return DeleteOrg{Tenant: t, Org: pick(g, g.orgs[len(g.orgs)/2:])} // late orgs are more often leaves
	case n < 40:
		return g.account(t, pick(g, g.accounts))
	case n < 44:
		return DeleteAccount{Tenant: t, Account: pick(g, g.accounts)}
	case n < 52:
		return g.role(t, pick(g, g.roles))
	case n < 56:
		return DeleteRole{Tenant: t, Role: pick(g, g.roles)}
	case n < 78:
		return g.binding(t)
	case n < 94:
		return DeleteBinding{Tenant: t, Binding: BindingID(fmt.Sprintf("b%d", 1+g.r.IntN(g.nextBind+1)))}
	case n == 94 && g.r.IntN(2) == 0:
		return DeleteTenant{Tenant: t}
	}
	return UpsertTenant{Tenant: t}
}

func (g *gen) maybeOrg() OrgID {
	if g.r.IntN(8) == 0 {
		return ""
	}
	return pick(g, g.orgs)
}

func (g *gen) query() Query {
	tenants := append(slices.Clone(g.tenants), "t-unknown")
	q := Query{Tenant: pick(g, tenants), Account: pick(g, g.accounts), Org: pick(g, g.orgs), Permission: pick(g, g.perms)}
	switch g.r.IntN(40) {
	case 0:
		q.Account = "a-unknown"
	case 1:
		q.Org = "o-unknown"
	case 2:
		q.Permission = "never.named"
	}
	return q
}

func TestPropertyEngineMatchesOracle(t *testing.T) {
	for i := range 8 {
		seed := uint64(1000 + i)
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("seed %d", seed)
			runProperty(t, seed)
		})
	}
}

func runProperty(t *testing.T, seed uint64) {
	g := newGen(seed, 20+int(seed%7)*30)
	e, o, known := New(), newOracle(), permLog{}
	for _, tid := range g.tenants {
		applyBoth(t, e, o, known, g.initial(tid))
	}
	var granted, rejected, moves int
	for step := range 60 {
		batch := make([]Change, 1+g.r.IntN(6))
		for i := range batch {
			batch[i] = g.change()
		}
		moves += countMoves(o, batch)
		if applyBoth(t, e, o, known, batch) != nil {
			rejected++
		}
		granted += compareQueries(t, g, e.Snapshot(), o, known, step)
	}
	t.Logf("60 batches: %d rejected, %d attempted moves, %d granted of 18000 checks", rejected, moves, granted)
	if granted == 0 || rejected == 60 || moves == 0 {
		t.Fatalf("vacuous run: granted %d, rejected %d, moves %d", granted, rejected, moves)
	}
}

// countMoves counts changes that re-parent an existing organization.
func countMoves(o *oracle, batch []Change) int {
	n := 0
	for _, c := range batch {
		if u, ok := c.(UpsertOrg); ok {
			if ot, ok := o.tenants[u.Tenant]; ok {
				if p, ok := ot.orgs[u.Org]; ok && p != u.Parent {
					n++
				}
			}
		}
	}
	return n
}

func applyBoth(t *testing.T, e *Engine, o *oracle, known permLog, batch []Change) error {
	t.Helper()
	before := e.Version()
	v, err := e.Apply(batch...)
	want := o.apply(batch)
	if !sameError(err, want) {
		t.Fatalf("Apply(%v): err %v, oracle %v", batch, err, want)
	}
	if wantV := before + map[bool]uint64{true: 1, false: 0}[err == nil]; v != wantV {
		t.Fatalf("version %d after apply, want %d", v, wantV)
	}
	if err != nil {
		return err
	}
	for _, c := range batch {
		if r, ok := c.(UpsertRole); ok {
			for _, p := range r.Permissions {
				known[p] = true
			}
		}
	}
	return nil
}

// compareQueries compares random queries and returns how many were granted.
func compareQueries(t *testing.T, g *gen, s *Snapshot, o *oracle, known permLog, step int) int {
	t.Helper()
	granted := 0
	for range 300 {
		q := g.query()
		got, want := s.Check(q.Tenant, q.Account, q.Org, q.Permission).Reason, o.check(known, q)
		if got != want {
			t.Fatalf("step %d: Check(%+v) = %v, oracle %v", step, q, got, want)
		}
		if got == ReasonGranted {
			granted++
		}
	}
	for range 60 {
		q := g.query()
		compareEffective(t, s, o, q)
		compareExplain(t, s, o, known, q)
	}
	return granted
}

func compareEffective(t *testing.T, s *Snapshot, o *oracle, q Query) {
	t.Helper()
	got, r := s.EffectivePermissions(q.Tenant, q.Account, q.Org)
	ot, want := o.subject(q.Tenant, q.Account, q.Org)
	if want == ReasonGranted {
		eff := ot.effective(q.Account, q.Org)
		if len(eff) == 0 {
			want = ReasonNoGrant
		}
		if !sameEffective(got, eff) {
			t.Fatalf("EffectivePermissions(%+v) = %v, oracle %v", q, got, eff)
		}
	}
	if r != want {
		t.Fatalf("EffectivePermissions(%+v) reason %v, oracle %v", q, r, want)
	}
	if !slices.IsSortedFunc(got, func(a, b EffectivePermission) int { return compareStrings(a.Permission, b.Permission) }) {
		t.Fatalf("EffectivePermissions not sorted: %v", got)
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sameEffective(got []EffectivePermission, want map[string]map[BindingID]bool) bool {
	if len(got) != len(want) {
		return false
	}
	for _, ep := range got {
		if !sameGrantSet(ep.Grants, want[ep.Permission]) {
			return false
		}
	}
	return true
}

func sameGrantSet(gs []Grant, want map[BindingID]bool) bool {
	if len(gs) != len(want) {
		return false
	}
	for _, g := range gs {
		if !want[g.Binding] {
			return false
		}
	}
	return true
}

func compareExplain(t *testing.T, s *Snapshot, o *oracle, known permLog, q Query) {
	t.Helper()
	ex := s.Explain(q.Tenant, q.Account, q.Org, q.Permission)
	if want := o.check(known, q); ex.Reason != want {
		t.Fatalf("Explain(%+v) reason %v, oracle %v", q, ex.Reason, want)
	}
	if !ex.Allowed {
		if len(ex.Grants) != 0 {
			t.Fatalf("denied Explain(%+v) has grants %v", q, ex.Grants)
		}
		return
	}
	ot := o.tenants[q.Tenant]
	if !sameGrantSet(ex.Grants, ot.grantsFor(q.Account, q.Org, q.Permission)) {
		t.Fatalf("Explain(%+v) grants %v differ from oracle", q, ex.Grants)
	}
	for _, gr := range ex.Grants {
		checkPath(t, ot, gr, q.Org)
	}
}

// checkPath verifies a grant's path runs parent to child from the bound
// organization down to the queried one.
func checkPath(t *testing.T, ot *oTenant, gr Grant, org OrgID) {
	t.Helper()
	p := gr.Path
	if len(p) == 0 || p[0] != gr.BoundOrg || p[len(p)-1] != org || ot.bindings[gr.Binding].Org != gr.BoundOrg ||
		ot.bindings[gr.Binding].Role != gr.Role {
		t.Fatalf("bad grant %+v for org %s", gr, org)
	}
	for i := 1; i < len(p); i++ {
		if ot.orgs[p[i]] != p[i-1] {
			t.Fatalf("path %v: %s is not the parent of %s", p, p[i-1], p[i])
		}
	}
}
