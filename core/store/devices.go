package store

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/iam/syncproto/devproto"
)

// DeviceID identifies an enrolled device.
type DeviceID struct{ uuid.UUID }

// ParseDeviceID parses s, returning ErrInvalidID when it is not a UUID.
func ParseDeviceID(s string) (DeviceID, error) { u, err := parse(s); return DeviceID{u}, err }

// NewDeviceID returns a fresh device id (a UUIDv7); enrollment needs it
// before the row exists, because the certificate names it.
func NewDeviceID() DeviceID { return DeviceID{newID()} }

// Device statuses.
const (
	DeviceActive  = "active"
	DeviceRevoked = "revoked"
)

// ErrDeviceNotFound reports a device id that names no device of the tenant.
var ErrDeviceNotFound = errors.Join(errors.New("store: device not found"), ErrNotFound)

// ErrDeviceRevoked reports a renewal of a revoked device.
var ErrDeviceRevoked = errors.New("store: device is revoked")

// Device is an enrolled device of an account.
type Device struct {
	ID         DeviceID
	AccountID  AccountID
	Name       string
	Platform   string
	Status     string
	PublicKey  []byte // Ed25519, 32 bytes
	CertSerial string // lowercase hex, as core/ca renders it
	NotAfter   time.Time
	LastSeen   *time.Time
	Version    int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
	RevokedAt  *time.Time
}

// Payload is what replicates (devproto.DevicePayload): every device.*
// delta carries the complete entity.
func (d Device) Payload() devproto.DevicePayload {
	return devproto.DevicePayload{ID: d.ID.String(), AccountID: d.AccountID.String(), Name: d.Name, Platform: d.Platform,
		Status: d.Status, CertSerial: d.CertSerial, NotAfter: FormatNotAfter(d.NotAfter), Version: d.Version}
}

// FormatNotAfter renders a certificate NotAfter as devproto wants it:
// RFC 3339, UTC, whole seconds.
func FormatNotAfter(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// NewDevice is what enrollment records.
type NewDevice struct {
	ID         DeviceID
	Account    AccountID
	Name       string
	Platform   string
	PublicKey  []byte
	CertSerial string
	NotAfter   time.Time
}

const deviceColumns = `id, account_id, name, platform, status, public_key, cert_serial, not_after, last_seen,
	version, created_at, updated_at, revoked_at`

func scanDevice(row pgx.Row) (Device, error) {
	var d Device
	err := row.Scan(&d.ID, &d.AccountID, &d.Name, &d.Platform, &d.Status, &d.PublicKey, &d.CertSerial, &d.NotAfter,
		&d.LastSeen, &d.Version, &d.CreatedAt, &d.UpdatedAt, &d.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, ErrDeviceNotFound
	}
	return d, err
}

// ValidateDeviceInput checks a device's name (1-200 characters) and
// platform (at most 100).
func ValidateDeviceInput(name, platform string) error {
	if err := checkName("name", name); err != nil {
		return err
	}
	if len([]rune(platform)) > 100 {
		return &FieldError{Field: "platform", Reason: "must be at most 100 characters"}
	}
	return nil
}

// CreateDevice records an enrolled device with one audit row
// (device.enroll) and one device.enrolled outbox row. A public key already
// used by an active device of the tenant is a DuplicateError.
func (t *Tx) CreateDevice(ctx context.Context, actor Actor, n NewDevice) (Device, error) {
	if err := ValidateDeviceInput(n.Name, n.Platform); err != nil {
		return Device{}, err
	}
	now := t.now()
	d, err := scanDevice(t.queryRow(ctx, `INSERT INTO devices
		(tenant_id, id, account_id, name, platform, status, public_key, cert_serial, not_after, last_seen, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8, $9, $9, $9) RETURNING `+deviceColumns,
		t.tenant.UUID, n.ID.UUID, n.Account.UUID, n.Name, n.Platform, n.PublicKey, n.CertSerial, n.NotAfter, now))
	if err != nil {
		return Device{}, err
	}
	return d, t.recordDevice(ctx, actor, "device.enroll", devproto.DeviceEnrolledType, d, nil)
}

func (t *Tx) recordDevice(ctx context.Context, actor Actor, action, typ string, d Device, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	details["account_id"], details["cert_serial"] = d.AccountID.String(), d.CertSerial
	return t.record(ctx, actor,
		AuditEvent{Action: action, TargetType: "device", TargetID: d.ID.String(), Details: details},
		Event{Type: typ, Subject: d.ID.String(), Data: d.Payload()})
}

// GetDevice returns a device of the tenant.
func (t *Tx) GetDevice(ctx context.Context, id DeviceID) (Device, error) {
	return scanDevice(t.queryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE tenant_id = $1 AND id = $2`,
		t.tenant.UUID, id.UUID))
}

// ListDevices lists the tenant's devices (only account's when non-nil)
// in id order, after the id after.
func (t *Tx) ListDevices(ctx context.Context, account *AccountID, after *DeviceID, limit int) ([]Device, error) {
	rows, err := t.query(ctx, `SELECT `+deviceColumns+` FROM devices
		WHERE tenant_id = $1 AND ($2::uuid IS NULL OR account_id = $2) AND ($3::uuid IS NULL OR id > $3)
		ORDER BY id LIMIT $4`, t.tenant.UUID, account, after, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanDevice)
}

// RenewDevice records a new certificate of an active device: serial and
// not_after replaced, version+1, last_seen now; one audit row
// (device.renew) and one device.renewed outbox row. A revoked device is
// ErrDeviceRevoked and changes nothing.
func (t *Tx) RenewDevice(ctx context.Context, actor Actor, id DeviceID, serial string, notAfter time.Time) (Device, error) {
	d, err := scanDevice(t.queryRow(ctx, `UPDATE devices SET cert_serial = $3, not_after = $4, last_seen = $5,
		updated_at = $5, version = version + 1 WHERE tenant_id = $1 AND id = $2 AND status = 'active'
		RETURNING `+deviceColumns, t.tenant.UUID, id.UUID, serial, notAfter, t.now()))
	if errors.Is(err, ErrDeviceNotFound) {
		if cur, gerr := t.GetDevice(ctx, id); gerr == nil && cur.Status == DeviceRevoked {
			return Device{}, ErrDeviceRevoked
		}
	}
	if err != nil {
		return Device{}, err
	}
	return d, t.recordDevice(ctx, actor, "device.renew", devproto.DeviceRenewedType, d, nil)
}

// RevokeDevice revokes a device: status revoked, revoked_at now,
// version+1, one audit row (device.revoke) and one device.revoked outbox
// row. Revoking a revoked device changes nothing and reports changed
// false (idempotent).
func (t *Tx) RevokeDevice(ctx context.Context, actor Actor, id DeviceID) (d Device, changed bool, err error) {
	d, err = scanDevice(t.queryRow(ctx, `UPDATE devices SET status = 'revoked', revoked_at = $3, updated_at = $3,
		version = version + 1 WHERE tenant_id = $1 AND id = $2 AND status = 'active' RETURNING `+deviceColumns,
		t.tenant.UUID, id.UUID, t.now()))
	if errors.Is(err, ErrDeviceNotFound) {
		d, err = t.GetDevice(ctx, id)
		return d, false, err
	}
	if err != nil {
		return Device{}, false, err
	}
	return d, true, t.recordDevice(ctx, actor, "device.revoke", devproto.DeviceRevokedType, d, nil)
}

// TouchDevice records that the device was seen now. last_seen does not
// replicate, so this writes neither audit nor outbox.
func (t *Tx) TouchDevice(ctx context.Context, id DeviceID) error {
	_, err := t.exec(ctx, `UPDATE devices SET last_seen = $3 WHERE tenant_id = $1 AND id = $2`, t.tenant.UUID, id.UUID, t.now())
	return err
}
