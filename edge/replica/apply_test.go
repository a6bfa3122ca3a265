package replica

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/melmastoon/iam/syncproto"
)

// allTables are every table with tenant rows.
var allTables = append([]string{"tenants"}, entityTables...)

func tenantRows(t *testing.T, e *env, tenant string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range allTables {
		col := "tenant_id"
		if table == "tenants" {
			col = "id"
		}
		out[table] = e.count(t, `SELECT count(*) FROM `+table+` WHERE `+col+` = ?`, tenant)
	}
	return out
}

func TestApplyEveryPayloadType(t *testing.T) {
	w := newWorld(t)
	e := openEnv(t, w, "")
	p := w.tenant(t, tenantA)
	root, child, other := uid("org-root"), uid("org-child"), uid("org-other")
	acct, role, bind, sess := uid("acct"), uid("role"), uid("bind"), uid("sess")
	e.mustApply(t,
		p.rotate(t),
		p.delta(t, TypeTenantCreated, tenantData(tenantA, "Alpha")),
		p.delta(t, TypeOrganizationCreated, orgData(root, "", "County", 0)),
		p.delta(t, TypeOrganizationCreated, orgData(child, root, "Town", 1)),
		p.delta(t, TypeOrganizationCreated, orgData(other, root, "Village", 1)),
		p.delta(t, TypeAccountCreated, accountData(acct, "active")),
		p.delta(t, TypeRoleCreated, roleData(role, "editor", "news.publish", "news.read")),
		p.delta(t, TypeRoleBindingCreated, bindingData(bind, acct, role, child)),
		p.delta(t, TypeSessionRevoked, sessionData(sess, acct)),
		p.delta(t, TypeSigningKeyPublished, jwtKeyData("jwt-1", "next")),
		p.delta(t, TypeSigningKeyUpdated, jwtKeyData("jwt-1", "active")),
		p.delta(t, TypeTenantUpdated, tenantData(tenantA, "Alpha Renamed")),
		p.delta(t, TypeAccountUpdated, accountData(acct, "suspended")),
		p.delta(t, TypeRoleUpdated, roleData(role, "writer", "news.read", "news.edit")),
		p.delta(t, TypeOrganizationMoved, orgData(child, other, "Town", 2)),
	)
	checks := []struct {
		query string
		want  int
	}{
		{`SELECT count(*) FROM tenants WHERE id = ? AND name = 'Alpha Renamed'`, 1},
		{`SELECT count(*) FROM organizations WHERE tenant_id = ? AND parent_id IS NULL`, 1},
		{`SELECT count(*) FROM organizations WHERE tenant_id = ? AND id = '` + child + `' AND parent_id = '` + other + `' AND depth = 2`, 1},
		{`SELECT count(*) FROM accounts WHERE tenant_id = ? AND status = 'suspended'`, 1},
		{`SELECT count(*) FROM roles WHERE tenant_id = ? AND name = 'writer'`, 1},
		{`SELECT count(*) FROM role_permissions WHERE tenant_id = ? AND permission IN ('news.read', 'news.edit')`, 2},
		{`SELECT count(*) FROM role_permissions WHERE tenant_id = ?`, 2},
		{`SELECT count(*) FROM role_bindings WHERE tenant_id = ? AND account_id = '` + acct + `'`, 1},
		{`SELECT count(*) FROM revoked_sessions WHERE tenant_id = ?`, 1},
		{`SELECT count(*) FROM jwt_keys WHERE tenant_id = ? AND state = 'active' AND length(public_key) = 32`, 1},
		{`SELECT count(*) FROM tenant_chains WHERE tenant_id = ?`, 1},
	}
	for _, c := range checks {
		if got := e.count(t, c.query, tenantA); got != c.want {
			t.Errorf("%s: got %d, want %d", c.query, got, c.want)
		}
	}
	if seq, _ := e.TenantSeq(tenantA); seq != 15 || e.StreamCursor() != 15 {
		t.Fatalf("tenant seq %d, cursor %d; want 15, 15", seq, e.StreamCursor())
	}
	if got := e.metric(t, "delta_applied_total", ""); got != 15 {
		t.Errorf("delta_applied_total = %v", got)
	}
	if got := e.metric(t, "edge_replica_seq", ""); got != 15 {
		t.Errorf("edge_replica_seq = %v", got)
	}
	if len(e.applied) != 15 || len(e.applied[0].Changes) != 0 || e.applied[14].Changes[0].(Organization).ParentID != other {
		t.Errorf("OnApplied saw %d calls, last %+v", len(e.applied), e.applied[len(e.applied)-1])
	}
}

func TestTombstonesLeaveNothing(t *testing.T) {
	w := newWorld(t)
	e := openEnv(t, w, "")
	p := w.tenant(t, tenantA)
	q := w.tenant(t, tenantB)
	root, acct, acct2, role, role2 := uid("root"), uid("acct"), uid("acct2"), uid("role"), uid("role2")
	seed := func(p *producer, tenant string) {
		e.mustApply(t, p.rotate(t),
			p.delta(t, TypeTenantCreated, tenantData(tenant, "T")),
			p.delta(t, TypeOrganizationCreated, orgData(root, "", "Root", 0)),
			p.delta(t, TypeAccountCreated, accountData(acct, "active")),
			p.delta(t, TypeAccountCreated, accountData(acct2, "active")),
			p.delta(t, TypeRoleCreated, roleData(role, "r", "a.b", "c.d")),
			p.delta(t, TypeRoleCreated, roleData(role2, "r2", "e.f")),
			p.delta(t, TypeRoleBindingCreated, bindingData(uid("b1"), acct, role, root)),
			p.delta(t, TypeRoleBindingCreated, bindingData(uid("b2"), acct, role2, root)),
			p.delta(t, TypeRoleBindingCreated, bindingData(uid("b3"), acct2, role, root)),
			p.delta(t, TypeRoleBindingCreated, bindingData(uid("b4"), acct2, role2, root)),
			p.delta(t, TypeSessionRevoked, sessionData(uid("s1"), acct)),
			p.delta(t, TypeSessionRevoked, sessionData(uid("s2"), acct2)),
			p.delta(t, TypeSigningKeyPublished, jwtKeyData("jwt-1", "active")),
		)
	}
	seed(p, tenantA)
	seed(q, tenantB)
	digestB := e.digest(t, tenantB)

	e.mustApply(t, p.delta(t, TypeAccountErased, idData(acct)))
	if n := e.count(t, `SELECT (SELECT count(*) FROM accounts WHERE tenant_id = ?1 AND id = ?2)
		+ (SELECT count(*) FROM role_bindings WHERE tenant_id = ?1 AND account_id = ?2)
		+ (SELECT count(*) FROM revoked_sessions WHERE tenant_id = ?1 AND account_id = ?2)`, tenantA, acct); n != 0 {
		t.Fatalf("account.erased left %d rows", n)
	}
	e.mustApply(t, p.delta(t, TypeRoleDeleted, idData(role)))
	if n := e.count(t, `SELECT (SELECT count(*) FROM roles WHERE tenant_id = ?1 AND id = ?2)
		+ (SELECT count(*) FROM role_bindings WHERE tenant_id = ?1 AND role_id = ?2)
		+ (SELECT count(*) FROM role_permissions WHERE tenant_id = ?1 AND role_id = ?2)`, tenantA, role); n != 0 {
		t.Fatalf("role.deleted left %d rows", n)
	}
	e.mustApply(t, p.delta(t, TypeRoleBindingDeleted, idData(uid("b4"))))
	if n := e.count(t, `SELECT count(*) FROM role_bindings WHERE tenant_id = ?`, tenantA); n != 0 {
		t.Fatalf("role_binding.deleted left %d bindings", n)
	}
	e.mustApply(t, p.delta(t, TypeTenantDeleted, idData(tenantA)))
	for table, n := range tenantRows(t, e, tenantA) {
		if n != 0 {
			t.Errorf("tenant.deleted left %d rows in %s", n, table)
		}
	}
	if e.digest(t, tenantB) != digestB {
		t.Fatal("tombstones of tenant A changed tenant B")
	}
	if e.count(t, `SELECT count(*) FROM tenant_chains WHERE tenant_id = ? AND deleted = 1`, tenantA) != 1 {
		t.Fatal("tenant chain not kept as deleted")
	}
	// The chain stays: a later delta of the tenant still verifies.
	e.mustApply(t, p.delta(t, TypeAccountCreated, accountData(uid("late"), "active")))
}

func TestDuplicateStreamSeqIsIdempotent(t *testing.T) {
	w := newWorld(t)
	e := openEnv(t, w, "")
	p := w.tenant(t, tenantA)
	rot := p.rotate(t)
	acct := p.delta(t, TypeAccountCreated, accountData(uid("a"), "active"))
	e.mustApply(t, rot, acct)
	before := e.digest(t, tenantA)
	for _, m := range []Message{rot, acct} {
		res, err := e.Apply(context.Background(), m)
		if err != nil || !res.Duplicate {
			t.Fatalf("re-delivery of stream seq %d: %+v, %v", m.StreamSeq, res, err)
		}
	}
	// The same delta republished under a new stream sequence: ignored, the
	// cursor moves past it.
	again := acct
	w.stream++
	again.StreamSeq = w.stream
	res, err := e.Apply(context.Background(), again)
	if err != nil || !res.Duplicate || e.StreamCursor() != again.StreamSeq {
		t.Fatalf("republished delta: %+v, %v, cursor %d", res, err, e.StreamCursor())
	}
	if e.digest(t, tenantA) != before || e.metric(t, "delta_applied_total", "") != 2 {
		t.Fatal("duplicates changed the replica")
	}
}

func TestRejectionsChangeNothing(t *testing.T) {
	w := newWorld(t)
	e := openEnv(t, w, "")
	a := w.tenant(t, tenantA)
	b := w.tenant(t, tenantB)
	e.mustApply(t, a.rotate(t), a.delta(t, TypeTenantCreated, tenantData(tenantA, "A")))
	older := a.delta(t, TypeAccountCreated, accountData(uid("a1"), "active"))
	e.mustApply(t, older)
	e.mustApply(t, b.rotate(t), b.delta(t, TypeTenantCreated, tenantData(tenantB, "B")))
	bHead := mustHead(b)
	replay := a.delta(t, TypeAccountCreated, accountData(uid("a2"), "active"))
	e.mustApply(t, replay)

	// foreign: tenant B's header and envelope, signed by tenant A's delta key
	// (same kid "delta-1", another key) and by a kid B never introduced.
	foreignA := w.tenant(t, tenantB)
	foreignA.key = a.key
	foreignA.chain, _ = syncproto.NewChain(tenantB, a.key, 2, bHead)
	foreignKid := w.tenant(t, tenantB)
	foreignKid.key = seededSigner(t, "a-delta", tenantA+"/delta-1")
	foreignKid.chain, _ = syncproto.NewChain(tenantB, foreignKid.key, 2, bHead)
	// forged anchor: a third tenant certified by a key that is not the system root.
	c := w.tenant(t, uid("tenant-c"))
	forged := c.rotate(t)
	forger := &world{system: seededSigner(t, "system-root", "forger")} // same kid, other key
	cForged := forger.tenant(t, c.id)
	forged.Headers[HeaderAnchor] = headerOf(cForged.cert)
	noAnchor := w.tenant(t, uid("tenant-d")).rotate(t)
	delete(noAnchor.Headers, HeaderAnchor)
	wrongAnchor := w.tenant(t, uid("tenant-e")).rotate(t)
	wrongAnchor.Headers[HeaderAnchor] = headerOf(a.cert)

	tampered := a.delta(t, TypeAccountCreated, accountData(uid("a3"), "active"))
	tampered.Data = append([]byte(nil), tampered.Data...)
	tampered.Data[len(tampered.Data)-70] ^= 1
	a.chain, _ = syncproto.NewChain(tenantA, a.key, 4, mustHeadOf(replay))
	skipped := a.delta(t, TypeAccountCreated, accountData(uid("a4"), "active"))
	gap := a.delta(t, TypeAccountCreated, accountData(uid("a5"), "active"))
	unknown := b.delta(t, "melmastoon.iam.widget.created.v1", idData(uid("w")))
	b.chain, _ = syncproto.NewChain(tenantB, b.key, 2, bHead) // unknown is not applied
	badPayload := b.delta(t, TypeAccountCreated, map[string]any{"id": uid("x")})
	b.chain, _ = syncproto.NewChain(tenantB, b.key, 2, bHead)
	crossTenant := b.delta(t, TypeTenantUpdated, tenantData(tenantA, "hijack"))
	noTenant := b.delta(t, TypeAccountCreated, accountData(uid("y"), "active"))
	delete(noTenant.Headers, HeaderTenant)
	_ = skipped

	cases := []struct {
		name   string
		msg    Message
		reason string
		is     error
	}{
		{"tampered", tampered, "bad_signature", syncproto.ErrBadSignature},
		{"replayed", withSeq(w, older), "rollback", syncproto.ErrRollback},
		{"reordered", withSeq(w, gap), "gap", ErrGap},
		{"foreign_same_kid", withSeq(w, foreignA.delta(t, TypeAccountCreated, accountData(uid("f"), "active"))), "bad_signature", syncproto.ErrBadSignature},
		{"foreign_kid", withSeq(w, foreignKid.delta(t, TypeAccountCreated, accountData(uid("g"), "active"))), "unknown_key", syncproto.ErrUnknownKey},
		{"foreign_header", withTenant(withSeq(w, a.delta(t, TypeAccountCreated, accountData(uid("h"), "active"))), tenantB), "bad_signature", syncproto.ErrBadSignature},
		{"no_anchor", withSeq(w, noAnchor), "anchor", ErrAnchor},
		{"forged_anchor", withSeq(w, forged), "anchor", ErrAnchor},
		{"anchor_of_other_tenant", withSeq(w, wrongAnchor), "anchor", ErrAnchor},
		{"unknown_type", withSeq(w, unknown), "unknown_type", ErrUnknownType},
		{"bad_payload", withSeq(w, badPayload), "payload", ErrPayload},
		{"cross_tenant_payload", withSeq(w, crossTenant), "payload", ErrPayload},
		{"no_tenant_header", withSeq(w, noTenant), "header", ErrHeader},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dA, dB, cur := e.digest(t, tenantA), e.digest(t, tenantB), e.StreamCursor()
			seqA, hA := e.TenantSeq(tenantA)
			seqB, hB := e.TenantSeq(tenantB)
			tenants := len(e.Tenants())
			before := e.metric(t, "delta_rejected_total", tc.reason)
			_, err := e.Apply(context.Background(), tc.msg)
			var re *RejectError
			if !errors.As(err, &re) || re.Reason != tc.reason || !errors.Is(err, tc.is) {
				t.Fatalf("got %v, want reason %s", err, tc.reason)
			}
			if got := e.metric(t, "delta_rejected_total", tc.reason); got != before+1 {
				t.Errorf("delta_rejected_total{reason=%q} = %v, want %v", tc.reason, got, before+1)
			}
			sA, hA2 := e.TenantSeq(tenantA)
			sB, hB2 := e.TenantSeq(tenantB)
			if e.digest(t, tenantA) != dA || e.digest(t, tenantB) != dB || e.StreamCursor() != cur ||
				sA != seqA || hA2 != hA || sB != seqB || hB2 != hB || len(e.Tenants()) != tenants {
				t.Fatal("a rejected message changed the replica")
			}
		})
	}
	// The caller may skip a rejected message: only the cursor moves.
	if err := e.Skip(context.Background(), w.stream); err != nil || e.StreamCursor() != w.stream {
		t.Fatalf("skip: %v, cursor %d", err, e.StreamCursor())
	}
	if e.metric(t, "delta_skipped_total", "") != 1 {
		t.Fatal("skip not counted")
	}
}

func mustHead(p *producer) syncproto.Hash { _, h := p.chain.Head(); return h }

func mustHeadOf(m Message) syncproto.Hash { return syncproto.ChainHash(m.Data) }

func headerOf(cert []byte) string { return base64.RawURLEncoding.EncodeToString(cert) }

// withSeq gives m a fresh stream sequence beyond everything produced.
func withSeq(w *world, m Message) Message {
	w.stream++
	m.StreamSeq = w.stream
	return m
}

func withTenant(m Message, tenant string) Message {
	h := map[string]string{}
	for k, v := range m.Headers {
		h[k] = v
	}
	h[HeaderTenant] = tenant
	m.Headers = h
	return m
}
