package devproto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/melmastoon/iam/syncproto/devcert"
)

// Token sealing. A device asks for an access token with a fresh ephemeral
// X25519 key pair (RFC 7748) whose public half ends its request nonce, so
// the device's signature over devcert.TokenRequestMessage binds it. Core
// encrypts the token to that key and the edge relays the sealed bytes: an
// edge, or anything else that reads NATS or the WebSocket, never sees the
// token. Construction (ECIES-like, one shot):
//
//	shared = X25519(core ephemeral private, device ephemeral public)
//	key    = HKDF-SHA256(shared, salt = nil,
//	                     info = devcert.TokenContext || tenant || device || nonce)[:32]
//	sealed = core ephemeral public (32) || AES-256-GCM nonce (12) ||
//	         AES-256-GCM(key, nonce, token, no additional data)
//
// The device's key lives only for one request; the nonce is single-use at
// core, so a replayed request (with the same ephemeral key) is refused.
const (
	// TokenKeyBytes is the size of an X25519 public key.
	TokenKeyBytes = 32
	// TokenNonceBytes is the size of a token request's nonce: a request
	// nonce (RequestNonceBytes: 16 random bytes, the time as 8-byte
	// big-endian unix milliseconds) then the device's ephemeral X25519
	// public key.
	TokenNonceBytes = RequestNonceBytes + TokenKeyBytes
	// sealNonceBytes is the AES-GCM nonce size.
	sealNonceBytes = 12
	// SealedTokenOverhead is what sealing adds to a token: core's
	// ephemeral public key, the AEAD nonce and the GCM tag.
	SealedTokenOverhead = TokenKeyBytes + sealNonceBytes + 16
)

// ErrSealedToken wraps every failure to seal or open a token: a nonce
// that carries no usable key, a sealed token that is malformed, tampered
// with, or sealed to another key or request.
var ErrSealedToken = errors.New("devproto: sealed token")

// TokenNonceKey returns the device's ephemeral X25519 public key carried
// at the end of a token request nonce. It fails for a nonce that is not
// TokenNonceBytes long.
func TokenNonceKey(nonce []byte) (*ecdh.PublicKey, error) {
	if len(nonce) != TokenNonceBytes {
		return nil, fmt.Errorf("%w: token nonce of %d bytes, want %d", ErrSealedToken, len(nonce), TokenNonceBytes)
	}
	pub, err := ecdh.X25519().NewPublicKey(nonce[RequestNonceBytes:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSealedToken, err)
	}
	return pub, nil
}

// SealToken encrypts token to the ephemeral key of a token request
// (tenant, device and nonce exactly as the device signed them). It fails,
// wrapping ErrSealedToken, for a nonce without a usable key (wrong size,
// or a low-order point whose shared secret would be zero).
func SealToken(tenant, device string, nonce []byte, token string) ([]byte, error) {
	devicePub, err := TokenNonceKey(nonce)
	if err != nil {
		return nil, err
	}
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devproto: seal token: %w", err)
	}
	aead, err := tokenAEAD(eph, devicePub, tenant, device, nonce)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, SealedTokenOverhead+len(token))
	out = append(out, eph.PublicKey().Bytes()...)
	iv := make([]byte, sealNonceBytes)
	if _, err := rand.Read(iv); err != nil {
		return nil, fmt.Errorf("devproto: seal token: %w", err)
	}
	out = append(out, iv...)
	return aead.Seal(out, iv, []byte(token), nil), nil
}

// OpenToken decrypts a sealed token with the device's ephemeral private
// key, for the request (tenant, device, nonce) it signed; the nonce must
// carry priv's public key. Any failure wraps ErrSealedToken.
func OpenToken(priv *ecdh.PrivateKey, tenant, device string, nonce, sealed []byte) (string, error) {
	mine, err := TokenNonceKey(nonce)
	if err != nil {
		return "", err
	}
	if priv == nil || !bytes.Equal(mine.Bytes(), priv.PublicKey().Bytes()) {
		return "", fmt.Errorf("%w: the nonce carries another key", ErrSealedToken)
	}
	if len(sealed) <= SealedTokenOverhead {
		return "", fmt.Errorf("%w: %d bytes", ErrSealedToken, len(sealed))
	}
	corePub, err := ecdh.X25519().NewPublicKey(sealed[:TokenKeyBytes])
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrSealedToken, err)
	}
	aead, err := tokenAEAD(priv, corePub, tenant, device, nonce)
	if err != nil {
		return "", err
	}
	iv := sealed[TokenKeyBytes : TokenKeyBytes+sealNonceBytes]
	plain, err := aead.Open(nil, iv, sealed[TokenKeyBytes+sealNonceBytes:], nil)
	if err != nil {
		return "", fmt.Errorf("%w: does not open", ErrSealedToken)
	}
	return string(plain), nil
}

// tokenAEAD derives the AES-256-GCM of one token request.
func tokenAEAD(priv *ecdh.PrivateKey, peer *ecdh.PublicKey, tenant, device string, nonce []byte) (cipher.AEAD, error) {
	shared, err := priv.ECDH(peer)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSealedToken, err)
	}
	info := make([]byte, 0, len(devcert.TokenContext)+len(tenant)+len(device)+len(nonce))
	info = append(append(append(append(info, devcert.TokenContext...), tenant...), device...), nonce...)
	key, err := hkdf.Key(sha256.New, shared, nil, string(info), 32)
	if err != nil {
		return nil, fmt.Errorf("devproto: token key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("devproto: token key: %w", err)
	}
	return cipher.NewGCM(block)
}
