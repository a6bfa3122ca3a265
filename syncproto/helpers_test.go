package syncproto

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
)

const (
	testTenant  = "3f2b8c4e-1d5a-4e6f-9a7b-0c1d2e3f4a5b"
	otherTenant = "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
	rootKid     = "root-2026"
)

var (
	baseTime = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	idSpace  = uuid.MustParse("6ba7b812-9dad-11d1-80b4-00c04fd430c8")
)

// testKey derives a deterministic Ed25519 key from a fixed 32-byte seed.
func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("melmastoon syncproto test key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func testSigner(t testing.TB, kid string) *Signer {
	t.Helper()
	s, err := NewSigner(kid, testKey(kid))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testAnchor(root *Signer) TrustAnchor {
	return TrustAnchor{Tenant: testTenant, Kid: root.Kid(), PublicKey: root.PublicKey()}
}

// delta returns a valid, deterministic account delta numbered i (chain
// fields are filled in by Chain).
func delta(t testing.TB, i int) Envelope {
	t.Helper()
	data, err := EncodeData(map[int]any{1: fmt.Sprintf("account-%d", i), 2: i, 3: true})
	if err != nil {
		t.Fatal(err)
	}
	return Envelope{
		ID:              uuid.NewSHA1(idSpace, []byte(fmt.Sprint("delta", i))).String(),
		Time:            baseTime.Add(time.Duration(i) * time.Second).UnixMilli(),
		Source:          "core/relay",
		Subject:         fmt.Sprintf("account/%d", i),
		Type:            "melmastoon.iam.account.created.v1",
		DataContentType: DataContentTypeCBOR,
		Data:            data,
		Traceparent:     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}
}

// control returns the ID/Source/Time part of a control message.
func control(i int) Envelope {
	return Envelope{
		ID:     uuid.NewSHA1(idSpace, []byte(fmt.Sprint("control", i))).String(),
		Time:   baseTime.Add(time.Duration(i) * time.Second).UnixMilli(),
		Source: "core/relay",
	}
}

// fixture is a tenant stream whose delta 1 is a root-signed rotation that
// introduces the "delta-1" key.
type fixture struct {
	root, key *Signer
	anchor    TrustAnchor
	chain     *Chain
	msgs      [][]byte // msgs[i] has seq i+1
}

func newFixture(t testing.TB, deltas int) *fixture {
	t.Helper()
	f := &fixture{root: testSigner(t, rootKid), key: testSigner(t, "delta-1")}
	f.anchor = testAnchor(f.root)
	var err error
	if f.chain, err = NewChain(testTenant, f.root, 0, ZeroHash); err != nil {
		t.Fatal(err)
	}
	f.add(t, must(f.chain.Rotate(f.root, f.key, nil, control(0))))
	for i := 1; i <= deltas; i++ {
		f.add(t, must(f.chain.Next(delta(t, i))))
	}
	return f
}

func (f *fixture) add(t testing.TB, msg []byte) { f.msgs = append(f.msgs, msg) }

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// verifierAt returns a verifier that has applied the fixture's first n
// messages.
func (f *fixture) verifierAt(t testing.TB, n int) *Verifier {
	t.Helper()
	v, err := NewVerifier(VerifierConfig{Anchor: f.anchor})
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range f.msgs[:n] {
		env, err := v.Verify(msg, baseTime)
		if err != nil {
			t.Fatalf("verify seq %d: %v", len(f.msgs), err)
		}
		if err := v.Accept(env, baseTime); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("got %v (%s), want %v", err, Reason(err), want)
	}
}
