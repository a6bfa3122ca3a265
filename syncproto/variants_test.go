package syncproto

import (
	"bytes"
	"testing"
	"time"
)

// The helpers below build hostile or unusual messages for the rejection
// tests and the golden vectors. All are deterministic.

func flipLast(msg []byte) []byte {
	out := bytes.Clone(msg)
	out[len(out)-1] ^= 0x01
	return out
}

// secondDelta is the envelope of seq 2 of a fixture (prev = hash of seq 1).
func secondDelta(t testing.TB, f *fixture) Envelope {
	e := delta(t, 1)
	e.Tenant, e.Seq, e.Prev = testTenant, 2, hashSlice(ChainHash(f.msgs[0]))
	return e
}

func hashSlice(h Hash) []byte { return h[:] }

func headerVariant(t testing.TB, f *fixture, label int64, value any) []byte {
	h := stdHeader(f.key.Kid())
	h[label] = value
	return craft(t, h, emptyMap, payloadOf(t, secondDelta(t, f)), testKey(f.key.Kid()))
}

func critVariant(t testing.TB, f *fixture) []byte {
	h := stdHeader(f.key.Kid())
	h[2] = []int64{99}
	h[99] = "must understand"
	return craft(t, h, emptyMap, payloadOf(t, secondDelta(t, f)), testKey(f.key.Kid()))
}

func unprotectedVariant(t testing.TB, f *fixture) []byte {
	unprot, _ := encMode.Marshal(map[int64]any{1: -8})
	return craft(t, stdHeader(f.key.Kid()), unprot, payloadOf(t, secondDelta(t, f)), testKey(f.key.Kid()))
}

func signedBy(t testing.TB, f *fixture, s *Signer, seq int) []byte {
	e := secondDelta(t, f)
	return must(s.SignEnvelope(&e))
}

func rotationBy(t testing.TB, f *fixture, s *Signer) []byte {
	c, _ := NewChain(testTenant, s, 1, ChainHash(f.msgs[0]))
	return must(c.Rotate(s, testSigner(t, "delta-x"), nil, control(7)))
}

// retiredKidMessage builds a stream whose delta 2 retires delta-1 and whose
// delta 3 is still signed by delta-1; it returns an applied-state message
// for a fresh verifier: use retiredStream for the full setup.
func retiredKidMessage(t testing.TB) []byte {
	_, msg := retiredStream(t)
	return msg
}

// retiredStream returns a verifier that has applied a rotation to delta-2
// retiring delta-1, and a next delta signed by the retired delta-1. The
// rejection test uses a fresh verifier at seq 0; the kid is unknown there
// too, so both cases report unknown_key.
func retiredStream(t testing.TB) (*Verifier, []byte) {
	f := newFixture(t, 0)
	k2 := testSigner(t, "delta-2")
	f.add(t, must(f.chain.Rotate(f.root, k2, []string{"delta-1"}, control(1))))
	v := f.verifierAt(t, 2)
	f.chain.SetSigner(f.key)
	return v, must(f.chain.Next(delta(t, 3)))
}

func forkedDelta(t testing.TB, f *fixture, seq uint64) []byte {
	e := delta(t, 1000)
	e.Tenant, e.Seq, e.Prev = testTenant, seq, hashSlice(ChainHash([]byte("fork")))
	return must(f.key.SignEnvelope(&e))
}

func otherTenantDelta(t testing.TB, f *fixture) []byte {
	e := secondDelta(t, f)
	e.Tenant = otherTenant
	return must(f.key.SignEnvelope(&e))
}

// checkpoint signs a checkpoint of the fixture's full chain at time at.
func checkpoint(t testing.TB, f *fixture, at time.Time) []byte {
	return must(f.chain.Checkpoint(control(int(at.Unix()%1000)), at))
}

func TestRetiredKeyIsUnknown(t *testing.T) {
	v, msg := retiredStream(t)
	_, err := v.Verify(msg, baseTime)
	wantErr(t, err, ErrUnknownKey)
}
