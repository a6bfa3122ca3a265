package password

import (
	"encoding/base64"
	"strconv"
	"strings"
)

const phcAlgorithm = "argon2id"

// b64 is the PHC encoding: standard alphabet, no padding, and (Strict)
// zero trailing bits so that every hash has exactly one encoding.
var b64 = base64.RawStdEncoding.Strict()

// PHC is a parsed Argon2id PHC string.
type PHC struct {
	Params Params
	Salt   []byte
	Hash   []byte
}

// String encodes h in the PHC string format.
func (h PHC) String() string {
	var b strings.Builder
	b.Grow(64 + b64.EncodedLen(len(h.Salt)) + b64.EncodedLen(len(h.Hash)))
	b.WriteString("$" + phcAlgorithm + "$v=")
	b.WriteString(strconv.Itoa(Argon2Version))
	b.WriteString("$" + h.Params.String() + "$")
	b.WriteString(b64.EncodeToString(h.Salt))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(h.Hash))
	return b.String()
}

// ParsePHC parses an Argon2id PHC string strictly. It returns a *ParseError
// wrapping ErrMalformedHash, ErrUnsupportedAlgorithm, ErrUnsupportedVersion or
// ErrParamsOutOfRange; it never runs Argon2 and never allocates more than
// about MaxPHCLen bytes.
func ParsePHC(s string) (PHC, error) {
	if len(s) > MaxPHCLen {
		return PHC{}, parseErr("format", ErrMalformedHash)
	}
	fields := strings.Split(s, "$")
	if len(fields) != 6 || fields[0] != "" {
		return PHC{}, parseErr("format", ErrMalformedHash)
	}
	if fields[1] != phcAlgorithm {
		return PHC{}, parseErr("algorithm", ErrUnsupportedAlgorithm)
	}
	if err := parseVersion(fields[2]); err != nil {
		return PHC{}, err
	}
	p, err := parseCost(fields[3])
	if err != nil {
		return PHC{}, err
	}
	return parseSaltHash(p, fields[4], fields[5])
}

func parseVersion(f string) error {
	v, ok := strings.CutPrefix(f, "v=")
	if !ok {
		return parseErr("version", ErrMalformedHash)
	}
	n, err := parseDecimal(v, 1<<8)
	if err != nil {
		return parseErr("version", ErrMalformedHash)
	}
	if n != Argon2Version {
		return parseErr("version", ErrUnsupportedVersion)
	}
	return nil
}

// parseCost parses "m=<m>,t=<t>,p=<p>" in exactly that order.
func parseCost(f string) (Params, error) {
	parts := strings.Split(f, ",")
	if len(parts) != 3 {
		return Params{}, parseErr("format", ErrMalformedHash)
	}
	var vals [3]uint64
	for i, name := range [3]string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(parts[i], name+"=")
		if !ok {
			return Params{}, parseErr(name, ErrMalformedHash)
		}
		n, err := parseDecimal(v, 1<<32-1)
		if err != nil {
			return Params{}, parseErr(name, err)
		}
		vals[i] = n
	}
	if vals[2] > MaxThreads {
		return Params{}, parseErr("p", ErrParamsOutOfRange)
	}
	return Params{MemoryKiB: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2])}, nil
}

// parseDecimal accepts 1..10 ASCII digits without a leading zero (PHC rule)
// and a value no larger than limit; larger values are out of range.
func parseDecimal(s string, limit uint64) (uint64, error) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, ErrMalformedHash
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrMalformedHash
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, ErrMalformedHash
	}
	if n > limit {
		return 0, ErrParamsOutOfRange
	}
	return n, nil
}

func parseSaltHash(p Params, saltB64, hashB64 string) (PHC, error) {
	salt, err := decodeB64(saltB64)
	if err != nil {
		return PHC{}, parseErr("salt", err)
	}
	hash, err := decodeB64(hashB64)
	if err != nil {
		return PHC{}, parseErr("hash", err)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(hash))
	if err := p.Validate(); err != nil {
		return PHC{}, err
	}
	return PHC{Params: p, Salt: salt, Hash: hash}, nil
}

// decodeB64 decodes non-empty canonical unpadded standard base64. The
// alphabet is checked first because encoding/base64 silently skips '\r'
// and '\n', which would let two strings denote one hash.
func decodeB64(s string) ([]byte, error) {
	if s == "" {
		return nil, ErrMalformedHash
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, ErrMalformedHash
		}
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, ErrMalformedHash
	}
	return b, nil
}
