package syncproto

import (
	"bytes"
	"fmt"
	"time"
)

// Chain is the producer side of a tenant stream (core's relay): it fills in
// tenant, seq and prev, signs, and advances. It is not safe for concurrent
// use; the relay has one leader.
type Chain struct {
	tenant string
	signer *Signer
	seq    uint64
	head   Hash
}

// NewChain returns a chain for tenant whose last published delta is seq
// with chain hash head (0 and ZeroHash for a new stream).
func NewChain(tenant string, signer *Signer, seq uint64, head Hash) (*Chain, error) {
	if !isCanonicalUUID(tenant) {
		return nil, fmt.Errorf("syncproto: tenant %q is not a canonical UUID", tenant)
	}
	if signer == nil {
		return nil, fmt.Errorf("syncproto: nil signer")
	}
	return &Chain{tenant: tenant, signer: signer, seq: seq, head: head}, nil
}

// Head returns the last published sequence and its chain hash.
func (c *Chain) Head() (uint64, Hash) { return c.seq, c.head }

// SetSigner switches the delta-signing key, after its KeyRotation delta has
// been published.
func (c *Chain) SetSigner(s *Signer) { c.signer = s }

// Next signs e as the next delta with the chain's signer.
func (c *Chain) Next(e Envelope) ([]byte, error) {
	return c.NextSignedBy(c.signer, e)
}

// NextSignedBy signs e as the next delta with s (the root, for a key
// rotation). It sets Tenant, Seq and Prev and advances only on success.
func (c *Chain) NextSignedBy(s *Signer, e Envelope) ([]byte, error) {
	e.Tenant, e.Seq, e.Prev = c.tenant, c.seq+1, bytes.Clone(c.head[:])
	msg, err := s.SignEnvelope(&e)
	if err != nil {
		return nil, err
	}
	c.seq, c.head = e.Seq, ChainHash(msg)
	return msg, nil
}

// Rotate publishes a root-signed KeyRotation introducing next (and
// retiring the kids in retire), then makes next the chain's signer. e
// supplies ID, Time and Source.
func (c *Chain) Rotate(root, next *Signer, retire []string, e Envelope) ([]byte, error) {
	data, err := EncodeData(KeyRotation{Kid: next.Kid(), PublicKey: next.PublicKey(), Retire: retire})
	if err != nil {
		return nil, err
	}
	e.Type, e.DataContentType, e.Data = TypeKeyRotation, DataContentTypeCBOR, data
	msg, err := c.NextSignedBy(root, e)
	if err != nil {
		return nil, err
	}
	c.signer = next
	return msg, nil
}

// Checkpoint signs a checkpoint of the current head at time at. e supplies
// ID and Source. The chain does not advance.
func (c *Chain) Checkpoint(e Envelope, at time.Time) ([]byte, error) {
	cp := Checkpoint{Seq: c.seq, Time: at.UnixMilli(), Hash: bytes.Clone(c.head[:])}
	data, err := EncodeData(cp)
	if err != nil {
		return nil, err
	}
	e.Type, e.DataContentType, e.Data = TypeCheckpoint, DataContentTypeCBOR, data
	e.Tenant, e.Seq, e.Prev, e.Time = c.tenant, cp.Seq, cp.Hash, cp.Time
	return c.signer.SignEnvelope(&e)
}
