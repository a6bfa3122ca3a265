package syncproto

import (
	"crypto/ed25519"

	"github.com/fxamacker/cbor/v2"
	"testing"
)

// craft builds a COSE_Sign1 by hand so tests can produce headers the Signer
// never would. Keys are any CBOR-encodable labels.
func craft(t testing.TB, prot map[int64]any, unprot []byte, payload []byte, key ed25519.PrivateKey) []byte {
	t.Helper()
	pb, err := encMode.Marshal(prot)
	if err != nil {
		t.Fatal(err)
	}
	tbs, err := encMode.Marshal([]any{"Signature1", pb, []byte{}, payload})
	if err != nil {
		t.Fatal(err)
	}
	sig := ed25519.Sign(key, tbs)
	body, err := encMode.Marshal([]any{pb, cbor.RawMessage(unprot), payload, sig})
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{coseSign1Tag}, body...)
}

// stdHeader is the header the Signer writes, for variation in tests.
func stdHeader(kid string) map[int64]any {
	return map[int64]any{
		1:                          -8,
		3:                          ContentTypeDelta,
		4:                          []byte(kid),
		HeaderLabelProtocolVersion: ProtocolVersion,
	}
}

// payloadOf returns the envelope payload that e would be signed as.
func payloadOf(t testing.TB, e Envelope) []byte {
	t.Helper()
	b, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
