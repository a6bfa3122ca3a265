package syncproto

import (
	"crypto/ed25519"
	"fmt"
)

// MaxKidLength caps a key id.
const MaxKidLength = 64

// Checkpoint is the payload of a TypeCheckpoint envelope: core's signed
// statement that at Time the stream's head was Seq with chain hash Hash.
// Published every few seconds, it makes a silent edge visible (freeze).
type Checkpoint struct {
	Seq  uint64 `cbor:"1,keyasint"`
	Time int64  `cbor:"2,keyasint"` // unix milliseconds
	Hash []byte `cbor:"3,keyasint"` // chain hash of delta Seq
}

// KeyRotation is the payload of a TypeKeyRotation delta. It introduces a
// delta-signing key and retires others; it must be signed by the tenant
// root key.
type KeyRotation struct {
	Kid       string   `cbor:"1,keyasint"`
	PublicKey []byte   `cbor:"2,keyasint"` // Ed25519, 32 bytes
	Retire    []string `cbor:"3,keyasint,omitempty"`
}

// SigningKey is a delta-signing public key with its id.
type SigningKey struct {
	Kid       string `cbor:"1,keyasint" json:"kid"`
	PublicKey []byte `cbor:"2,keyasint" json:"public_key"` // Ed25519, 32 bytes
}

// Checkpoint decodes the envelope's data as a Checkpoint. It fails with
// ErrMalformed if the type is not TypeCheckpoint or the payload does not
// match the envelope's Seq, Time and Prev.
func (e *Envelope) Checkpoint() (*Checkpoint, error) {
	if e.Type != TypeCheckpoint {
		return nil, fmt.Errorf("%w: type %q is not a checkpoint", ErrMalformed, e.Type)
	}
	var cp Checkpoint
	if err := decodeStrict(e.Data, &cp); err != nil {
		return nil, err
	}
	if cp.Seq != e.Seq || cp.Time != e.Time || string(cp.Hash) != string(e.Prev) {
		return nil, fmt.Errorf("%w: checkpoint disagrees with its envelope", ErrMalformed)
	}
	return &cp, nil
}

// KeyRotation decodes the envelope's data as a KeyRotation. It fails with
// ErrMalformed if the type is not TypeKeyRotation or the payload is invalid.
func (e *Envelope) KeyRotation() (*KeyRotation, error) {
	if e.Type != TypeKeyRotation {
		return nil, fmt.Errorf("%w: type %q is not a key rotation", ErrMalformed, e.Type)
	}
	var kr KeyRotation
	if err := decodeStrict(e.Data, &kr); err != nil {
		return nil, err
	}
	if err := kr.validate(); err != nil {
		return nil, err
	}
	return &kr, nil
}

func (kr *KeyRotation) validate() error {
	if err := (SigningKey{Kid: kr.Kid, PublicKey: kr.PublicKey}).validate(); err != nil {
		return err
	}
	for _, kid := range kr.Retire {
		if kid == kr.Kid || !validKid(kid) {
			return fmt.Errorf("%w: cannot retire kid %q", ErrMalformed, kid)
		}
	}
	return nil
}

func (k SigningKey) validate() error {
	if !validKid(k.Kid) {
		return fmt.Errorf("%w: kid length %d outside 1..%d", ErrMalformed, len(k.Kid), MaxKidLength)
	}
	if len(k.PublicKey) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: public key has %d bytes", ErrMalformed, len(k.PublicKey))
	}
	return nil
}

func validKid(kid string) bool {
	return kid != "" && len(kid) <= MaxKidLength
}
