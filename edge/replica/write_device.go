package replica

import (
	"github.com/melmastoon/iam/syncproto"
)

// DeviceDeltasKept is how many raw device.* deltas the replica keeps per
// device (the newest by version): enough for a device that was offline for
// a few changes; an older cursor gets a Device snapshot from core.
const DeviceDeltasKept = 16

// rawTables hold signed history for devices; a snapshot load keeps them,
// only the tenant tombstone empties them.
var rawTables = []string{"device_deltas", "tenant_key_rotations"}

func (c Device) write(tx execer, tenant string) error {
	return tx.exec(`INSERT INTO devices (tenant_id, id, account_id, name, platform, status, cert_serial, not_after, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, id) DO UPDATE SET account_id = excluded.account_id,
		name = excluded.name, platform = excluded.platform, status = excluded.status, cert_serial = excluded.cert_serial,
		not_after = excluded.not_after, version = excluded.version`,
		tenant, c.ID, c.AccountID, c.Name, c.Platform, c.Status, c.CertSerial, c.NotAfter, c.Version)
}

func (c Device) insert(tx execer, tenant string) error {
	return tx.exec(`INSERT INTO devices (tenant_id, id, account_id, name, platform, status, cert_serial, not_after, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tenant, c.ID, c.AccountID, c.Name, c.Platform, c.Status, c.CertSerial, c.NotAfter, c.Version)
}

func (c TenantCA) write(tx execer, tenant string) error {
	return tx.exec(`INSERT INTO tenant_cas (tenant_id, generation, bundle) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET generation = excluded.generation, bundle = excluded.bundle`,
		tenant, c.Generation, c.Bundle)
}

func (c TenantCA) insert(tx execer, tenant string) error {
	return tx.exec(`INSERT INTO tenant_cas (tenant_id, generation, bundle) VALUES (?, ?, ?)`, tenant, c.Generation, c.Bundle)
}

func (Device) tables() []string   { return []string{"devices"} }
func (TenantCA) tables() []string { return []string{"tenant_cas"} }

// writeRaw stores the signed bytes a device may need, in the delta's
// transaction: a device.* delta under its device and version (keeping the
// newest DeviceDeltasKept), a key rotation under its tenant sequence.
func writeRaw(tx execer, tenant string, env *syncproto.Envelope, changes []Change, raw []byte) error {
	if env.Type == syncproto.TypeKeyRotation {
		return tx.exec(`INSERT INTO tenant_key_rotations (tenant_id, seq, raw) VALUES (?, ?, ?)
			ON CONFLICT (tenant_id, seq) DO UPDATE SET raw = excluded.raw`, tenant, env.Seq, raw)
	}
	for _, c := range changes {
		d, ok := c.(Device)
		if !ok {
			continue
		}
		if err := tx.exec(`INSERT INTO device_deltas (tenant_id, device_id, version, type, raw) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, device_id, version) DO UPDATE SET type = excluded.type, raw = excluded.raw`,
			tenant, d.ID, d.Version, env.Type, raw); err != nil {
			return err
		}
		if err := tx.exec(`DELETE FROM device_deltas WHERE tenant_id = ? AND device_id = ? AND version <
			(SELECT version FROM device_deltas WHERE tenant_id = ? AND device_id = ? ORDER BY version DESC LIMIT 1 OFFSET ?)`,
			tenant, d.ID, tenant, d.ID, DeviceDeltasKept-1); err != nil {
			return err
		}
	}
	return nil
}
