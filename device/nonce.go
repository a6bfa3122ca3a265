package device

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/melmastoon/iam/syncproto/devproto"
)

// Request nonce layout: RequestNonceRandomBytes random bytes, then the
// time as 8-byte big-endian unix milliseconds (RequestNonceBytes, a renew
// request's nonce); a token request's nonce (TokenNonceBytes) then carries
// the request's ephemeral X25519 public key, to which core seals the token.
const (
	RequestNonceRandomBytes = 16
	RequestNonceBytes       = RequestNonceRandomBytes + 8
	TokenNonceBytes         = devproto.TokenNonceBytes
)

// requestNonce returns a fresh request nonce stamped with now, followed by
// key (nil for a renewal, the ephemeral X25519 public key for a token).
func requestNonce(now time.Time, key []byte) ([]byte, error) {
	b := make([]byte, RequestNonceRandomBytes, RequestNonceBytes+len(key))
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("device: nonce: %w", err)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(now.UnixMilli()))
	return append(b, key...), nil
}
