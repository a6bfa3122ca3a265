package relay_test

import (
	"bytes"
	"encoding/base64"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/melmastoon/iam/core/relay"
	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/syncproto"
	"github.com/melmastoon/iam/syncproto/devproto"
)

// TestSnapshotCarriesDevicesAndTenantCA checks the device and tenant CA
// records of a tenant snapshot: the same payloads their deltas carry.
func TestSnapshotCarriesDevicesAndTenantCA(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	run := e.startRelay(e.config())
	id := e.createTenant("acme")
	var dev store.Device
	err := e.store.InTenant(ctx, id, func(tx *store.Tx) error {
		acc, err := tx.CreateAccount(ctx, actor, "alice", "alice@acme.example", "")
		if err != nil {
			return err
		}
		if err := tx.LockTenantCA(ctx); err != nil {
			return err
		}
		for _, gen := range []string{"1", "2"} {
			if _, err := tx.AddTenantCA(ctx, actor, "tenant_ca.create", store.TenantCA{RootCert: []byte("root"), RootKeySealed: []byte("k"),
				RootKEKID: "kek", IssuingCert: []byte("issuing " + gen), IssuingKeySealed: []byte("k"), KEKID: "kek",
				NotAfter: time.Now().Add(time.Hour)}); err != nil {
				return err
			}
		}
		dev, err = tx.CreateDevice(ctx, actor, store.NewDevice{ID: store.NewDeviceID(), Account: acc.ID, Name: "phone",
			Platform: "ios", PublicKey: bytes.Repeat([]byte{9}, 32), CertSerial: "0123456789abcdef0123456789abcdef",
			NotAfter: time.Now().Add(7 * 24 * time.Hour)})
		if err != nil {
			return err
		}
		dev, _, err = tx.RevokeDevice(ctx, actor, dev.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.waitAllPublished(30 * time.Second)
	chunks, _, _, err := run.relay.Snapshot(ctx, id.String(), 0)
	if err != nil {
		t.Fatal(err)
	}
	recs := map[string]cbor.RawMessage{}
	for _, c := range chunks {
		var msg cbor.Tag
		if err := cbor.Unmarshal(c, &msg); err != nil {
			t.Fatal(err)
		}
		arr := msg.Content.([]any)
		sn, err := syncproto.DecodeSnapshot(arr[2].([]byte))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range sn.Records {
			var rec struct {
				Type string          `cbor:"type"`
				Data cbor.RawMessage `cbor:"data"`
			}
			if err := cbor.Unmarshal(r, &rec); err != nil {
				t.Fatal(err)
			}
			recs[rec.Type] = rec.Data
		}
	}
	var ca devproto.TenantCAPayload
	if err := cbor.Unmarshal(recs[devproto.TenantCAType], &ca); err != nil {
		t.Fatalf("tenant_ca record: %v", err)
	}
	want := base64.StdEncoding.EncodeToString([]byte("issuing 2"))
	if ca.Generation != 2 || len(ca.Roots) != 2 || len(ca.Intermediates) != 2 || ca.Intermediates[1] != want {
		t.Fatalf("tenant_ca record = %+v", ca)
	}
	wantDev, err := syncproto.EncodeData(dev.Payload())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(recs[devproto.DeviceEnrolledType], wantDev) {
		t.Fatalf("device record differs from its delta payload")
	}
	// The published device.revoked delta carries the same bytes.
	var data []byte
	if err := e.admin.QueryRow(ctx, `SELECT data::text FROM outbox WHERE type = $1`, devproto.DeviceRevokedType).Scan(&data); err != nil {
		t.Fatal(err)
	}
	fromOutbox, err := relay.DataToCBOR(data)
	if err != nil || !bytes.Equal(fromOutbox, wantDev) {
		t.Fatalf("device.revoked delta data differs from the snapshot record (%v)", err)
	}
}
