package relay

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/melmastoon/iam/syncproto"
)

// TenantTrust is what a device pins at enrollment: the tenant's delta
// root (the anchor edges pin), its current delta-signing keys and the
// system root's anchor certificate for the root.
type TenantTrust struct {
	Anchor            syncproto.TrustAnchor
	Keys              []syncproto.SigningKey
	AnchorCertificate []byte
}

// TenantTrust returns the tenant's delta trust, creating its delta keys
// first if they do not exist yet (as TenantAnchorCertificate does).
func (r *Relay) TenantTrust(ctx context.Context, tenant string) (TenantTrust, error) {
	tk, err := r.tenantKeys(ctx, tenant, true)
	if err != nil {
		return TenantTrust{}, err
	}
	cert, err := r.anchorCertificate(ctx, tk)
	if err != nil {
		return TenantTrust{}, err
	}
	return TenantTrust{Anchor: tk.anchor(), Keys: []syncproto.SigningKey{tk.signing.SigningKey()}, AnchorCertificate: cert}, nil
}

// SignStandalone signs e (ID, Type, Subject, Data; Source, Time and
// DataContentType are filled when empty) with the tenant's delta-signing
// key, outside the stream: Tenant, Seq and Prev are the tenant chain's
// current head as recorded, so the envelope is well formed and verifies
// with syncproto.VerifyStandalone against the tenant's keyring, but it is
// never published and does not advance the chain. It fails with
// ErrNoChain while the tenant has published nothing (its delta-signing key
// is not introduced yet).
func (r *Relay) SignStandalone(ctx context.Context, tenant string, e syncproto.Envelope) ([]byte, error) {
	if !isCanonicalUUID(tenant) {
		return nil, fmt.Errorf("relay: tenant %q is not a canonical UUID", tenant)
	}
	seq, head, err := r.loadChainHead(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if seq == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoChain, tenant)
	}
	tk, err := r.tenantKeys(ctx, tenant, false)
	if err != nil {
		return nil, err
	}
	if e.ID == "" {
		e.ID = uuid.Must(uuid.NewV7()).String()
	}
	if e.Source == "" {
		e.Source = Source
	}
	if e.Time == 0 {
		e.Time = r.cfg.Now().UnixMilli()
	}
	if e.DataContentType == "" {
		e.DataContentType = syncproto.DataContentTypeCBOR
	}
	e.Tenant, e.Seq, e.Prev = tenant, seq, head[:]
	msg, err := tk.signing.SignEnvelope(&e)
	if err != nil {
		return nil, fmt.Errorf("relay: sign standalone envelope of %s: %w", tenant, err)
	}
	return msg, nil
}
