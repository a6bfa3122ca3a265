package syncproto

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Snapshot is one chunk of a tenant's state at sequence Seq, signed by the
// tenant root key with content type ContentTypeSnapshot. Chunks are numbered
// from 0; the last has Final set. Chunk 0 lists the delta-signing keys valid
// at Seq, so a fresh verifier can follow the deltas after the snapshot.
type Snapshot struct {
	Tenant  string            `cbor:"1,keyasint"`
	Seq     uint64            `cbor:"2,keyasint"`           // state includes deltas 1..Seq
	Hash    []byte            `cbor:"3,keyasint"`           // chain hash of delta Seq
	Time    int64             `cbor:"4,keyasint"`           // when taken, unix ms
	Index   uint32            `cbor:"5,keyasint"`           // chunk number from 0
	Final   bool              `cbor:"6,keyasint"`           // last chunk
	Keys    []SigningKey      `cbor:"7,keyasint,omitempty"` // chunk 0 only
	Retired []string          `cbor:"8,keyasint,omitempty"` // chunk 0 only
	Records []cbor.RawMessage `cbor:"9,keyasint,omitempty"` // entity records, canonical CBOR
}

// Encode validates the chunk and returns its canonical CBOR payload.
func (s *Snapshot) Encode() ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	return encodeCanonical(s)
}

// DecodeSnapshot decodes and validates a snapshot payload (the CBOR inside
// the COSE_Sign1). Errors wrap ErrMalformed or ErrTooLarge.
func DecodeSnapshot(payload []byte) (*Snapshot, error) {
	if len(payload) > MaxSnapshotChunkSize {
		return nil, fmt.Errorf("%w: payload of %d bytes", ErrTooLarge, len(payload))
	}
	var s Snapshot
	if err := decodeStrict(payload, &s); err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

func (s *Snapshot) validate() error {
	switch {
	case !isCanonicalUUID(s.Tenant):
		return fmt.Errorf("%w: snapshot tenant %q", ErrMalformed, s.Tenant)
	case len(s.Hash) != HashSize:
		return fmt.Errorf("%w: snapshot hash has %d bytes", ErrMalformed, len(s.Hash))
	case s.Seq == 0 && hashFrom(s.Hash) != ZeroHash:
		return fmt.Errorf("%w: snapshot at seq 0 must have the zero hash", ErrMalformed)
	case s.Time <= 0:
		return fmt.Errorf("%w: snapshot time %d", ErrMalformed, s.Time)
	case s.Index > 0 && (len(s.Keys) > 0 || len(s.Retired) > 0):
		return fmt.Errorf("%w: keys belong in chunk 0 only", ErrMalformed)
	}
	for _, k := range s.Keys {
		if err := k.validate(); err != nil {
			return err
		}
	}
	return nil
}

// SnapshotLoader verifies the chunks of one snapshot in order. Like
// Verifier, VerifyChunk changes nothing and AcceptChunk commits, so a chunk
// can be bulk-loaded in a transaction before the loader moves on.
type SnapshotLoader struct {
	anchor TrustAnchor
	root   *Keyring
	head   *Snapshot // chunk 0, once accepted
	next   uint32
	done   bool
}

// NewSnapshotLoader returns a loader that trusts only the anchor's root.
func NewSnapshotLoader(anchor TrustAnchor) (*SnapshotLoader, error) {
	root, err := NewKeyring(anchor, nil, nil)
	if err != nil {
		return nil, err
	}
	return &SnapshotLoader{anchor: anchor, root: root}, nil
}

// VerifyChunk checks one signed chunk: size, structure, root signature,
// tenant, chunk order (ErrGap if ahead, ErrRollback if behind) and that it
// belongs to the same snapshot as chunk 0 (ErrChainBroken otherwise).
func (l *SnapshotLoader) VerifyChunk(msg []byte) (*Snapshot, error) {
	if len(msg) > MaxSnapshotChunkSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(msg), MaxSnapshotChunkSize)
	}
	p, err := parseSign1(msg, ContentTypeSnapshot)
	if err != nil {
		return nil, err
	}
	if p.kid != l.anchor.Kid {
		return nil, fmt.Errorf("%w: snapshot signed by %q, not the root", ErrUnauthorizedKey, p.kid)
	}
	if err := p.verify(l.root.root.verifier); err != nil {
		return nil, err
	}
	s, err := DecodeSnapshot(p.payload)
	if err != nil {
		return nil, err
	}
	return s, l.checkOrder(s)
}

func (l *SnapshotLoader) checkOrder(s *Snapshot) error {
	switch {
	case s.Tenant != l.anchor.Tenant:
		return fmt.Errorf("%w: %s", ErrWrongTenant, s.Tenant)
	case l.done:
		return fmt.Errorf("%w: snapshot already complete", ErrRollback)
	case s.Index < l.next:
		return fmt.Errorf("%w: chunk %d, expected %d", ErrRollback, s.Index, l.next)
	case s.Index > l.next:
		return fmt.Errorf("%w: chunk %d, expected %d", ErrGap, s.Index, l.next)
	case l.head != nil && (s.Seq != l.head.Seq || string(s.Hash) != string(l.head.Hash) || s.Time != l.head.Time):
		return fmt.Errorf("%w: chunk %d belongs to another snapshot", ErrChainBroken, s.Index)
	}
	return nil
}

// AcceptChunk commits a chunk returned by VerifyChunk. It fails with the
// same errors if the chunk no longer fits.
func (l *SnapshotLoader) AcceptChunk(s *Snapshot) error {
	if err := l.checkOrder(s); err != nil {
		return err
	}
	if l.head == nil {
		l.head = s
	}
	l.next++
	l.done = s.Final
	return nil
}

// Complete reports whether the final chunk has been accepted.
func (l *SnapshotLoader) Complete() bool { return l.done }

// State returns the verifier state to resume deltas from (Seq+1 onward),
// with the keys from chunk 0 and the snapshot's time as the newest signed
// time. It fails with ErrGap until the snapshot is complete.
func (l *SnapshotLoader) State() (VerifierState, error) {
	if !l.done {
		return VerifierState{}, fmt.Errorf("%w: snapshot incomplete, next chunk %d", ErrGap, l.next)
	}
	st := VerifierState{
		Seq:            l.head.Seq,
		Hash:           hashFrom(l.head.Hash),
		CheckpointTime: l.head.Time,
		Keys:           l.head.Keys,
		Retired:        l.head.Retired,
	}
	if _, err := stateFrom(l.anchor, st); err != nil {
		return VerifierState{}, err
	}
	return st, nil
}
