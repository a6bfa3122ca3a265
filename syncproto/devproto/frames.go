package devproto

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Subprotocol is the WebSocket subprotocol a device must offer.
const Subprotocol = "iam-device-sync.v1"

// Limits.
const (
	// MaxFrameBytes caps one frame (a frame carries at most one delta).
	MaxFrameBytes = 64 << 10
	// NonceBytes is the size of the edge's Hello nonce (and of core's
	// enrollment nonce).
	NonceBytes = 32
	// RequestNonceBytes is the size of a device's renew request nonce: 16
	// random bytes and the device's time as 8-byte big-endian unix
	// milliseconds; core refuses one outside ±5 minutes of its clock or
	// seen before. A token request nonce (TokenNonceBytes) appends the
	// device's ephemeral X25519 public key to the same 24 bytes.
	RequestNonceBytes = 24
	// MaxChainCerts caps a certificate chain in a frame.
	MaxChainCerts = 4
)

// MsgType identifies a frame.
type MsgType uint8

// Frame types. Never renumber.
const (
	// Hello (edge → device): Nonce, Time.
	Hello MsgType = 1
	// Auth (device → edge): Tenant, Device, Chain (leaf first), Sig over
	// devcert.HandshakeMessage(Tenant, Device, hello nonce), Cursor.
	Auth MsgType = 2
	// Ready (edge → device): Time; the device's newer deltas follow.
	Ready MsgType = 3
	// Delta (edge → device): Delta, a signed delta or Device snapshot as
	// core signed it (device.*, or a key rotation of the tenant).
	Delta MsgType = 4
	// RenewRequest (device → edge): ID, Nonce (a RequestNonce), Sig over
	// devcert.RenewalMessage(Tenant, Device, Nonce).
	RenewRequest MsgType = 5
	// RenewResponse (edge → device): ID, then Chain (the new leaf first)
	// or Error.
	RenewResponse MsgType = 6
	// TokenRequest (device → edge): ID, Nonce (a token nonce of
	// TokenNonceBytes: a request nonce and the device's ephemeral X25519
	// public key), Sig over devcert.TokenRequestMessage(Tenant, Device,
	// Nonce).
	TokenRequest MsgType = 7
	// TokenResponse (edge → device): ID, then SealedToken (SealToken: the
	// access token encrypted by core to the request's ephemeral key; the
	// edge cannot read it) and ExpiresIn, or Error.
	TokenResponse MsgType = 8
)

// Message is every frame; which fields are set depends on Type. Key 12
// (a plain access token, before tokens were sealed) is retired: a frame
// carrying it is refused as an unknown key, and it is never reused.
type Message struct {
	Type      MsgType  `cbor:"1,keyasint"`
	Nonce     []byte   `cbor:"2,keyasint,omitempty"`
	Time      int64    `cbor:"3,keyasint,omitempty"` // unix milliseconds
	Tenant    string   `cbor:"4,keyasint,omitempty"`
	Device    string   `cbor:"5,keyasint,omitempty"`
	Chain     [][]byte `cbor:"6,keyasint,omitempty"`
	Sig       []byte   `cbor:"7,keyasint,omitempty"`
	Cursor    uint64   `cbor:"8,keyasint,omitempty"`
	Delta     []byte   `cbor:"9,keyasint,omitempty"`
	ID        uint64   `cbor:"10,keyasint,omitempty"`
	Error     string   `cbor:"11,keyasint,omitempty"` // an Err* code of a response
	ExpiresIn int64    `cbor:"13,keyasint,omitempty"` // seconds
	// SealedToken is a TokenResponse's access token, sealed by core to
	// the device's ephemeral key (SealToken, OpenToken).
	SealedToken []byte `cbor:"14,keyasint,omitempty"`
}

// Response error codes (Message.Error, and the Error of a RenewReply or
// TokenReply over NATS). They are not signed: "expired" and "revoked" are
// hints to a device, which stops only on its own expiry check or a signed
// Device delta or snapshot.
const (
	ErrCodeUnavailable = "unavailable"   // core unreachable: keep the current certificate, retry later
	ErrCodeExpired     = "expired"       // core found the device's certificate expired
	ErrCodeRevoked     = "revoked"       // core found the device revoked
	ErrCodeBadRequest  = "bad_request"   // malformed, bad signature, replayed or stale nonce
	ErrCodeNotFound    = "not_found"     // no such device or tenant
	ErrCodeAccount     = "account_state" // the device's account is not active (tokens)
	ErrCodeInternal    = "internal"
	// ErrCodeTooEarly refuses a renewal while the certificate has more
	// than two thirds of its validity (plus a minute) left: the device
	// keeps its certificate and asks again at its next check.
	ErrCodeTooEarly = "too_early"
)

var (
	encMode = func() cbor.EncMode {
		m, err := cbor.CoreDetEncOptions().EncMode()
		if err != nil {
			panic(err)
		}
		return m
	}()
	decMode = func() cbor.DecMode {
		m, err := cbor.DecOptions{
			DupMapKey:         cbor.DupMapKeyEnforcedAPF,
			IndefLength:       cbor.IndefLengthForbidden,
			MaxNestedLevels:   8,
			MaxArrayElements:  MaxChainCerts * 4,
			MaxMapPairs:       32,
			ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
			TagsMd:            cbor.TagsForbidden,
		}.DecMode()
		if err != nil {
			panic(err)
		}
		return m
	}()
)

// ErrMalformed wraps every Decode failure.
var ErrMalformed = errors.New("devproto: malformed frame")

// Encode returns the deterministic CBOR of m.
func Encode(m *Message) ([]byte, error) {
	if len(m.Chain) > MaxChainCerts {
		return nil, fmt.Errorf("%w: %d certificates", ErrMalformed, len(m.Chain))
	}
	b, err := encMode.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("devproto: encode: %w", err)
	}
	if len(b) > MaxFrameBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformed, len(b), MaxFrameBytes)
	}
	return b, nil
}

// Decode parses one frame strictly: size cap, no unknown or duplicate
// keys, no indefinite lengths, no tags, no trailing bytes, canonical
// encoding (it must re-encode to the same bytes), a known Type and at
// most MaxChainCerts certificates.
func Decode(b []byte) (*Message, error) {
	if len(b) > MaxFrameBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformed, len(b), MaxFrameBytes)
	}
	var m Message
	rest, err := decMode.UnmarshalFirst(b, &m)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(rest))
	}
	if m.Type < Hello || m.Type > TokenResponse {
		return nil, fmt.Errorf("%w: unknown type %d", ErrMalformed, m.Type)
	}
	if len(m.Chain) > MaxChainCerts {
		return nil, fmt.Errorf("%w: %d certificates", ErrMalformed, len(m.Chain))
	}
	again, err := encMode.Marshal(&m)
	if err != nil || !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: not canonical CBOR", ErrMalformed)
	}
	return &m, nil
}

// String names the type for logs and metrics.
func (t MsgType) String() string {
	names := [...]string{Hello: "hello", Auth: "auth", Ready: "ready", Delta: "delta", RenewRequest: "renew_request",
		RenewResponse: "renew_response", TokenRequest: "token_request", TokenResponse: "token_response"}
	if int(t) < len(names) && names[t] != "" {
		return names[t]
	}
	return "unknown"
}
