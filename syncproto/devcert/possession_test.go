package devcert

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"testing"
)

func TestPossession(t *testing.T) {
	pub, priv := deviceKey(3)
	nonce := bytes.Repeat([]byte{0xa5}, MinNonceBytes)
	enroll := EnrollmentMessage(tenantA, nonce, pub)
	hello := HandshakeMessage(tenantA, device1, nonce)
	renew := RenewalMessage(tenantA, device1, nonce)
	token := TokenRequestMessage(tenantA, device1, nonce)
	enrollSig := ed25519.Sign(priv, enroll)
	helloSig := ed25519.Sign(priv, hello)
	renewSig := ed25519.Sign(priv, renew)
	tokenSig := ed25519.Sign(priv, token)
	otherPub, _ := deviceKey(4)
	otherNonce := append(bytes.Clone(nonce), 0)

	for _, tc := range []struct {
		name string
		pub  ed25519.PublicKey
		msg  []byte
		sig  []byte
		ok   bool
	}{
		{"enroll", pub, enroll, enrollSig, true},
		{"handshake", pub, hello, helloSig, true},
		{"renew", pub, renew, renewSig, true},
		{"token", pub, token, tokenSig, true},
		{"enroll signature as handshake", pub, hello, enrollSig, false},
		{"handshake signature as enroll", pub, enroll, helloSig, false},
		{"other tenant", pub, EnrollmentMessage(tenantB, nonce, pub), enrollSig, false},
		{"other nonce", pub, HandshakeMessage(tenantA, device1, otherNonce), helloSig, false},
		{"other device", pub, HandshakeMessage(tenantA, device2, nonce), helloSig, false},
		{"renew, other tenant", pub, RenewalMessage(tenantB, device1, nonce), renewSig, false},
		{"renew, other device", pub, RenewalMessage(tenantA, device2, nonce), renewSig, false},
		{"renew, other nonce", pub, RenewalMessage(tenantA, device1, otherNonce), renewSig, false},
		{"token, other tenant", pub, TokenRequestMessage(tenantB, device1, nonce), tokenSig, false},
		{"token, other device", pub, TokenRequestMessage(tenantA, device2, nonce), tokenSig, false},
		{"token, other nonce", pub, TokenRequestMessage(tenantA, device1, otherNonce), tokenSig, false},
		{"other key in message", pub, EnrollmentMessage(tenantA, nonce, otherPub), enrollSig, false},
		{"other verifying key", otherPub, enroll, enrollSig, false},
		{"short signature", pub, enroll, enrollSig[:63], false},
		{"short key", pub[:31], enroll, enrollSig, false},
		{"long key", append(bytes.Clone(pub), 0), enroll, enrollSig, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyPossession(tc.pub, tc.msg, tc.sig)
			if tc.ok {
				wantErr(t, err, nil)
			} else {
				wantErr(t, err, ErrBadPossession)
			}
		})
	}
}

// TestPossessionPurposesNotInterchangeable signs the message of each
// purpose, all over the same tenant, device, nonce and key, and checks
// that each signature verifies for its own purpose only.
func TestPossessionPurposesNotInterchangeable(t *testing.T) {
	pub, priv := deviceKey(3)
	nonce := bytes.Repeat([]byte{0x5a}, MinNonceBytes)
	purposes := []struct {
		name string
		ctx  string
		msg  []byte
	}{
		{"enroll", EnrollContext, EnrollmentMessage(tenantA, nonce, pub)},
		{"handshake", HandshakeContext, HandshakeMessage(tenantA, device1, nonce)},
		{"renew", RenewContext, RenewalMessage(tenantA, device1, nonce)},
		{"token", TokenContext, TokenRequestMessage(tenantA, device1, nonce)},
	}
	for i, signed := range purposes {
		sig := ed25519.Sign(priv, signed.msg)
		for j, verified := range purposes {
			t.Run(fmt.Sprintf("%s signature as %s", signed.name, verified.name), func(t *testing.T) {
				if i != j && (signed.ctx == verified.ctx || bytes.Equal(signed.msg, verified.msg)) {
					t.Fatal("two purposes share a context or a message")
				}
				err := VerifyPossession(pub, verified.msg, sig)
				if i == j {
					wantErr(t, err, nil)
				} else {
					wantErr(t, err, ErrBadPossession)
				}
			})
		}
	}
}

// TestPossessionFieldBoundaries checks the length prefixes: moving bytes
// from one field to the next changes the message; and that each message
// starts with its context.
func TestPossessionFieldBoundaries(t *testing.T) {
	for name, build := range map[string]func(string, string, []byte) []byte{
		"handshake": HandshakeMessage,
		"renew":     RenewalMessage,
		"token":     TokenRequestMessage,
	} {
		a := build("ab", "c", []byte("n"))
		b := build("a", "bc", []byte("n"))
		c := build("a", "b", []byte("cn"))
		if bytes.Equal(a, b) || bytes.Equal(b, c) || bytes.Equal(a, c) {
			t.Errorf("%s: field boundaries are ambiguous", name)
		}
	}
	pub, _ := deviceKey(3)
	if bytes.Equal(EnrollmentMessage("ab", []byte("c"), pub), EnrollmentMessage("a", []byte("bc"), pub)) {
		t.Error("enroll: field boundaries are ambiguous")
	}
	for _, tc := range []struct {
		ctx string
		msg []byte
	}{
		{EnrollContext, EnrollmentMessage(tenantA, nil, nil)},
		{HandshakeContext, HandshakeMessage(tenantA, device1, nil)},
		{RenewContext, RenewalMessage(tenantA, device1, nil)},
		{TokenContext, TokenRequestMessage(tenantA, device1, nil)},
	} {
		if !bytes.HasPrefix(tc.msg, append([]byte{0, 0, 0, byte(len(tc.ctx))}, tc.ctx...)) {
			t.Errorf("message does not start with its context %q", tc.ctx)
		}
	}
	want := append([]byte{0, 0, 0, byte(len(RenewContext))}, RenewContext...)
	for _, f := range [][]byte{[]byte(tenantA), []byte(device1), {1, 2}} {
		want = append(want, 0, 0, 0, byte(len(f)))
		want = append(want, f...)
	}
	if got := RenewalMessage(tenantA, device1, []byte{1, 2}); !bytes.Equal(got, want) {
		t.Errorf("renewal message layout:\n got %x\nwant %x", got, want)
	}
}

// TestPossessionSmallOrderKey shows why small-order keys are refused: with
// the identity point as public key, R = identity and S = 0 "sign" every
// message.
func TestPossessionSmallOrderKey(t *testing.T) {
	identity := make(ed25519.PublicKey, ed25519.PublicKeySize)
	identity[0] = 1
	forged := make([]byte, ed25519.SignatureSize)
	forged[0] = 1
	msg := HandshakeMessage(tenantA, device1, []byte("any nonce at all"))
	if !ed25519.Verify(identity, msg, forged) {
		t.Log("crypto/ed25519 rejects the identity forgery by itself")
	}
	wantErr(t, VerifyPossession(identity, msg, forged), ErrBadPossession)
	for _, y := range smallOrderY {
		for _, sign := range []byte{0, 0x80} {
			k := ed25519.PublicKey(bytes.Clone(y[:]))
			k[31] |= sign
			if !IsWeakPublicKey(k) {
				t.Errorf("%x not flagged", k)
			}
		}
	}
	if pub, _ := deviceKey(1); IsWeakPublicKey(pub) {
		t.Error("ordinary key flagged")
	}
	for _, k := range []ed25519.PublicKey{nil, {1}, make(ed25519.PublicKey, ed25519.PublicKeySize-1), make(ed25519.PublicKey, ed25519.PublicKeySize+1)} {
		if !IsWeakPublicKey(k) {
			t.Errorf("key of %d bytes not flagged", len(k))
		}
	}
}
