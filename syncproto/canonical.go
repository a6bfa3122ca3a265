package syncproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"unicode/utf8"
)

// CBOR major types (RFC 8949 §3.1).
const (
	majorUint   = 0
	majorNegint = 1
	majorBytes  = 2
	majorText   = 3
	majorArray  = 4
	majorMap    = 5
	majorTag    = 6
	majorSimple = 7
)

// Simple values allowed in canonical payloads: false, true, null.
const (
	simpleFalse = 20
	simpleNull  = 22
)

var (
	errTruncated    = errors.New("truncated CBOR item")
	errNonMinimal   = errors.New("integer or length not in shortest form")
	errIndefinite   = errors.New("indefinite length or reserved value")
	errTagged       = errors.New("CBOR tag not allowed")
	errFloat        = errors.New("floats and simple values other than false/true/null not allowed")
	errUnsorted     = errors.New("map keys not in bytewise order or duplicated")
	errTooDeep      = errors.New("nesting too deep")
	errTrailing     = errors.New("trailing bytes after CBOR item")
	errInvalidUTF8  = errors.New("text string is not valid UTF-8")
	errTooManyItems = errors.New("container longer than its input")
)

// checkCanonical reports whether b is exactly one CBOR data item in RFC 8949
// §4.2.1 core deterministic encoding, with no tags, no floats and no simple
// values except false, true and null.
func checkCanonical(b []byte) error {
	rest, err := walkItem(b, 0)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return errTrailing
	}
	return nil
}

// readHead decodes one initial byte and its argument, rejecting indefinite
// lengths and arguments that are not in their shortest form.
func readHead(b []byte) (major byte, arg uint64, rest []byte, err error) {
	if len(b) == 0 {
		return 0, 0, nil, errTruncated
	}
	major, ai := b[0]>>5, b[0]&0x1f
	if major == majorSimple && ai >= 24 {
		return 0, 0, nil, errFloat
	}
	if ai < 24 {
		return major, uint64(ai), b[1:], nil
	}
	if ai > 27 {
		return 0, 0, nil, errIndefinite
	}
	n := 1 << (ai - 24) // 1, 2, 4 or 8 bytes follow
	if len(b) < 1+n {
		return 0, 0, nil, errTruncated
	}
	arg = readUint(b[1 : 1+n])
	if arg < minArgFor(n) {
		return 0, 0, nil, errNonMinimal
	}
	return major, arg, b[1+n:], nil
}

func readUint(b []byte) uint64 {
	var buf [8]byte
	copy(buf[8-len(b):], b)
	return binary.BigEndian.Uint64(buf[:])
}

// minArgFor is the smallest argument that needs n extra bytes.
func minArgFor(n int) uint64 {
	switch n {
	case 1:
		return 24
	case 2:
		return 1 << 8
	case 4:
		return 1 << 16
	default:
		return 1 << 32
	}
}

func walkItem(b []byte, depth int) ([]byte, error) {
	major, arg, rest, err := readHead(b)
	if err != nil {
		return nil, err
	}
	switch major {
	case majorUint, majorNegint:
		return rest, nil
	case majorBytes, majorText:
		return walkString(major, arg, rest)
	case majorArray:
		return walkArray(arg, rest, depth+1)
	case majorMap:
		return walkMap(arg, rest, depth+1)
	case majorTag:
		return nil, errTagged
	default:
		if arg < simpleFalse || arg > simpleNull {
			return nil, errFloat
		}
		return rest, nil
	}
}

func walkString(major byte, n uint64, b []byte) ([]byte, error) {
	if n > uint64(len(b)) {
		return nil, errTruncated
	}
	if major == majorText && !utf8.Valid(b[:n]) {
		return nil, errInvalidUTF8
	}
	return b[n:], nil
}

func walkArray(n uint64, b []byte, depth int) ([]byte, error) {
	if depth > MaxNestedLevels {
		return nil, errTooDeep
	}
	if n > uint64(len(b)) {
		return nil, errTooManyItems
	}
	var err error
	for i := uint64(0); i < n; i++ {
		if b, err = walkItem(b, depth); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func walkMap(n uint64, b []byte, depth int) ([]byte, error) {
	if depth > MaxNestedLevels {
		return nil, errTooDeep
	}
	if n > uint64(len(b))/2 {
		return nil, errTooManyItems
	}
	var prevKey []byte
	for i := uint64(0); i < n; i++ {
		rest, err := walkItem(b, depth)
		if err != nil {
			return nil, err
		}
		key := b[:len(b)-len(rest)]
		if i > 0 && bytes.Compare(prevKey, key) >= 0 {
			return nil, errUnsorted
		}
		prevKey = key
		if b, err = walkItem(rest, depth); err != nil {
			return nil, err
		}
	}
	return b, nil
}
