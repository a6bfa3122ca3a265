package syncproto

import (
	"testing"
)

func BenchmarkSign(b *testing.B) {
	s := testSigner(b, "delta-1")
	e := delta(b, 1)
	e.Tenant, e.Seq, e.Prev = testTenant, 1, ZeroHash[:]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.SignEnvelope(&e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	f := newFixture(b, 1)
	v := f.verifierAt(b, 1)
	msg := f.msgs[1]
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(msg, baseTime); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeDecode(b *testing.B) {
	e := delta(b, 1)
	e.Tenant, e.Seq, e.Prev = testTenant, 1, ZeroHash[:]
	b.ReportAllocs()
	for b.Loop() {
		p, err := e.Encode()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeEnvelope(p); err != nil {
			b.Fatal(err)
		}
	}
}
