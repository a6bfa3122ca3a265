package device

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"
)

// Request nonce layout: RequestNonceRandomBytes random bytes, then the
// time as 8-byte big-endian unix milliseconds.
const (
	RequestNonceRandomBytes = 16
	RequestNonceBytes       = RequestNonceRandomBytes + 8
)

// requestNonce returns a fresh request nonce stamped with now.
func requestNonce(now time.Time) ([]byte, error) {
	b := make([]byte, RequestNonceRandomBytes, RequestNonceBytes)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("device: nonce: %w", err)
	}
	return binary.BigEndian.AppendUint64(b, uint64(now.UnixMilli())), nil
}
