package replica

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/melmastoon/iam/core/ca"
	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/syncproto"
	"github.com/melmastoon/iam/syncproto/devcert"
)

// caPayload returns a tenant_ca.published payload with a fresh CA of tenant.
func caPayload(t testing.TB, tenant string, generation int) map[string]any {
	t.Helper()
	key := make([]byte, keys.KEKSize)
	_, _ = rand.Read(key)
	kek, err := keys.NewLocalKEK(key)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := ca.NewCA(context.Background(), ca.CAConfig{TenantID: tenant, Encrypter: kek})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"generation": generation,
		"roots":         []any{base64.StdEncoding.EncodeToString(c.Root().Raw)},
		"intermediates": []any{base64.StdEncoding.EncodeToString(c.Issuing().Raw)}}
}

func deviceData(id, account, status string, version int) map[string]any {
	return map[string]any{"id": id, "account_id": account, "name": "Phone of " + account[:4], "platform": "android",
		"status": status, "cert_serial": fmt.Sprintf("%032x", version), "not_after": "2026-11-29T12:00:00Z",
		"version": version}
}

func deviceLine(id, account, status string, version int) string {
	return fmt.Sprintf("device %s %s %s %032x", id, account, status, version)
}

func TestDeviceDeltasAndCA(t *testing.T) {
	w := newWorld(t)
	e := openEnv(t, w, "")
	p := w.tenant(t, tenantA)
	dev, acct := uid("device"), uid("acct")
	rot := p.rotate(t)
	e.mustApply(t, rot, p.delta(t, TypeTenantCreated, tenantData(tenantA, "A")),
		p.delta(t, TypeTenantCAPublished, caPayload(t, tenantA, 1)),
		p.delta(t, TypeDeviceEnrolled, deviceData(dev, acct, "active", 1)))
	renewed := p.delta(t, TypeDeviceRenewed, deviceData(dev, acct, "active", 2))
	revoked := p.delta(t, TypeDeviceRevoked, deviceData(dev, acct, "revoked", 3))
	e.mustApply(t, renewed, revoked)

	d, err := e.Device(context.Background(), tenantA, dev)
	if err != nil || d.Status != DeviceRevoked || d.Version != 3 || d.AccountID != acct || d.Platform != "android" {
		t.Fatalf("device %+v, %v", d, err)
	}
	deltas, err := e.DeviceDeltas(context.Background(), tenantA, dev, 1)
	if err != nil || len(deltas) != 2 || deltas[0].Version != 2 || deltas[1].Type != TypeDeviceRevoked ||
		!bytes.Equal(deltas[0].Raw, renewed.Data) || !bytes.Equal(deltas[1].Raw, revoked.Data) {
		t.Fatalf("deltas after 1: %+v, %v", deltas, err)
	}
	rots, err := e.KeyRotations(context.Background(), tenantA)
	if err != nil || len(rots) != 1 || !bytes.Equal(rots[0], rot.Data) {
		t.Fatalf("key rotations %d, %v", len(rots), err)
	}
	caRow, err := e.TenantCA(context.Background(), tenantA)
	if err != nil || caRow.Generation != 1 {
		t.Fatalf("tenant CA %+v, %v", caRow, err)
	}
	if b, err := devcert.ParseTrustBundle(caRow.Bundle); err != nil || b.TenantID() != tenantA || len(b.Intermediates()) != 1 {
		t.Fatalf("stored bundle: %v", err)
	}
	want := digestOf("tenant "+tenantA+" t-"+tenantA[:8]+" active A", deviceLine(dev, acct, "revoked", 3), "tenant_ca 1")
	if got := e.digest(t, tenantA); got != want {
		t.Fatalf("digest %s, want %s", got, want)
	}
	// OnApplied sees the device change and the raw delta.
	e.mu.Lock()
	last := e.applied[len(e.applied)-1]
	e.mu.Unlock()
	if c, ok := last.Changes[0].(Device); !ok || c.ID != dev || c.Status != DeviceRevoked || !bytes.Equal(last.Raw, revoked.Data) {
		t.Fatalf("applied %+v", last)
	}
	if _, err := e.Device(context.Background(), tenantB, dev); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other tenant's device: %v", err)
	}
}

func TestDeviceDeltasKeepNewest(t *testing.T) {
	w := newWorld(t)
	e := openEnv(t, w, "")
	p := w.tenant(t, tenantA)
	dev, other, acct := uid("device"), uid("other"), uid("acct")
	e.mustApply(t, p.rotate(t), p.delta(t, TypeDeviceEnrolled, deviceData(other, acct, "active", 1)))
	for v := 1; v <= DeviceDeltasKept+4; v++ {
		e.mustApply(t, p.delta(t, TypeDeviceRenewed, deviceData(dev, acct, "active", v)))
	}
	deltas, err := e.DeviceDeltas(context.Background(), tenantA, dev, 0)
	if err != nil || len(deltas) != DeviceDeltasKept || deltas[0].Version != 5 {
		t.Fatalf("kept %d deltas from version %d: %v", len(deltas), deltas[0].Version, err)
	}
	if n := e.count(t, `SELECT count(*) FROM device_deltas WHERE device_id = ?`, other); n != 1 {
		t.Fatalf("other device has %d deltas", n)
	}
}

func TestDevicePayloadRejections(t *testing.T) {
	cases := map[string]struct {
		typ  string
		data func() map[string]any
	}{
		"unknown status": {TypeDeviceEnrolled, func() map[string]any { return deviceData(uid("d"), uid("a"), "suspended", 1) }},
		"bad not_after": {TypeDeviceRenewed, func() map[string]any {
			d := deviceData(uid("d"), uid("a"), "active", 1)
			d["not_after"] = "tomorrow"
			return d
		}},
		"version zero": {TypeDeviceEnrolled, func() map[string]any { return deviceData(uid("d"), uid("a"), "active", 0) }},
		"missing serial": {TypeDeviceRevoked, func() map[string]any {
			d := deviceData(uid("d"), uid("a"), "revoked", 1)
			delete(d, "cert_serial")
			return d
		}},
		"serial with space": {TypeDeviceEnrolled, func() map[string]any {
			d := deviceData(uid("d"), uid("a"), "active", 1)
			d["cert_serial"] = "ab cd"
			return d
		}},
		"ca of another tenant": {TypeTenantCAPublished, func() map[string]any { return caPayload(t, tenantB, 1) }},
		"ca without roots": {TypeTenantCAPublished, func() map[string]any {
			d := caPayload(t, tenantA, 1)
			d["roots"] = []any{}
			return d
		}},
		"ca not base64": {TypeTenantCAPublished, func() map[string]any {
			d := caPayload(t, tenantA, 1)
			d["intermediates"] = []any{"%%%"}
			return d
		}},
		"ca generation zero": {TypeTenantCAPublished, func() map[string]any { return caPayload(t, tenantA, 0) }},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			e := openEnv(t, w, "")
			p := w.tenant(t, tenantA)
			e.mustApply(t, p.rotate(t))
			before := e.digest(t, tenantA)
			_, err := e.Apply(context.Background(), p.delta(t, c.typ, c.data()))
			var re *RejectError
			if !errors.As(err, &re) || re.Reason != "payload" {
				t.Fatalf("got %v, want a payload rejection", err)
			}
			if e.digest(t, tenantA) != before || e.count(t, `SELECT count(*) FROM device_deltas`) != 0 {
				t.Fatal("a rejected delta changed the replica")
			}
		})
	}
}

func TestDeviceSnapshotAndTombstone(t *testing.T) {
	w := newWorld(t)
	e := openEnv(t, w, "")
	p := w.tenant(t, tenantA)
	dev, dev2, acct := uid("device"), uid("device2"), uid("acct")
	rot := p.rotate(t)
	old := p.delta(t, TypeDeviceEnrolled, deviceData(dev, acct, "active", 1))
	e.mustApply(t, rot, old)
	// The producer moves on; the edge loads a snapshot at the new head.
	p.signed(t, TypeDeviceRenewed, deviceData(dev, acct, "active", 2))
	records := []cbor.RawMessage{
		record(t, TypeTenantCreated, tenantData(tenantA, "A")),
		record(t, TypeTenantCAPublished, caPayload(t, tenantA, 2)),
		record(t, TypeDeviceEnrolled, deviceData(dev, acct, "active", 2)),
		record(t, TypeDeviceEnrolled, deviceData(dev2, acct, "revoked", 4)),
	}
	if err := e.LoadSnapshot(context.Background(), p.snapshotChunks(t, records, 2), p.cert, 10); err != nil {
		t.Fatal(err)
	}
	want := digestOf("tenant "+tenantA+" t-"+tenantA[:8]+" active A", deviceLine(dev, acct, "active", 2),
		deviceLine(dev2, acct, "revoked", 4), "tenant_ca 2")
	if got := e.digest(t, tenantA); got != want {
		t.Fatalf("snapshot digest %s, want %s", got, want)
	}
	// Raw history survives the snapshot: version 1 is still there, version 2
	// (applied through the snapshot) is not, and the key rotation is kept.
	if deltas, _ := e.DeviceDeltas(context.Background(), tenantA, dev, 0); len(deltas) != 1 || deltas[0].Version != 1 {
		t.Fatalf("raw deltas after snapshot: %+v", deltas)
	}
	if rots, _ := e.KeyRotations(context.Background(), tenantA); len(rots) != 1 {
		t.Fatalf("key rotations after snapshot: %d", len(rots))
	}
	if e.Keyring(tenantA) == nil || e.Keyring(tenantB) != nil {
		t.Fatal("keyring of a followed tenant missing, or of an unknown one present")
	}
	// The delta after the snapshot applies; the tombstone removes everything.
	w.stream = 10
	e.mustApply(t, p.message(TypeDeviceRevoked, p.signed(t, TypeDeviceRevoked, deviceData(dev, acct, "revoked", 3))))
	e.mustApply(t, p.message(TypeTenantDeleted, p.signed(t, TypeTenantDeleted, idData(tenantA))))
	for _, table := range append(append([]string{}, entityTables...), rawTables...) {
		if n := e.count(t, `SELECT count(*) FROM `+table+` WHERE tenant_id = ?`, tenantA); n != 0 {
			t.Errorf("tenant.deleted left %d rows in %s", n, table)
		}
	}
	if got := e.digest(t, tenantA); got != digestOf() {
		t.Fatalf("digest after tombstone %s", got)
	}
}

// A snapshot may not carry a device twice.
func TestDeviceSnapshotDuplicate(t *testing.T) {
	w := newWorld(t)
	e := openEnv(t, w, "")
	p := w.tenant(t, tenantA)
	p.signed(t, TypeTenantCreated, tenantData(tenantA, "A"))
	dev := uid("device")
	records := []cbor.RawMessage{
		record(t, TypeDeviceEnrolled, deviceData(dev, uid("a"), "active", 1)),
		record(t, TypeDeviceEnrolled, deviceData(dev, uid("a"), "active", 2)),
	}
	err := e.LoadSnapshot(context.Background(), p.snapshotChunks(t, records, 10), p.cert, 1)
	var re *RejectError
	if !errors.As(err, &re) || re.Reason != "payload" {
		t.Fatalf("got %v", err)
	}
	_ = syncproto.ZeroHash
}
