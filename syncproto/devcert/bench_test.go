package devcert

import "testing"

func BenchmarkVerifyDevice(b *testing.B) {
	f := newFixture(b, tenantA, 1)
	for _, bc := range []struct {
		name  string
		chain [][]byte
	}{
		{"leaf", [][]byte{f.issue(b, device1)}},
		{"leaf+issuing", [][]byte{f.issue(b, device1), f.issuing.Raw}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.bundle.VerifyDevice(bc.chain, t0, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseTrustBundle(b *testing.B) {
	f := newFixture(b, tenantA, 1)
	enc := f.bundle.Marshal()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTrustBundle(enc); err != nil {
			b.Fatal(err)
		}
	}
}
