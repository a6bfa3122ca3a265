package syncproto

import (
	"bytes"
	"fmt"
	"regexp"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"
)

// Well-known envelope values.
const (
	// DataContentTypeCBOR is the only accepted Envelope.DataContentType.
	DataContentTypeCBOR = "application/cbor"
	// TypeCheckpoint is the type of the signed heartbeat checkpoint.
	TypeCheckpoint = "melmastoon.iam.checkpoint.signed.v1"
	// TypeKeyRotation is the type of a root-signed key rotation delta.
	TypeKeyRotation = "melmastoon.iam.signingkey.rotated.v1"
	// MaxStringLength caps Source and Subject.
	MaxStringLength = 512
)

var (
	typePattern        = regexp.MustCompile(`^melmastoon\.iam\.[a-z][a-z0-9_]{0,62}\.[a-z][a-z0-9_]{0,62}\.v[1-9][0-9]{0,5}$`)
	traceparentPattern = regexp.MustCompile(`^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$`)
)

// Envelope is one delta: a CloudEvents-shaped record with integer CBOR keys
// (never renumbered) plus the tenant stream's sequence and hash chain.
//
// A checkpoint is also carried in an Envelope (Type TypeCheckpoint); it is
// not part of the chain: its Seq and Prev repeat the checkpointed sequence
// and that delta's chain hash, and its Time is the checkpoint's time.
type Envelope struct {
	ID              string          `cbor:"1,keyasint"`            // UUID, canonical lower-case form
	Time            int64           `cbor:"2,keyasint"`            // unix milliseconds
	Source          string          `cbor:"3,keyasint"`            // producer, e.g. "core/relay"
	Subject         string          `cbor:"4,keyasint,omitempty"`  // entity id, optional
	Type            string          `cbor:"5,keyasint"`            // melmastoon.iam.<entity>.<verb>.v<N>
	DataContentType string          `cbor:"6,keyasint"`            // always DataContentTypeCBOR
	Data            cbor.RawMessage `cbor:"7,keyasint"`            // canonical CBOR entity data
	Tenant          string          `cbor:"8,keyasint"`            // tenant UUID
	Seq             uint64          `cbor:"9,keyasint"`            // >= 1
	Prev            []byte          `cbor:"10,keyasint"`           // chain hash of delta Seq-1
	Traceparent     string          `cbor:"11,keyasint,omitempty"` // W3C trace context, optional

	receipt *receipt // set by Verifier.Verify, never encoded
}

// Timestamp returns Time as a time.Time.
func (e *Envelope) Timestamp() time.Time { return time.UnixMilli(e.Time) }

// Hash returns the chain hash of the message this envelope was verified
// from, or ZeroHash if it did not come from Verifier.Verify.
func (e *Envelope) Hash() Hash {
	if e.receipt == nil {
		return ZeroHash
	}
	return e.receipt.hash
}

// DecodeEnvelope decodes and validates an envelope payload (the CBOR inside
// the COSE_Sign1, not the COSE bytes). It checks shape only, not signature
// or chain; errors wrap ErrMalformed.
func DecodeEnvelope(payload []byte) (*Envelope, error) {
	if len(payload) > MaxMessageSize {
		return nil, fmt.Errorf("%w: payload of %d bytes", ErrTooLarge, len(payload))
	}
	var e Envelope
	if err := decodeStrict(payload, &e); err != nil {
		return nil, err
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return &e, nil
}

// Encode returns the canonical CBOR payload of the envelope after
// validating it.
func (e *Envelope) Encode() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return encodeCanonical(e)
}

// Validate checks every field against the v1 rules; it returns an error
// wrapping ErrMalformed naming the first bad field.
func (e *Envelope) Validate() error {
	for _, check := range []func() error{e.validateIDs, e.validateText, e.validateData, e.validateChain} {
		if err := check(); err != nil {
			return fmt.Errorf("%w: %w", ErrMalformed, err)
		}
	}
	return nil
}

func (e *Envelope) validateIDs() error {
	if !isCanonicalUUID(e.ID) {
		return fmt.Errorf("id %q is not a canonical UUID", e.ID)
	}
	if !isCanonicalUUID(e.Tenant) {
		return fmt.Errorf("tenant %q is not a canonical UUID", e.Tenant)
	}
	return nil
}

func (e *Envelope) validateText() error {
	switch {
	case e.Time <= 0:
		return fmt.Errorf("time %d is not positive", e.Time)
	case e.Source == "" || len(e.Source) > MaxStringLength:
		return fmt.Errorf("source length %d outside 1..%d", len(e.Source), MaxStringLength)
	case len(e.Subject) > MaxStringLength:
		return fmt.Errorf("subject longer than %d", MaxStringLength)
	case !typePattern.MatchString(e.Type):
		return fmt.Errorf("type %q does not match melmastoon.iam.<entity>.<verb>.v<N>", e.Type)
	case e.Traceparent != "" && !validTraceparent(e.Traceparent):
		return fmt.Errorf("traceparent %q is not W3C trace context", e.Traceparent)
	}
	return nil
}

func (e *Envelope) validateData() error {
	if e.DataContentType != DataContentTypeCBOR {
		return fmt.Errorf("datacontenttype %q is not %s", e.DataContentType, DataContentTypeCBOR)
	}
	if len(e.Data) == 0 {
		return fmt.Errorf("data is empty")
	}
	return nil
}

func (e *Envelope) validateChain() error {
	if e.Seq == 0 {
		return fmt.Errorf("seq must be >= 1")
	}
	if len(e.Prev) != HashSize {
		return fmt.Errorf("prev has %d bytes, want %d", len(e.Prev), HashSize)
	}
	if e.Seq == 1 && e.Type != TypeCheckpoint && !bytes.Equal(e.Prev, ZeroHash[:]) {
		return fmt.Errorf("prev of seq 1 must be all zero")
	}
	return nil
}

func isCanonicalUUID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}

func validTraceparent(s string) bool {
	return traceparentPattern.MatchString(s) && s[:2] != "ff" &&
		s[3:35] != "00000000000000000000000000000000" && s[36:52] != "0000000000000000"
}
