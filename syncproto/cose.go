package syncproto

import (
	"bytes"
	"crypto/ed25519"
	"fmt"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"
)

// COSE header labels used by this package (RFC 9052 §3.1 and private use).
const (
	// HeaderLabelProtocolVersion is the private-use protected header label
	// that carries ProtocolVersion.
	HeaderLabelProtocolVersion int64 = -65537

	// ContentTypeDelta is the protected content type of an Envelope payload.
	ContentTypeDelta = "application/vnd.melmastoon.iam.delta+cbor"
	// ContentTypeSnapshot is the protected content type of a Snapshot chunk.
	ContentTypeSnapshot = "application/vnd.melmastoon.iam.snapshot+cbor"
)

// coseSign1Tag is the one-byte encoding of CBOR tag 18 (COSE_Sign1_Tagged).
// It is the only tag accepted anywhere, and only as the first byte: the
// decoder that reads the rest forbids tags.
const coseSign1Tag = 0xd2

var emptyMap = []byte{0xa0}

// sign1Wire is the untagged COSE_Sign1 array.
type sign1Wire struct {
	_           struct{} `cbor:",toarray"`
	Protected   []byte
	Unprotected cbor.RawMessage
	Payload     []byte
	Signature   []byte
}

// parsedSign1 is a structurally valid COSE_Sign1 whose signature has not
// been checked yet.
type parsedSign1 struct {
	protectedRaw []byte // the protected bstr, wrapped, as signed
	kid          string
	payload      []byte
	signature    []byte
}

// parseSign1 checks the COSE structure and protected header of msg without
// verifying the signature. Size limits are the caller's job.
func parseSign1(msg []byte, contentType string) (*parsedSign1, error) {
	if len(msg) == 0 || msg[0] != coseSign1Tag {
		return nil, fmt.Errorf("%w: not a tagged COSE_Sign1", ErrMalformed)
	}
	var w sign1Wire
	if err := decodeStrict(msg[1:], &w); err != nil {
		return nil, err
	}
	if !bytes.Equal(w.Unprotected, emptyMap) {
		return nil, fmt.Errorf("%w: unprotected header must be empty", ErrMalformed)
	}
	if len(w.Payload) == 0 {
		return nil, fmt.Errorf("%w: payload is empty or detached", ErrMalformed)
	}
	if len(w.Signature) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: signature has %d bytes", ErrBadSignature, len(w.Signature))
	}
	kid, err := parseProtected(w.Protected, contentType)
	if err != nil {
		return nil, err
	}
	raw, err := encMode.Marshal(w.Protected)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return &parsedSign1{protectedRaw: raw, kid: kid, payload: w.Payload, signature: w.Signature}, nil
}

// verify checks the signature with go-cose under EdDSA, the algorithm fixed
// for every key of this package (never the message's choice).
func (p *parsedSign1) verify(v cose.Verifier) error {
	m := cose.Sign1Message{
		Headers: cose.Headers{
			RawProtected: p.protectedRaw,
			Protected:    cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmEdDSA},
		},
		Payload:   p.payload,
		Signature: p.signature,
	}
	if err := m.Verify(nil, v); err != nil {
		return fmt.Errorf("%w: kid %q", ErrBadSignature, p.kid)
	}
	return nil
}

// parseProtected validates the protected header map and returns the kid.
// Order matters: version first (a later version may change everything
// else), then crit, then the remaining labels.
func parseProtected(b []byte, contentType string) (string, error) {
	var h map[int64]cbor.RawMessage
	if err := decodeStrict(b, &h); err != nil {
		return "", err
	}
	if err := checkVersion(h); err != nil {
		return "", err
	}
	if err := checkCritical(h); err != nil {
		return "", err
	}
	if err := checkKnownLabels(h); err != nil {
		return "", err
	}
	if err := checkAlgorithm(h); err != nil {
		return "", err
	}
	if err := checkContentType(h, contentType); err != nil {
		return "", err
	}
	return readKid(h)
}

func checkVersion(h map[int64]cbor.RawMessage) error {
	var v uint64
	if err := readLabel(h, HeaderLabelProtocolVersion, majorUint, &v); err != nil {
		return err
	}
	if v != ProtocolVersion {
		return fmt.Errorf("%w: %d", ErrUnsupportedVersion, v)
	}
	return nil
}

// understoodCritical lists the labels this package may be told are critical.
var understoodCritical = map[int64]bool{HeaderLabelProtocolVersion: true}

func checkCritical(h map[int64]cbor.RawMessage) error {
	raw, ok := h[cose.HeaderLabelCritical]
	if !ok {
		return nil
	}
	var labels []int64
	if err := decMode.Unmarshal(raw, &labels); err != nil || len(labels) == 0 || raw[0]>>5 != majorArray {
		return fmt.Errorf("%w: crit must be a non-empty array of int labels", ErrCriticalHeader)
	}
	for _, l := range labels {
		if _, present := h[l]; !understoodCritical[l] || !present {
			return fmt.Errorf("%w: label %d", ErrCriticalHeader, l)
		}
	}
	return nil
}

func checkKnownLabels(h map[int64]cbor.RawMessage) error {
	for l := range h {
		switch l {
		case cose.HeaderLabelAlgorithm, cose.HeaderLabelCritical, cose.HeaderLabelContentType,
			cose.HeaderLabelKeyID, HeaderLabelProtocolVersion:
		default:
			return fmt.Errorf("%w: unexpected protected header label %d", ErrMalformed, l)
		}
	}
	return nil
}

func checkAlgorithm(h map[int64]cbor.RawMessage) error {
	var alg int64
	if err := readLabel(h, cose.HeaderLabelAlgorithm, majorNegint, &alg); err != nil {
		return fmt.Errorf("%w: alg must be EdDSA", ErrBadSignature)
	}
	if alg != int64(cose.AlgorithmEdDSA) {
		return fmt.Errorf("%w: alg %d is not EdDSA", ErrBadSignature, alg)
	}
	return nil
}

func checkContentType(h map[int64]cbor.RawMessage, want string) error {
	var ct string
	if err := readLabel(h, cose.HeaderLabelContentType, majorText, &ct); err != nil {
		return err
	}
	if ct != want {
		return fmt.Errorf("%w: content type %q, want %q", ErrMalformed, ct, want)
	}
	return nil
}

func readKid(h map[int64]cbor.RawMessage) (string, error) {
	var kid []byte
	if err := readLabel(h, cose.HeaderLabelKeyID, majorBytes, &kid); err != nil {
		return "", err
	}
	if !validKid(string(kid)) {
		return "", fmt.Errorf("%w: kid length %d", ErrMalformed, len(kid))
	}
	return string(kid), nil
}

// readLabel decodes a required label whose CBOR major type must be major.
func readLabel(h map[int64]cbor.RawMessage, label int64, major byte, v any) error {
	raw, ok := h[label]
	if !ok {
		return fmt.Errorf("%w: protected header lacks label %d", ErrMalformed, label)
	}
	if len(raw) == 0 || raw[0]>>5 != major {
		return fmt.Errorf("%w: protected header label %d has the wrong type", ErrMalformed, label)
	}
	if err := decMode.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: protected header label %d: %w", ErrMalformed, label, err)
	}
	return nil
}
