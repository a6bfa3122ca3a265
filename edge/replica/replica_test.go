package replica

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/melmastoon/iam/syncproto"
)

func TestRestartResumesChain(t *testing.T) {
	w := newWorld(t)
	e := openEnv(t, w, "")
	p := w.tenant(t, tenantA)
	e.mustApply(t, p.rotate(t), p.delta(t, TypeTenantCreated, tenantData(tenantA, "A")))
	if err := e.AcceptCheckpoint(context.Background(), tenantA, p.checkpoint(t, baseTime)); err != nil {
		t.Fatal(err)
	}
	seq, hash := e.TenantSeq(tenantA)
	digest, cursor := e.digest(t, tenantA), e.StreamCursor()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Apply(context.Background(), p.delta(t, TypeAccountCreated, accountData(uid("x"), "active"))); !errors.Is(err, ErrClosed) {
		t.Fatalf("apply after close: %v", err)
	}
	p.chain, _ = syncproto.NewChain(tenantA, p.key, seq, hash) // that delta was never applied

	e2 := openEnv(t, w, e.path)
	if s, h := e2.TenantSeq(tenantA); s != seq || h != hash || e2.StreamCursor() != cursor || e2.digest(t, tenantA) != digest {
		t.Fatalf("after reopen: seq %d cursor %d", s, e2.StreamCursor())
	}
	if e2.Staleness(tenantA) != 0 {
		t.Fatalf("checkpoint time not persisted: staleness %v", e2.Staleness(tenantA))
	}
	// No anchor header needed any more: the chain (and its key) persisted.
	m := p.delta(t, TypeAccountCreated, accountData(uid("y"), "active"))
	delete(m.Headers, HeaderAnchor)
	e2.mustApply(t, m)
	if e2.metric(t, "edge_replica_tenants", "") != 1 || e2.metric(t, "edge_replica_seq", "") != float64(m.StreamSeq) {
		t.Fatal("gauges not restored")
	}
}

func TestCheckpointsAndStaleness(t *testing.T) {
	w := newWorld(t)
	e := openEnv(t, w, "")
	p := w.tenant(t, tenantA)
	e.mustApply(t, p.rotate(t))
	if e.Staleness(tenantA) != Never || e.MaxStaleness() != Never || e.Staleness(tenantB) != Never {
		t.Fatal("a tenant without checkpoint must be infinitely stale")
	}
	ctx := context.Background()
	if err := e.AcceptCheckpoint(ctx, tenantA, p.checkpoint(t, baseTime.Add(-5*time.Second))); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(baseTime.Add(5 * time.Second))
	if got := e.MaxStaleness(); got != 10*time.Second {
		t.Fatalf("staleness %v", got)
	}
	if e.count(t, `SELECT count(*) FROM tenant_chains WHERE last_checkpoint_at = ?`,
		baseTime.Add(-5*time.Second).UnixMilli()) != 1 {
		t.Fatal("last_checkpoint_at not recorded")
	}
	old := p.checkpoint(t, baseTime.Add(-time.Minute))
	var re *RejectError
	if err := e.AcceptCheckpoint(ctx, tenantA, old); !errors.As(err, &re) || re.Reason != "stale" {
		t.Fatalf("stale checkpoint: %v", err)
	}
	if err := e.AcceptCheckpoint(ctx, tenantB, old); !errors.Is(err, ErrUnknownTenant) {
		t.Fatalf("unknown tenant: %v", err)
	}
	p.delta(t, TypeAccountCreated, accountData(uid("a"), "active")) // not applied: replica is behind
	if err := e.AcceptCheckpoint(ctx, tenantA, p.checkpoint(t, baseTime.Add(4*time.Second))); !errors.Is(err, ErrGap) {
		t.Fatalf("checkpoint ahead of the replica: %v", err)
	}
	if e.metric(t, "checkpoint_rejected_total", "gap") != 1 || e.metric(t, "checkpoint_accepted_total", "") != 1 {
		t.Fatal("checkpoint metrics")
	}
	if g := e.metric(t, "edge_replica_staleness_seconds", ""); g != 10 {
		t.Fatalf("staleness gauge %v", g)
	}
}

// TestReaderNeverSeesHalfADelta moves an organization back and forth while
// another connection checks, in one read transaction, that the cursor and
// the organization agree, and that a role deleted in one delta disappears
// with its bindings and permissions at once.
func TestReaderNeverSeesHalfADelta(t *testing.T) {
	w := newWorld(t)
	e := openEnv(t, w, "")
	p := w.tenant(t, tenantA)
	org, parentA, parentB, role, acct := uid("org"), uid("pa"), uid("pb"), uid("role"), uid("acct")
	e.mustApply(t, p.rotate(t),
		p.delta(t, TypeOrganizationCreated, orgData(parentA, "", "A", 0)),
		p.delta(t, TypeOrganizationCreated, orgData(parentB, "", "B", 0)),
		p.delta(t, TypeOrganizationCreated, orgData(org, parentA, "O", 1)),
		p.delta(t, TypeRoleCreated, roleData(role, "r", "x.y", "z.w")))
	for i := range 20 {
		e.mustApply(t, p.delta(t, TypeRoleBindingCreated, bindingData(uid(string(rune('a'+i))), acct, role, org)))
	}
	base := e.StreamCursor() // org under A at even offsets
	var moves []Message
	for i := range 300 {
		parent := parentB
		if i%2 == 1 {
			parent = parentA
		}
		moves = append(moves, p.delta(t, TypeOrganizationMoved, orgData(org, parent, "O", 1)))
	}
	roleGone := p.delta(t, TypeRoleDeleted, idData(role))

	reader, err := sql.Open("sqlite3", "file:"+e.path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var stop atomic.Bool
	var wg sync.WaitGroup
	var checks atomic.Int64
	errs := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if err := checkConsistent(reader, base, org, parentA, role); err != nil {
				errs <- err
				return
			}
			checks.Add(1)
		}
	}()
	e.mustApply(t, moves...)
	e.mustApply(t, roleGone)
	stop.Store(true)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	if err := checkConsistent(reader, base, org, parentA, role); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d consistent reads during %d deltas", checks.Load(), len(moves)+1)
}

func checkConsistent(db *sql.DB, base uint64, org, parentA, role string) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // read only
	var cursor uint64
	var parent string
	var roles, perms, binds int
	if err := tx.QueryRow(`SELECT seq FROM stream_cursor`).Scan(&cursor); err != nil {
		return err
	}
	if err := tx.QueryRow(`SELECT parent_id FROM organizations WHERE id = ?`, org).Scan(&parent); err != nil {
		return err
	}
	if err := tx.QueryRow(`SELECT (SELECT count(*) FROM roles WHERE id = ?1), (SELECT count(*) FROM role_permissions WHERE role_id = ?1),
		(SELECT count(*) FROM role_bindings WHERE role_id = ?1)`, role).Scan(&roles, &perms, &binds); err != nil {
		return err
	}
	if wantA := (cursor-base)%2 == 0 || cursor > base+300; (parent == parentA) != wantA {
		return errors.New("organization parent disagrees with the stream cursor")
	}
	if !(roles == 1 && perms == 2 && binds == 20 || roles == 0 && perms == 0 && binds == 0) {
		return errors.New("half a role.deleted visible")
	}
	return nil
}

// generatedTenant returns snapshot records and the equivalent deltas for a
// tenant with orgs, roles, accounts and bindings.
func generatedTenant(t testing.TB, tenant string, accounts, bindingsPer int) (records []cbor.RawMessage, deltas [][2]any) {
	t.Helper()
	add := func(typ string, data map[string]any) {
		records = append(records, record(t, typ, data))
		deltas = append(deltas, [2]any{typ, data})
	}
	add(TypeTenantCreated, tenantData(tenant, "Generated"))
	orgs := make([]string, 10)
	for i := range orgs {
		orgs[i] = uid(tenant + "org" + string(rune('a'+i)))
		parent := ""
		if i > 0 {
			parent = orgs[0]
		}
		add(TypeOrganizationCreated, orgData(orgs[i], parent, "Org", min(i, 1)))
	}
	roles := make([]string, bindingsPer)
	for i := range roles {
		roles[i] = uid(tenant + "role" + string(rune('a'+i)))
		add(TypeRoleCreated, roleData(roles[i], "role", "news.read", "news.publish"))
	}
	add(TypeSigningKeyPublished, jwtKeyData("jwt-1", "active"))
	for a := range accounts {
		acct := uid(tenant + "acct" + itoa(a))
		add(TypeAccountCreated, accountData(acct, "active"))
		for b := range bindingsPer {
			add(TypeRoleBindingCreated, bindingData(uid(tenant+"bind"+itoa(a)+"/"+itoa(b)), acct, roles[b], orgs[(a+b)%len(orgs)]))
		}
	}
	return records, deltas
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestSnapshotThenDeltas(t *testing.T) {
	w := newWorld(t)
	// Reference: the same state applied as deltas.
	ref := openEnv(t, w, "")
	p := w.tenant(t, tenantA)
	records, deltas := generatedTenant(t, tenantA, 1001, 10) // 10,010 bindings: indexes dropped and rebuilt
	ref.mustApply(t, p.rotate(t))
	for _, d := range deltas {
		ref.mustApply(t, p.delta(t, d[0].(string), d[1].(map[string]any)))
	}
	chunks := p.snapshotChunks(t, records, 5000)

	e := openEnv(t, w, "")
	other := w.tenant(t, tenantB)
	e.mustApply(t, other.rotate(t), other.delta(t, TypeTenantCreated, tenantData(tenantB, "B")))
	otherDigest, cursor := e.digest(t, tenantB), e.StreamCursor()
	ctx := context.Background()

	// Rejections first: nothing changes.
	for name, tc := range map[string]struct {
		chunks [][]byte
		cert   []byte
		reason string
	}{
		"missing_chunk": {chunks[:len(chunks)-1], p.cert, "gap"},
		"reordered":     {[][]byte{chunks[1], chunks[0]}, p.cert, "gap"},
		"foreign_root":  {chunks, other.cert, "bad_signature"},
		"no_anchor":     {chunks, nil, "anchor"},
	} {
		err := e.LoadSnapshot(ctx, tc.chunks, tc.cert, 1000)
		var re *RejectError
		if !errors.As(err, &re) || re.Reason != tc.reason {
			t.Fatalf("%s: %v, want %s", name, err, tc.reason)
		}
	}
	if e.digest(t, tenantA) != e.digest(t, uid("nobody")) || e.StreamCursor() != cursor {
		t.Fatal("a rejected snapshot changed the replica")
	}

	start := time.Now()
	if err := e.LoadSnapshot(ctx, chunks, p.cert, 50_000); err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d records in %v", len(records), time.Since(start))
	if got, want := e.digest(t, tenantA), ref.digest(t, tenantA); got != want {
		t.Fatalf("snapshot digest %s, delta digest %s", got, want)
	}
	if e.digest(t, tenantB) != otherDigest || e.StreamCursor() != 50_000 {
		t.Fatal("snapshot touched another tenant or the cursor is wrong")
	}
	if n := e.count(t, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'role_bindings'`); n != 3 {
		t.Fatalf("role_bindings has %d indexes after the load", n)
	}
	if e.Staleness(tenantA) != 0 {
		t.Fatal("snapshot time not taken as signed time")
	}
	// Deltas after the snapshot continue the chain; an old snapshot is a rollback.
	w.stream = 50_000
	next := p.delta(t, TypeAccountErased, idData(uid(tenantA+"acct0")))
	delete(next.Headers, HeaderAnchor)
	e.mustApply(t, next)
	ref.mustApply(t, withSeq(w, next))
	if e.digest(t, tenantA) != ref.digest(t, tenantA) {
		t.Fatal("digests diverge after the snapshot")
	}
	if err := e.LoadSnapshot(ctx, chunks, p.cert, 60_000); !errors.Is(err, syncproto.ErrRollback) {
		t.Fatalf("older snapshot: %v", err)
	}
	last := e.applied[len(e.applied)-2]
	if !last.Snapshot || last.Tenant != tenantA {
		t.Fatalf("OnApplied for the snapshot: %+v", last)
	}
}

func TestSnapshotRejectsDuplicatesAndTombstones(t *testing.T) {
	w := newWorld(t)
	e := openEnv(t, w, "")
	p := w.tenant(t, tenantA)
	p.rotate(t)
	acct := record(t, TypeAccountCreated, accountData(uid("a"), "active"))
	for name, tc := range map[string]struct {
		recs   []cbor.RawMessage
		reason string
	}{
		"duplicate": {[]cbor.RawMessage{acct, acct}, "payload"},
		"tombstone": {[]cbor.RawMessage{record(t, TypeAccountErased, idData(uid("a")))}, "unknown_type"},
		"garbage":   {[]cbor.RawMessage{record(t, TypeAccountCreated, map[string]any{"id": 7})}, "payload"},
	} {
		err := e.LoadSnapshot(context.Background(), p.snapshotChunks(t, tc.recs, 10), p.cert, 1)
		var re *RejectError
		if !errors.As(err, &re) || re.Reason != tc.reason {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if len(e.Tenants()) != 0 || e.StreamCursor() != 0 || e.count(t, `SELECT count(*) FROM accounts`) != 0 {
		t.Fatal("rejected snapshot left state")
	}
}
