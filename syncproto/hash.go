package syncproto

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// HashSize is the length of a chain hash (SHA-256).
const HashSize = sha256.Size

// Hash is a chain hash: SHA-256 over the exact COSE bytes of a message.
// In JSON it is lower-case hex.
type Hash [HashSize]byte

// ZeroHash is the Prev of the first delta (Seq 1) of every stream.
var ZeroHash Hash

// ChainHash returns the chain hash of a signed message.
func ChainHash(msg []byte) Hash {
	return sha256.Sum256(msg)
}

// String returns the hash in lower-case hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText encodes the hash as lower-case hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes a hex hash; it fails unless the text is exactly
// HashSize bytes of hex.
func (h *Hash) UnmarshalText(text []byte) error {
	if hex.DecodedLen(len(text)) != HashSize {
		return fmt.Errorf("%w: hash must be %d hex bytes", ErrMalformed, HashSize)
	}
	_, err := hex.Decode(h[:], text)
	return err
}

// hashFrom copies a 32-byte slice into a Hash; callers check the length.
func hashFrom(b []byte) Hash {
	var h Hash
	copy(h[:], b)
	return h
}
