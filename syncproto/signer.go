package syncproto

import (
	"crypto/ed25519"
	"fmt"

	"github.com/veraison/go-cose"
)

// Signer signs messages as one key: a kid and an Ed25519 private key.
// Its algorithm is always EdDSA. A Signer is safe for concurrent use.
type Signer struct {
	kid    string
	public ed25519.PublicKey
	signer cose.Signer
}

// NewSigner returns a Signer for key under kid. It fails if kid is empty or
// longer than MaxKidLength, or key is not an Ed25519 private key.
func NewSigner(kid string, key ed25519.PrivateKey) (*Signer, error) {
	if !validKid(kid) {
		return nil, fmt.Errorf("syncproto: kid length %d outside 1..%d", len(kid), MaxKidLength)
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("syncproto: private key has %d bytes", len(key))
	}
	s, err := cose.NewSigner(cose.AlgorithmEdDSA, key)
	if err != nil {
		return nil, fmt.Errorf("syncproto: %w", err)
	}
	pub, _ := key.Public().(ed25519.PublicKey)
	return &Signer{kid: kid, public: pub, signer: s}, nil
}

// Kid returns the key id.
func (s *Signer) Kid() string { return s.kid }

// PublicKey returns the public half of the key.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.public }

// SigningKey returns the kid and public key, as a KeyRotation or snapshot
// announces them.
func (s *Signer) SigningKey() SigningKey {
	return SigningKey{Kid: s.kid, PublicKey: s.public}
}

// SignEnvelope validates e, encodes it canonically and returns the tagged
// COSE_Sign1 bytes. Its chain hash is ChainHash of the result. It returns
// an error wrapping ErrMalformed if e is invalid or its Data not canonical.
func (s *Signer) SignEnvelope(e *Envelope) ([]byte, error) {
	payload, err := e.Encode()
	if err != nil {
		return nil, err
	}
	return s.sign(ContentTypeDelta, payload)
}

// SignSnapshot validates and signs one snapshot chunk. Verifiers accept
// snapshot chunks only from the tenant root key.
func (s *Signer) SignSnapshot(sn *Snapshot) ([]byte, error) {
	payload, err := sn.Encode()
	if err != nil {
		return nil, err
	}
	return s.sign(ContentTypeSnapshot, payload)
}

func (s *Signer) sign(contentType string, payload []byte) ([]byte, error) {
	headers := cose.Headers{
		Protected: cose.ProtectedHeader{
			cose.HeaderLabelAlgorithm:   cose.AlgorithmEdDSA,
			cose.HeaderLabelContentType: contentType,
			cose.HeaderLabelKeyID:       []byte(s.kid),
			HeaderLabelProtocolVersion:  ProtocolVersion,
		},
		Unprotected: cose.UnprotectedHeader{},
	}
	msg, err := cose.Sign1(nil, s.signer, headers, payload, nil)
	if err != nil {
		return nil, fmt.Errorf("syncproto: sign: %w", err)
	}
	return msg, nil
}
