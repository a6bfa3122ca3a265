package relay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/fxamacker/cbor/v2"

	"github.com/melmastoon/iam/syncproto"
)

// dataToCBOR turns an outbox row's JSON into the deterministic CBOR of
// Envelope.Data (docs/deltas.md, Payloads): objects become maps with text
// keys, integers become CBOR integers, strings, booleans, null and arrays
// stay. A number that is not an integer in the int64 or uint64 range is
// ErrNonIntegerNumber; anything else unconvertible is ErrBadOutboxData.
func dataToCBOR(raw []byte) (cbor.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadOutboxData, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: trailing data", ErrBadOutboxData)
	}
	conv, err := jsonToCBORValue(v, 1)
	if err != nil {
		return nil, err
	}
	data, err := syncproto.EncodeData(conv)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadOutboxData, err)
	}
	return data, nil
}

// jsonToCBORValue converts one decoded JSON value; depth counts the
// arrays and maps around it, as syncproto's decoders do.
func jsonToCBORValue(v any, depth int) (any, error) {
	switch x := v.(type) {
	case json.Number:
		return jsonInteger(x)
	case map[string]any:
		return convertMap(x, depth)
	case []any:
		return convertArray(x, depth)
	case string, bool, nil:
		return x, nil
	}
	return nil, fmt.Errorf("%w: unexpected %T", ErrBadOutboxData, v)
}

func convertMap(m map[string]any, depth int) (any, error) {
	if depth > maxDataNesting {
		return nil, fmt.Errorf("%w: nested deeper than %d", ErrBadOutboxData, maxDataNesting)
	}
	out := make(map[string]any, len(m))
	for k, e := range m {
		c, err := jsonToCBORValue(e, depth+1)
		if err != nil {
			return nil, err
		}
		out[k] = c
	}
	return out, nil
}

func convertArray(a []any, depth int) (any, error) {
	if depth > maxDataNesting {
		return nil, fmt.Errorf("%w: nested deeper than %d", ErrBadOutboxData, maxDataNesting)
	}
	out := make([]any, len(a))
	for i, e := range a {
		c, err := jsonToCBORValue(e, depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// jsonInteger parses an integer literal into int64 (or uint64 above
// MaxInt64). Fractions and exponents are refused even when integral.
func jsonInteger(n json.Number) (any, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, nil
	}
	if u, err := strconv.ParseUint(string(n), 10, 64); err == nil {
		return u, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrNonIntegerNumber, n)
}

// maxDataNesting is the deepest nesting of arrays and maps in Data: the
// envelope map around it takes one of syncproto.MaxNestedLevels.
const maxDataNesting = syncproto.MaxNestedLevels - 1
