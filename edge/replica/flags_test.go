package replica

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/melmastoon/iam/syncproto"
)

func flagData(name string, enabled bool, pct, version int) map[string]any {
	return map[string]any{"name": name, "enabled": enabled, "rollout_percent": pct, "version": version,
		"updated_at": "2026-11-22T12:00:00Z"}
}

// digestOf is the replica digest of the given lines (docs/deltas.md).
func digestOf(lines ...string) string {
	slices.Sort(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:])
}

func TestFeatureFlagDeltas(t *testing.T) {
	w := newWorld(t)
	e := openEnv(t, w, "")
	p := w.tenant(t, tenantA)
	tenantLine := "tenant " + tenantA + " t-" + tenantA[:8] + " active A"
	e.mustApply(t, p.rotate(t), p.delta(t, TypeTenantCreated, tenantData(tenantA, "A")))
	if got, want := e.digest(t, tenantA), digestOf(tenantLine); got != want {
		t.Fatalf("digest without flags %s, want %s", got, want)
	}

	e.mustApply(t,
		p.delta(t, TypeFeatureFlagSet, flagData("iam_authorization_enabled", true, 10, 1)),
		p.delta(t, TypeFeatureFlagSet, flagData("iam_permission_caching_enabled", false, 0, 1)),
	)
	if got, want := e.digest(t, tenantA), digestOf(tenantLine,
		"flag iam_authorization_enabled true 10", "flag iam_permission_caching_enabled false 0"); got != want {
		t.Fatalf("digest %s, want %s", got, want)
	}
	// An upsert replaces the rule.
	e.mustApply(t, p.delta(t, TypeFeatureFlagSet, flagData("iam_authorization_enabled", false, 100, 2)))
	if n := e.count(t, `SELECT count(*) FROM feature_flags WHERE tenant_id = ? AND name = 'iam_authorization_enabled'
		AND enabled = 0 AND rollout_percent = 100 AND version = 2`, tenantA); n != 1 {
		t.Fatal("flag not updated")
	}
	if n := e.count(t, `SELECT count(*) FROM feature_flags WHERE tenant_id = ?`, tenantA); n != 2 {
		t.Fatalf("%d flag rows, want 2", n)
	}
	last := e.applied[len(e.applied)-1].Changes
	if len(last) != 1 || last[0] != (FeatureFlag{Name: "iam_authorization_enabled", Enabled: false, RolloutPercent: 100, Version: 2}) {
		t.Fatalf("OnApplied change = %#v", last)
	}

	// Bad payloads are rejected and change nothing.
	before, cursor := e.digest(t, tenantA), e.StreamCursor()
	for name, data := range map[string]map[string]any{
		"unknown name":     flagData("iam_everything_enabled", true, 10, 3),
		"percent above":    flagData("iam_authorization_enabled", true, 101, 3),
		"negative percent": flagData("iam_authorization_enabled", true, -1, 3),
		"enabled as int":   {"name": "iam_authorization_enabled", "enabled": 1, "rollout_percent": 10, "version": 3},
		"missing enabled":  {"name": "iam_authorization_enabled", "rollout_percent": 10, "version": 3},
		"missing percent":  {"name": "iam_authorization_enabled", "enabled": true, "version": 3},
		"percent as text":  {"name": "iam_authorization_enabled", "enabled": true, "rollout_percent": "10", "version": 3},
		"missing name":     {"enabled": true, "rollout_percent": 10, "version": 3},
	} {
		seq, head := p.chain.Head()
		_, err := e.Apply(context.Background(), p.delta(t, TypeFeatureFlagSet, data))
		var re *RejectError
		if !errors.As(err, &re) || re.Reason != "payload" || !errors.Is(err, ErrPayload) {
			t.Errorf("%s: err = %v, want a payload rejection", name, err)
		}
		p.chain, _ = syncproto.NewChain(tenantA, p.key, seq, head) // the rejected delta is not applied
	}
	if e.digest(t, tenantA) != before || e.StreamCursor() != cursor {
		t.Fatal("a rejected flag delta changed the replica")
	}

	// The tenant tombstone removes the flags.
	e.mustApply(t, p.delta(t, TypeTenantDeleted, idData(tenantA)))
	if n := e.count(t, `SELECT count(*) FROM feature_flags WHERE tenant_id = ?`, tenantA); n != 0 {
		t.Fatalf("tenant.deleted left %d flag rows", n)
	}
}

func TestSnapshotWithFeatureFlags(t *testing.T) {
	w := newWorld(t)
	p := w.tenant(t, tenantA)
	ref := openEnv(t, w, "")
	ref.mustApply(t, p.rotate(t),
		p.delta(t, TypeTenantCreated, tenantData(tenantA, "A")),
		p.delta(t, TypeFeatureFlagSet, flagData("iam_authentication_enabled", true, 50, 3)),
		p.delta(t, TypeFeatureFlagSet, flagData("iam_authorization_enabled", false, 0, 1)),
	)
	records := []cbor.RawMessage{
		record(t, TypeTenantCreated, tenantData(tenantA, "A")),
		record(t, TypeFeatureFlagSet, flagData("iam_authentication_enabled", true, 50, 3)),
		record(t, TypeFeatureFlagSet, flagData("iam_authorization_enabled", false, 0, 1)),
	}
	e := openEnv(t, w, "")
	// The replica held other flag rows for the tenant: the snapshot replaces them.
	q := w.tenant(t, tenantA)
	e.mustApply(t, q.rotate(t), q.delta(t, TypeFeatureFlagSet, flagData("iam_permission_caching_enabled", false, 0, 1)))
	if err := e.LoadSnapshot(context.Background(), p.snapshotChunks(t, records, 2), p.cert, 100); err != nil {
		t.Fatal(err)
	}
	if got, want := e.digest(t, tenantA), ref.digest(t, tenantA); got != want {
		t.Fatalf("snapshot digest %s, delta digest %s", got, want)
	}
	if n := e.count(t, `SELECT count(*) FROM feature_flags WHERE tenant_id = ?`, tenantA); n != 2 {
		t.Fatalf("%d flag rows after the snapshot, want 2", n)
	}
	// A duplicate flag record or an invalid one is refused.
	for name, recs := range map[string][]cbor.RawMessage{
		"duplicate": {records[1], records[1]},
		"invalid":   {record(t, TypeFeatureFlagSet, flagData("iam_authorization_enabled", true, 300, 1))},
	} {
		err := openEnv(t, w, "").LoadSnapshot(context.Background(), p.snapshotChunks(t, recs, 10), p.cert, 1)
		var re *RejectError
		if !errors.As(err, &re) || re.Reason != "payload" {
			t.Fatalf("%s: %v", name, err)
		}
	}
}
