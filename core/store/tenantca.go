package store

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/melmastoon/iam/syncproto/devproto"
)

// TenantCA is one generation of a tenant's device CA as stored: DER
// certificates and KEK-sealed private keys (core/ca.Sealed).
type TenantCA struct {
	Generation       int64
	RootCert         []byte
	RootKeySealed    []byte
	RootKEKID        string
	IssuingCert      []byte
	IssuingKeySealed []byte
	KEKID            string
	State            string // active | retired
	NotAfter         time.Time
	CreatedAt        time.Time
}

// TenantCA states.
const (
	CAActive  = "active"
	CARetired = "retired"
)

// TenantCAs returns every generation of the tenant's CA, oldest first.
func (t *Tx) TenantCAs(ctx context.Context) ([]TenantCA, error) {
	rows, err := t.query(ctx, `SELECT generation, root_cert, root_key_sealed, root_kek_id, issuing_cert, issuing_key_sealed,
		kek_id, state, not_after, created_at FROM tenant_cas WHERE tenant_id = $1 ORDER BY generation`, t.tenant.UUID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TenantCA
	for rows.Next() {
		var c TenantCA
		if err := rows.Scan(&c.Generation, &c.RootCert, &c.RootKeySealed, &c.RootKEKID, &c.IssuingCert, &c.IssuingKeySealed,
			&c.KEKID, &c.State, &c.NotAfter, &c.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// LockTenantCA serialises CA creation and rotation of the tenant for this
// transaction.
func (t *Tx) LockTenantCA(ctx context.Context) error {
	_, err := t.exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('iam.tenant_ca:' || $1::text, 0))`, t.tenant.UUID)
	return err
}

// AddTenantCA stores c as the tenant's next generation (its Generation is
// assigned) and publishes the CA: one audit row (action) and one
// tenant_ca.published outbox row listing every active generation. Call
// LockTenantCA first.
func (t *Tx) AddTenantCA(ctx context.Context, actor Actor, action string, c TenantCA) (TenantCA, error) {
	err := t.queryRow(ctx, `INSERT INTO tenant_cas (tenant_id, generation, root_cert, root_key_sealed, root_kek_id,
		issuing_cert, issuing_key_sealed, kek_id, state, not_after, created_at)
		SELECT $1, coalesce(max(generation), 0) + 1, $2, $3, $4, $5, $6, $7, 'active', $8, $9
		FROM tenant_cas WHERE tenant_id = $1 RETURNING generation`,
		t.tenant.UUID, c.RootCert, c.RootKeySealed, c.RootKEKID, c.IssuingCert, c.IssuingKeySealed, c.KEKID, c.NotAfter, t.now()).
		Scan(&c.Generation)
	if err != nil {
		return TenantCA{}, err
	}
	c.State, c.CreatedAt = CAActive, t.now()
	return c, t.publishTenantCA(ctx, actor, AuditEvent{Action: action, TargetType: "tenant_ca",
		TargetID: t.tenant.String(), Details: map[string]any{"generation": c.Generation}})
}

// RetireExpiredTenantCAs retires the oldest active generations whose
// issuing certificate has expired at now, never the newest one, and only
// as a prefix (so the active generations stay contiguous, which the
// tenant_ca payload relies on). When it retires any, it republishes the
// CA (one audit row tenant_ca.retire, one outbox row). It returns how many
// it retired.
func (t *Tx) RetireExpiredTenantCAs(ctx context.Context, actor Actor) (int, error) {
	tag, err := t.exec(ctx, `UPDATE tenant_cas SET state = 'retired' WHERE tenant_id = $1 AND state = 'active'
		AND generation < (SELECT coalesce(min(generation), 0) FROM tenant_cas
		                  WHERE tenant_id = $1 AND state = 'active' AND not_after > $2)
		AND generation < (SELECT max(generation) FROM tenant_cas WHERE tenant_id = $1)`, t.tenant.UUID, t.now())
	if err != nil || tag.RowsAffected() == 0 {
		return 0, err
	}
	n := int(tag.RowsAffected())
	return n, t.publishTenantCA(ctx, actor, AuditEvent{Action: "tenant_ca.retire", TargetType: "tenant_ca",
		TargetID: t.tenant.String(), Details: map[string]any{"retired": n}})
}

// TenantCAPayload is what the tenant_ca.published delta carries: the
// newest active generation and, parallel and oldest first, the root and
// issuing certificate of every active generation (base64 DER).
func (t *Tx) TenantCAPayload(ctx context.Context) (devproto.TenantCAPayload, error) {
	cas, err := t.TenantCAs(ctx)
	if err != nil {
		return devproto.TenantCAPayload{}, err
	}
	return caPayload(cas), nil
}

func caPayload(cas []TenantCA) devproto.TenantCAPayload {
	p := devproto.TenantCAPayload{Roots: []string{}, Intermediates: []string{}}
	for _, c := range cas {
		if c.State != CAActive {
			continue
		}
		p.Generation = c.Generation
		p.Roots = append(p.Roots, base64.StdEncoding.EncodeToString(c.RootCert))
		p.Intermediates = append(p.Intermediates, base64.StdEncoding.EncodeToString(c.IssuingCert))
	}
	return p
}

func (t *Tx) publishTenantCA(ctx context.Context, actor Actor, a AuditEvent) error {
	p, err := t.TenantCAPayload(ctx)
	if err != nil {
		return err
	}
	return t.record(ctx, actor, a, Event{Type: devproto.TenantCAType, Subject: t.tenant.String(), Data: p})
}
