package syncproto

import (
	"bytes"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Decoding limits. They apply to every decoder in this package, including
// the raw entity data inside envelopes and snapshot records.
const (
	// MaxMessageSize caps a delta or checkpoint message (COSE bytes), checked
	// before any decoding.
	MaxMessageSize = 1 << 20
	// MaxSnapshotChunkSize caps one snapshot chunk (COSE bytes).
	MaxSnapshotChunkSize = 16 << 20
	// MaxNestedLevels caps CBOR nesting of arrays and maps.
	MaxNestedLevels = 16
	// MaxArrayElements caps the length of any CBOR array (and so the number
	// of records in one snapshot chunk).
	MaxArrayElements = 10_000
	// MaxMapPairs caps the number of pairs in any CBOR map.
	MaxMapPairs = 1_000
)

var (
	encMode = mustEncMode()
	decMode = mustDecMode()
)

func mustEncMode() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err) // static options; unreachable
	}
	return em
}

func mustDecMode() cbor.DecMode {
	dm, err := cbor.DecOptions{
		MaxNestedLevels:   MaxNestedLevels,
		MaxArrayElements:  MaxArrayElements,
		MaxMapPairs:       MaxMapPairs,
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err) // static options; unreachable
	}
	return dm
}

// decodeStrict decodes exactly one CBOR item from data into v and insists
// that data is the core deterministic encoding of v: limits, duplicate keys,
// indefinite lengths, tags, floats, trailing bytes, unknown fields and
// wrongly typed byte strings are all rejected (wrapping ErrMalformed).
func decodeStrict(data []byte, v any) error {
	if err := decMode.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := checkCanonical(data); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	again, err := encMode.Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if !bytes.Equal(again, data) {
		return fmt.Errorf("%w: not in canonical form for its schema", ErrMalformed)
	}
	return nil
}

// encodeCanonical encodes v in core deterministic form and checks that the
// result (including any raw CBOR embedded in v) is canonical.
func encodeCanonical(v any) ([]byte, error) {
	b, err := encMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := decMode.Wellformed(b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := checkCanonical(b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return b, nil
}

// EncodeData encodes v (a struct with integer keys, a map, ...) as the raw
// CBOR for Envelope.Data or a snapshot record. It returns an error wrapping
// ErrMalformed when v cannot be encoded canonically (for example it holds
// a float).
func EncodeData(v any) (cbor.RawMessage, error) {
	return encodeCanonical(v)
}

// DecodeData decodes raw entity CBOR (Envelope.Data or a snapshot record)
// into v with the package's limits. It never accepts non-canonical input.
func DecodeData(raw []byte, v any) error {
	return decodeStrict(raw, v)
}
