package devcert

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
)

// Context strings of the proof-of-possession messages. Each message starts
// with its context, so a signature made for one purpose never verifies as
// another; a new layout gets a new version in its context.
const (
	EnrollContext    = "melmastoon-iam device-enroll v1"
	HandshakeContext = "melmastoon-iam device-handshake v1"
	RenewContext     = "melmastoon-iam device-renew v1"
	TokenContext     = "melmastoon-iam device-token v1" //nolint:gosec // G101: a signature context label, not a credential
)

// MinNonceBytes is the shortest server nonce a verifier should accept; the
// message builders do not enforce it, the caller that issued the nonce does.
const MinNonceBytes = 16

// EnrollmentMessage is what a device signs with the private half of
// publicKey to enroll in tenantID, answering the server's nonce: the
// fields EnrollContext, tenantID, nonce and publicKey, each prefixed by
// its 4-byte big-endian length.
func EnrollmentMessage(tenantID string, nonce []byte, publicKey ed25519.PublicKey) []byte {
	return possessionMessage(EnrollContext, []byte(tenantID), nonce, publicKey)
}

// HandshakeMessage is what an enrolled device signs to open a sync session
// with an edge that sent nonce: the fields HandshakeContext, tenantID,
// deviceID and nonce, each prefixed by its 4-byte big-endian length.
func HandshakeMessage(tenantID, deviceID string, nonce []byte) []byte {
	return possessionMessage(HandshakeContext, []byte(tenantID), []byte(deviceID), nonce)
}

// RenewalMessage is what an enrolled device signs with its current key to
// ask for a new certificate, answering the server's nonce: the fields
// RenewContext, tenantID, deviceID and nonce, each prefixed by its 4-byte
// big-endian length.
func RenewalMessage(tenantID, deviceID string, nonce []byte) []byte {
	return possessionMessage(RenewContext, []byte(tenantID), []byte(deviceID), nonce)
}

// TokenRequestMessage is what an enrolled device signs to ask for an
// access token: the fields TokenContext, tenantID, deviceID and nonce,
// each prefixed by its 4-byte big-endian length. The nonce of a token
// request ends with the device's ephemeral X25519 public key
// (devproto.TokenNonceBytes), so the signature binds the key core seals
// the token to (devproto.SealToken, which also uses TokenContext as the
// start of its HKDF info).
func TokenRequestMessage(tenantID, deviceID string, nonce []byte) []byte {
	return possessionMessage(TokenContext, []byte(tenantID), []byte(deviceID), nonce)
}

func possessionMessage(context string, fields ...[]byte) []byte {
	n := 4 + len(context)
	for _, f := range fields {
		n += 4 + len(f)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint32(b, uint32(len(context)))
	b = append(b, context...)
	for _, f := range fields {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// VerifyPossession checks an Ed25519 signature over msg (from
// EnrollmentMessage, HandshakeMessage, RenewalMessage or
// TokenRequestMessage). It returns an error wrapping ErrBadPossession for a
// key that IsWeakPublicKey rejects (with which signatures can be forged), a
// signature that is not 64 bytes, or a signature that does not verify.
func VerifyPossession(pub ed25519.PublicKey, msg, sig []byte) error {
	if IsWeakPublicKey(pub) {
		return fmt.Errorf("%w: unusable public key", ErrBadPossession)
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, msg, sig) {
		return ErrBadPossession
	}
	return nil
}

// smallOrderY are the y coordinates (little-endian, sign bit of x cleared)
// of the Ed25519 points of order 1, 2, 4 and 8, with the non-canonical
// spellings p and p+1 — the blocklist of libsodium's
// ge25519_has_small_order. With such a public key a signature can be made
// without any private key (the cofactorless check [S]B = R + [k]A holds
// for a forged R), so a device must never be certified for one. Read-only.
var smallOrderY = [...][32]byte{
	{0x00},
	{0x01},
	{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
		0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
	{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
		0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
	pMinus(1),
	pMinus(0),
	pMinus(-1),
}

// pMinus returns p-d (p = 2^255-19) little-endian, for d in [-1, 1].
func pMinus(d int) [32]byte {
	var b [32]byte
	for i := range b {
		b[i] = 0xff
	}
	b[0] = byte(0xed - d)
	b[31] = 0x7f
	return b
}

// IsWeakPublicKey reports whether pub must not be trusted as a device key:
// it is not ed25519.PublicKeySize bytes, or it encodes a point of small
// order (in either sign of x, canonical or not). A CA must not certify such
// a key and a verifier must not accept a signature under one.
func IsWeakPublicKey(pub ed25519.PublicKey) bool {
	if len(pub) != ed25519.PublicKeySize {
		return true
	}
	var y [32]byte
	copy(y[:], pub)
	y[31] &= 0x7f
	for _, s := range smallOrderY {
		if y == s {
			return true
		}
	}
	return false
}
