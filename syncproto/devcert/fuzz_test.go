package devcert

import (
	"bytes"
	"testing"
	"time"
)

// FuzzVerifyDevice feeds arbitrary leaf and intermediate bytes to
// VerifyDevice: it must not panic, every error must wrap a sentinel, and a
// success must name the bundle's tenant.
func FuzzVerifyDevice(f *testing.F) {
	a := newFixture(f, tenantA, 1)
	b := newFixture(f, tenantB, 2)
	leaf := a.issue(f, device1)
	f.Add(leaf, []byte(nil), uint8(1), int64(0))
	f.Add(leaf, a.issuing.Raw, uint8(2), int64(time.Minute))
	f.Add(b.issue(f, device1), b.issuing.Raw, uint8(2), int64(0))
	f.Add(a.issuing.Raw, a.root.Raw, uint8(2), int64(0))
	f.Add(leaf[:len(leaf)/2], []byte{0x30, 0x80}, uint8(3), int64(-1))
	f.Fuzz(func(t *testing.T, first, second []byte, n uint8, skew int64) {
		chain := make([][]byte, int(n)%(MaxChainCerts+2))
		for i := range chain {
			chain[i] = second
		}
		if len(chain) > 0 {
			chain[0] = first
		}
		id, err := a.bundle.VerifyDevice(chain, t0, time.Duration(skew))
		if err != nil {
			if !typed(err) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if id.Tenant != tenantA || !IsCanonicalUUID(id.Device) {
			t.Fatalf("accepted identity %+v", id)
		}
	})
}

// FuzzParseTrustBundle: no panics, typed errors, and whatever parses is
// canonical (re-encodes to the same bytes) and verifies nothing untyped.
func FuzzParseTrustBundle(f *testing.F) {
	a := newFixture(f, tenantA, 1)
	a2 := newFixture(f, tenantA, 2)
	two, err := NewTrustBundle(tenantA, [][]byte{a.root.Raw, a2.root.Raw}, [][]byte{a.issuing.Raw, a2.issuing.Raw}, t0)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(a.bundle.Marshal())
	f.Add(two.Marshal())
	f.Add([]byte(`{"version":1,"tenant":"` + tenantA + `","roots":[],"intermediates":[]}`))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`null`))
	leaf := a.issue(f, device1)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseTrustBundle(data)
		if err != nil {
			if !typed(err) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if !bytes.Equal(b.Marshal(), data) {
			t.Fatalf("accepted non-canonical bundle %q", data)
		}
		if _, err := b.VerifyDevice([][]byte{leaf}, t0, 0); err != nil && !typed(err) {
			t.Fatalf("untyped verify error: %v", err)
		}
	})
}
