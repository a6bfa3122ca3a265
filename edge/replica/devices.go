package replica

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/melmastoon/iam/syncproto"
)

// ErrNotFound reports that the replica holds no such row (Device, TenantCA).
var ErrNotFound = errors.New("replica: not found")

// DeviceDelta is one stored device.* delta: its entity version, delta type
// and COSE_Sign1 bytes exactly as received.
type DeviceDelta struct {
	Version int64
	Type    string
	Raw     []byte
}

// Device returns the replicated Device id of tenant, or ErrNotFound.
func (r *Replica) Device(ctx context.Context, tenant, id string) (Device, error) {
	if err := r.checkOpen(); err != nil {
		return Device{}, err
	}
	d := Device{ID: id}
	err := r.reader.QueryRowContext(ctx, `SELECT account_id, name, platform, status, cert_serial, not_after, version
		FROM devices WHERE tenant_id = ? AND id = ?`, tenant, id).
		Scan(&d.AccountID, &d.Name, &d.Platform, &d.Status, &d.CertSerial, &d.NotAfter, &d.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return Device{}, ErrNotFound
	}
	if err != nil {
		return Device{}, fmt.Errorf("replica: read device: %w", err)
	}
	return d, nil
}

// DeviceDeltas returns the stored deltas of the device with a version
// above after, in version order (at most DeviceDeltasKept). None means the
// replica holds nothing newer, or never received the raw deltas (a
// snapshot bootstrap): compare with Device's version.
func (r *Replica) DeviceDeltas(ctx context.Context, tenant, id string, after int64) ([]DeviceDelta, error) {
	if err := r.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := r.reader.QueryContext(ctx, `SELECT version, type, raw FROM device_deltas
		WHERE tenant_id = ? AND device_id = ? AND version > ? ORDER BY version`, tenant, id, after)
	if err != nil {
		return nil, fmt.Errorf("replica: read device deltas: %w", err)
	}
	defer rows.Close()
	var out []DeviceDelta
	for rows.Next() {
		var d DeviceDelta
		if err := rows.Scan(&d.Version, &d.Type, &d.Raw); err != nil {
			return nil, fmt.Errorf("replica: read device deltas: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// KeyRotations returns the tenant's stored key rotation deltas (raw
// COSE_Sign1, root-signed) in sequence order.
func (r *Replica) KeyRotations(ctx context.Context, tenant string) ([][]byte, error) {
	if err := r.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := r.reader.QueryContext(ctx, `SELECT raw FROM tenant_key_rotations WHERE tenant_id = ? ORDER BY seq`, tenant)
	if err != nil {
		return nil, fmt.Errorf("replica: read key rotations: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("replica: read key rotations: %w", err)
		}
		out = append(out, raw)
	}
	return out, rows.Err()
}

// TenantCA returns the tenant's latest published CA, or ErrNotFound.
func (r *Replica) TenantCA(ctx context.Context, tenant string) (TenantCA, error) {
	if err := r.checkOpen(); err != nil {
		return TenantCA{}, err
	}
	var ca TenantCA
	err := r.reader.QueryRowContext(ctx, `SELECT generation, bundle FROM tenant_cas WHERE tenant_id = ?`, tenant).
		Scan(&ca.Generation, &ca.Bundle)
	if errors.Is(err, sql.ErrNoRows) {
		return TenantCA{}, ErrNotFound
	}
	if err != nil {
		return TenantCA{}, fmt.Errorf("replica: read tenant CA: %w", err)
	}
	return ca, nil
}

// Keyring returns the tenant's current delta keyring (root and
// delta-signing keys), for checking a signed Device snapshot with
// syncproto.VerifyStandalone; nil for a tenant the replica does not follow.
func (r *Replica) Keyring(tenant string) *syncproto.Keyring {
	ch := r.chain(tenant)
	if ch == nil {
		return nil
	}
	return ch.verifier.Keyring()
}
