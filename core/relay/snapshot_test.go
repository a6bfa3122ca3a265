package relay_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/melmastoon/iam/core/relay"
	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/edge/replica"
	"github.com/melmastoon/iam/syncproto"
)

// seedTenant writes one tenant's replicated data of every kind: nested
// organizations, accounts, a role with permissions, bindings, a revoked
// session, a JWT signing key and two feature flags (one set twice).
func (e *env) seedTenant(slug string, accounts int) store.TenantID {
	e.t.Helper()
	ctx := testCtx(e.t)
	id := e.createTenant(slug)
	err := e.store.InTenantSlug(ctx, slug, func(tx *store.Tx) error {
		root, err := tx.CreateOrganization(ctx, actor, "County", nil)
		if err != nil {
			return err
		}
		child, err := tx.CreateOrganization(ctx, actor, "Town hall", &root.ID)
		if err != nil {
			return err
		}
		role, err := tx.CreateRole(ctx, actor, "editor", []string{"news.edit", "news.publish"})
		if err != nil {
			return err
		}
		for i := range accounts {
			acc, err := tx.CreateAccount(ctx, actor, fmt.Sprintf("%s-user%d", slug, i), fmt.Sprintf("u%d@%s.example", i, slug), "")
			if err != nil {
				return err
			}
			org := root.ID
			if i%2 == 1 {
				org = child.ID
			}
			if _, err := tx.CreateBinding(ctx, actor, acc.ID, role.ID, org); err != nil {
				return err
			}
		}
		if _, err := tx.SetFlag(ctx, actor, store.FlagAuthentication, true, 10, nil); err != nil {
			return err
		}
		if _, err := tx.SetFlag(ctx, actor, store.FlagAuthentication, true, 50, nil); err != nil {
			return err
		}
		if _, err := tx.SetFlag(ctx, actor, store.FlagPermissionCaching, false, 0, nil); err != nil {
			return err
		}
		pub := make([]byte, 32)
		_, _ = rand.Read(pub)
		now := time.Now().UTC()
		return tx.PutSigningKey(ctx, actor, store.StoredKey{KID: "k-" + slug, PublicKey: pub, PrivateSealed: []byte("sealed"),
			KEKID: "test", State: "active", PublishedAt: now, NotBefore: now}, true)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	// A revoked session (sessions are created by sign-in; insert one directly).
	var account string
	if err := e.admin.QueryRow(ctx, `SELECT id::text FROM accounts WHERE tenant_id = $1 ORDER BY id LIMIT 1`, id.String()).Scan(&account); err != nil {
		e.t.Fatal(err)
	}
	sid := uuid.New()
	if _, err := e.admin.Exec(ctx, `INSERT INTO sessions (tenant_id, id, account_id, expires_at) VALUES ($1, $2, $3, now() + interval '1 hour')`,
		id.String(), sid, account); err != nil {
		e.t.Fatal(err)
	}
	err = e.store.InTenantSlug(ctx, slug, func(tx *store.Tx) error {
		accID, _ := store.ParseAccountID(account)
		_, err := tx.RevokeSessions(ctx, actor, accID, nil, "session.revoke", "test")
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) coreDigest(id store.TenantID) string {
	e.t.Helper()
	var d string
	err := e.store.InTenant(testCtx(e.t), id, func(tx *store.Tx) (err error) { d, err = tx.ReplicaDigest(testCtx(e.t)); return err })
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func openReplica(t *testing.T, sys syncproto.SigningKey) *replica.Replica {
	t.Helper()
	r, err := replica.Open(context.Background(), replica.Config{Path: filepath.Join(t.TempDir(), "replica.db"),
		SystemAnchor: sys, Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func TestSnapshotLoadsIntoReplicaWithCoreDigest(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	run := e.startRelay(e.config())
	acme := e.seedTenant("acme", 25)
	globex := e.seedTenant("globex", 3)
	e.waitAllPublished(30 * time.Second)

	tenants, err := run.relay.ChainTenants(ctx)
	if err != nil || len(tenants) != 2 {
		t.Fatalf("ChainTenants = %v, %v", tenants, err)
	}
	sys, err := run.relay.SystemAnchor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rep := openReplica(t, sys)
	for _, id := range []store.TenantID{acme, globex} {
		start := time.Now()
		chunks, cert, streamSeq, err := run.relay.Snapshot(ctx, id.String(), 10) // several chunks
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		if id == acme && len(chunks) < 5 {
			t.Fatalf("%d chunks, want several", len(chunks))
		}
		if streamSeq == 0 {
			t.Fatal("stream seq 0")
		}
		if err := rep.LoadSnapshot(ctx, chunks, cert, streamSeq); err != nil {
			t.Fatalf("LoadSnapshot: %v", err)
		}
		got, err := rep.Digest(ctx, id.String())
		if err != nil {
			t.Fatal(err)
		}
		if want := e.coreDigest(id); got != want {
			t.Fatalf("tenant %s: replica digest %s, core %s", id, got, want)
		}
		t.Logf("tenant %s: %d chunks at stream seq %d in %v", id, len(chunks), streamSeq, took)
	}
	if rep.StreamCursor() == 0 {
		t.Fatal("cursor not set")
	}

	// Deltas after the snapshot continue the chain on the replica.
	if err := e.createAccounts("acme", 100, 3); err != nil {
		t.Fatal(err)
	}
	if err := e.store.InTenant(ctx, acme, func(tx *store.Tx) error {
		if _, err := tx.SetFlag(ctx, actor, store.FlagAuthentication, false, 50, nil); err != nil {
			return err
		}
		_, err := tx.SetFlag(ctx, actor, store.FlagAuthorization, true, 5, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e.waitAllPublished(30 * time.Second)
	msgs := e.streamMessages()
	for _, m := range msgs {
		if m.Sequence <= rep.StreamCursor() {
			continue
		}
		h := map[string]string{}
		for k, v := range m.Header {
			h[k] = v[0]
		}
		if _, err := rep.Apply(ctx, replica.Message{StreamSeq: m.Sequence, Subject: m.Subject, Data: m.Data, Headers: h}); err != nil {
			t.Fatalf("apply stream seq %d after the snapshot: %v", m.Sequence, err)
		}
	}
	got, _ := rep.Digest(ctx, acme.String())
	if want := e.coreDigest(acme); got != want {
		t.Fatalf("after deltas: replica digest %s, core %s", got, want)
	}
	var flags int
	if err := rep.Reader().QueryRowContext(ctx, `SELECT count(*) FROM feature_flags WHERE tenant_id = ? AND
		(name = 'iam_authentication_enabled' AND enabled = 0 AND rollout_percent = 50 AND version = 3
		 OR name = 'iam_authorization_enabled' AND enabled = 1 AND rollout_percent = 5 AND version = 1
		 OR name = 'iam_permission_caching_enabled' AND enabled = 0 AND rollout_percent = 0 AND version = 1)`,
		acme.String()).Scan(&flags); err != nil || flags != 3 {
		t.Fatalf("replica flags after deltas: %d of 3 as expected (err %v)", flags, err)
	}
}

func TestSnapshotOfTenantWithoutChain(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	r, err := relay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	id := e.createTenant("lonely") // the relay is not running: no chain
	_, _, _, err = r.Snapshot(testCtx(t), id.String(), 0)
	if !errors.Is(err, relay.ErrNoChain) {
		t.Fatalf("err = %v, want ErrNoChain", err)
	}
}
