package device

import (
	"encoding/base64"
	"errors"
	"strings"
)

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// decodeB64 accepts base64 in either alphabet (standard or URL-safe),
// with or without padding.
func decodeB64(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("device: empty base64")
	}
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}
