package relay

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/syncproto"
)

// Relay publishes the outbox as signed deltas. Create it with New and call
// Run once; SystemAnchor, TenantAnchorCertificate and IsLeader are safe for
// concurrent use from any goroutine, on every core instance, leader or not.
type Relay struct {
	cfg  Config
	pool *pgxpool.Pool
	m    *metrics

	leader atomic.Bool

	sysMu sync.Mutex
	sys   *syncproto.Signer

	keysMu sync.Mutex
	keys   map[string]*tenantKeys
}

// New checks cfg and registers the metrics; it starts nothing. It fails
// when cfg is invalid or the metrics are already registered on
// cfg.Registry.
func New(cfg Config) (r *Relay, err error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil { // MustRegister panics on a duplicate
			r, err = nil, fmt.Errorf("%w: register metrics: %v", ErrInvalidConfig, p)
		}
	}()
	return &Relay{cfg: cfg, pool: cfg.Store.Pool(), m: newMetrics(cfg.Registry), keys: map[string]*tenantKeys{}}, nil
}

// IsLeader reports whether this relay holds the leader lock now.
func (r *Relay) IsLeader() bool { return r.leader.Load() }

func (r *Relay) setLeader(on bool) {
	r.leader.Store(on)
	if on {
		r.m.leader.Set(1)
	} else {
		r.m.leader.Set(0)
	}
}

// SystemAnchor returns the kid and public key of the system delta root, the
// trust anchor edges are configured with. The key is created (and sealed
// with the KEK) on the first call in the deployment, under an advisory lock,
// so concurrent callers on several instances get the same key. It fails when
// the database is unavailable or the stored key does not open with the KEK.
func (r *Relay) SystemAnchor(ctx context.Context) (syncproto.SigningKey, error) {
	s, err := r.systemSigner(ctx)
	if err != nil {
		return syncproto.SigningKey{}, err
	}
	return s.SigningKey(), nil
}

// TenantAnchorCertificate returns the system root's anchor certificate for
// the tenant's delta root (COSE_Sign1 bytes, docs/deltas.md), creating the
// tenant's delta keys first if they do not exist yet. The certificate is
// deterministic: its issued-at is the root key's creation time. It fails
// when the tenant does not exist or the database is unavailable.
func (r *Relay) TenantAnchorCertificate(ctx context.Context, tenant store.TenantID) ([]byte, error) {
	tk, err := r.tenantKeys(ctx, tenant.String(), true)
	if err != nil {
		return nil, err
	}
	return r.anchorCertificate(ctx, tk)
}
