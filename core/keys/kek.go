package keys

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// KeyEncrypter encrypts small secrets (private keys) at rest. A cloud KMS
// can implement it; LocalKEK is the configuration-key implementation.
// Decrypt succeeds only with the associatedData given to Encrypt.
type KeyEncrypter interface {
	Encrypt(ctx context.Context, plaintext, associatedData []byte) ([]byte, error)
	Decrypt(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error)
	// KeyID names the key-encryption key, to be stored beside each
	// ciphertext so a rotation of the KEK knows what to re-encrypt.
	KeyID() string
}

// Limits and format of LocalKEK ciphertexts:
// version (1 byte) || nonce (12 bytes) || AES-256-GCM ciphertext and tag.
const (
	KEKSize           = 32
	MaxPlaintextBytes = 64 << 10
	localKEKVersion   = 1
	gcmNonceSize      = 12
	gcmTagSize        = 16
)

// LocalKEK is a KeyEncrypter under a 32-byte key from configuration, using
// AES-256-GCM with random 96-bit nonces (safe for far more than the 2^32
// messages one KEK will ever encrypt here). It is safe for concurrent use.
type LocalKEK struct {
	aead cipher.AEAD
	id   string
}

// NewLocalKEK returns a LocalKEK for a 32-byte key; it keeps no reference to
// key.
func NewLocalKEK(key []byte) (*LocalKEK, error) {
	if len(key) != KEKSize {
		return nil, ErrKEKLength
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return &LocalKEK{aead: aead, id: localKEKID(key)}, nil
}

// localKEKID names a KEK without revealing it: "local:" and 8 bytes of
// SHA-256 over a domain label and the key.
func localKEKID(key []byte) string {
	sum := sha256.Sum256(append([]byte("melmastoon.iam.kek-id.v1\x00"), key...))
	return "local:" + hex.EncodeToString(sum[:8])
}

// ParseLocalKEK decodes a 32-byte key given as 64 hex digits or as base64
// (standard or URL alphabet, padded or not) and returns a LocalKEK. It
// returns ErrKEKEncoding or ErrKEKLength; the error never contains the key.
func ParseLocalKEK(s string) (*LocalKEK, error) {
	key, err := decodeKEK(strings.TrimSpace(s))
	if err != nil {
		return nil, err
	}
	defer clear(key)
	return NewLocalKEK(key)
}

func decodeKEK(s string) ([]byte, error) {
	if len(s) == 2*KEKSize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KEKSize {
				return nil, ErrKEKLength
			}
			return b, nil
		}
	}
	return nil, ErrKEKEncoding
}

// KeyID returns the KEK's identifier ("local:<16 hex digits>").
func (k *LocalKEK) KeyID() string { return k.id }

// Encrypt seals plaintext bound to associatedData. It returns
// ErrPlaintextTooLarge over MaxPlaintextBytes. ctx is unused (no I/O).
func (k *LocalKEK) Encrypt(_ context.Context, plaintext, associatedData []byte) ([]byte, error) {
	if len(plaintext) > MaxPlaintextBytes {
		return nil, ErrPlaintextTooLarge
	}
	out := make([]byte, 1+gcmNonceSize, 1+gcmNonceSize+len(plaintext)+gcmTagSize)
	out[0] = localKEKVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("keys: nonce: %w", err)
	}
	return k.aead.Seal(out, out[1:], plaintext, k.aad(associatedData)), nil
}

// Decrypt opens a ciphertext from Encrypt. Any failure is ErrDecrypt.
func (k *LocalKEK) Decrypt(_ context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	if len(ciphertext) < 1+gcmNonceSize+gcmTagSize || len(ciphertext) > 1+gcmNonceSize+MaxPlaintextBytes+gcmTagSize {
		return nil, ErrDecrypt
	}
	if ciphertext[0] != localKEKVersion {
		return nil, ErrDecrypt
	}
	nonce, sealed := ciphertext[1:1+gcmNonceSize], ciphertext[1+gcmNonceSize:]
	pt, err := k.aead.Open(nil, nonce, sealed, k.aad(associatedData))
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// aad binds the format version into the GCM associated data, so the
// version byte cannot be swapped.
func (k *LocalKEK) aad(associatedData []byte) []byte {
	return append([]byte{localKEKVersion}, associatedData...)
}

// AssociatedData builds unambiguous associated data from fields such as
// tenant id and key id: a domain label, then each field prefixed by its
// 4-byte big-endian length, so ("ab","c") and ("a","bc") differ.
func AssociatedData(purpose string, fields ...string) []byte {
	b := appendField(nil, "melmastoon.iam.aad.v1")
	b = appendField(b, purpose)
	for _, f := range fields {
		b = appendField(b, f)
	}
	return b
}

func appendField(b []byte, f string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
	return append(b, f...)
}
