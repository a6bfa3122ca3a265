package relay

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/iam/syncproto"
)

// tenantChain is the leader's view of one tenant chain: the producer side
// of syncproto and the stream sequence of its head. Only the leader
// goroutine touches it.
type tenantChain struct {
	keys       *tenantKeys
	chain      *syncproto.Chain
	anchorCert string // base64url (no padding) of the anchor certificate
}

// seq is the chain's last published tenant sequence.
func (tc *tenantChain) seq() uint64 {
	s, _ := tc.chain.Head()
	return s
}

// verifierState is the state a verifier has after the chain's head.
func (tc *tenantChain) verifierState() syncproto.VerifierState {
	seq, head := tc.chain.Head()
	st := syncproto.VerifierState{Seq: seq, Hash: head}
	if seq >= 1 {
		st.Keys = []syncproto.SigningKey{tc.keys.signing.SigningKey()}
	}
	return st
}

// chainFor returns the tenant's chain from the leader's cache or the
// database (delta_chains); with create, missing tenant keys are made.
func (l *leader) chainFor(ctx context.Context, tenant string, create bool) (*tenantChain, error) {
	if tc := l.chains[tenant]; tc != nil {
		return tc, nil
	}
	if !isCanonicalUUID(tenant) {
		return nil, fmt.Errorf("relay: tenant %q is not a canonical UUID", tenant)
	}
	tk, err := l.r.tenantKeys(ctx, tenant, create)
	if err != nil {
		return nil, err
	}
	seq, head, err := l.r.loadChainHead(ctx, tenant)
	if err != nil {
		return nil, err
	}
	signer := tk.signing
	if seq == 0 {
		signer = tk.root // Rotate switches to the signing key
	}
	c, err := syncproto.NewChain(tenant, signer, seq, head)
	if err != nil {
		return nil, err
	}
	cert, err := l.r.anchorCertificate(ctx, tk)
	if err != nil {
		return nil, err
	}
	tc := &tenantChain{keys: tk, chain: c, anchorCert: base64.RawURLEncoding.EncodeToString(cert)}
	l.chains[tenant] = tc
	return tc, nil
}

// loadChainHead reads the recorded head of the tenant chain (0 and
// ZeroHash when the tenant has none yet).
func (r *Relay) loadChainHead(ctx context.Context, tenant string) (uint64, syncproto.Hash, error) {
	var seq int64
	var head []byte
	err := r.inTenant(ctx, tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT seq, head FROM delta_chains WHERE tenant_id = $1`, tenant).Scan(&seq, &head)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, syncproto.ZeroHash, nil
	}
	if err != nil {
		return 0, syncproto.ZeroHash, fmt.Errorf("relay: chain head of %s: %w", tenant, err)
	}
	var h syncproto.Hash
	if len(head) != len(h) || seq < 1 {
		return 0, h, fmt.Errorf("relay: chain head of %s is corrupt", tenant)
	}
	copy(h[:], head)
	return uint64(seq), h, nil
}

// keyringMsgID is the Nats-Msg-Id of a tenant's seq-1 key rotation.
func keyringMsgID(tenant string) string { return tenant + "-keyring-1" }

// keyringEventID is the envelope id of a tenant's seq-1 key rotation: a
// name-based UUID, so every relay derives the same one.
func keyringEventID(tenant string) string {
	return uuid.NewSHA1(uuid.MustParse(tenant), []byte("melmastoon.iam.keyring-1")).String()
}

func isCanonicalUUID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}
