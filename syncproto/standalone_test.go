package syncproto

import (
	"testing"
)

func TestVerifyStandalone(t *testing.T) {
	f := newFixture(t, 3)
	root, err := NewKeyring(f.anchor, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	withKey, err := NewKeyring(f.anchor, []SigningKey{f.key.SigningKey()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The rotation (seq 1) is root-signed and teaches the root-only keyring the delta key.
	rot, err := VerifyStandalone(f.msgs[0], root, testTenant)
	if err != nil {
		t.Fatal(err)
	}
	learned, err := root.WithRotation(rot)
	if err != nil {
		t.Fatal(err)
	}
	// Deltas verify out of order and alone: no chain.
	for _, i := range []int{3, 1, 2} {
		env, err := VerifyStandalone(f.msgs[i], learned, testTenant)
		if err != nil || env.Seq != uint64(i+1) {
			t.Fatalf("delta %d: %v %v", i, env, err)
		}
	}
	tampered := append([]byte(nil), f.msgs[2]...)
	tampered[len(tampered)-5] ^= 1
	other := testSigner(t, "other-root")
	forged := must(newChainSignedBy(t, other).Next(delta(t, 9)))
	tests := []struct {
		name string
		msg  []byte
		keys *Keyring
		tent string
		want error
	}{
		{"unknown key: root-only keyring", f.msgs[1], root, testTenant, ErrUnknownKey},
		{"tampered", tampered, withKey, testTenant, ErrBadSignature},
		{"wrong tenant", f.msgs[1], withKey, "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d", ErrWrongTenant},
		{"signed by a stranger", forged, withKey, testTenant, ErrUnknownKey},
		{"garbage", []byte("garbage"), withKey, testTenant, ErrMalformed},
		{"oversized", make([]byte, MaxMessageSize+1), withKey, testTenant, ErrTooLarge},
		{"no keyring", f.msgs[1], nil, testTenant, ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifyStandalone(tt.msg, tt.keys, tt.tent)
			wantErr(t, err, tt.want)
		})
	}
}

// newChainSignedBy starts a chain of testTenant signed by s.
func newChainSignedBy(t testing.TB, s *Signer) *Chain {
	t.Helper()
	c, err := NewChain(testTenant, s, 0, ZeroHash)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
